"""Elementwise ops against closed forms and broadcasting (relu, sigmoid: tests/test_activations.py)."""

import numpy as np
import pytest

import tinygrad_conv as tc


def grads_of(fn, *arrays, grad=None):
    tensors = [tc.Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(np.ones(out.shape) if grad is None else grad)
    return out.data, [t.grad for t in tensors]


def test_sum_of_squares_closed_form(rng):
    x = rng.standard_normal((3, 4))
    out, (dx,) = grads_of(tc.sum_of_squares, x)
    assert out.shape == () and out == pytest.approx(np.sum(x**2))
    np.testing.assert_allclose(dx, 2 * x)
    assert tc.sum_of_squares(tc.Tensor(3.0)).item() == 9.0


@pytest.mark.parametrize(
    "shape_a, shape_b", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 1)), ((), (2, 2)), ((5, 1), (1, 6))]
)
def test_binary_ops_reduce_broadcast_gradients_to_each_input(rng, shape_a, shape_b):
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    g = rng.standard_normal(np.broadcast_shapes(shape_a, shape_b))

    def reduce(x, shape):
        while x.ndim > len(shape):
            x = x.sum(axis=0)
        return x.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True).reshape(shape)

    for fn, da, db in [
        (tc.add, g, g),
        (tc.sub, g, -g),
        (tc.mul, g * b, g * a),
    ]:
        _, (ga, gb) = grads_of(fn, a, b, grad=g)
        assert ga.shape == shape_a and gb.shape == shape_b
        np.testing.assert_allclose(ga, reduce(da, shape_a))
        np.testing.assert_allclose(gb, reduce(np.broadcast_to(db, g.shape), shape_b))


@pytest.mark.parametrize("fn", [tc.add, tc.sub, tc.mul])
def test_shapes_that_do_not_broadcast_raise_a_clear_value_error(fn):
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\) do not broadcast"):
        fn(tc.Tensor(np.ones((2, 3))), tc.Tensor(np.ones(4)))


def test_methods_match_functions(rng):
    x, y = tc.Tensor(rng.standard_normal(3)), tc.Tensor(rng.standard_normal(3))
    np.testing.assert_array_equal(x.add(y).data, tc.add(x, y).data)
    np.testing.assert_array_equal(x.relu().data, tc.relu(x).data)
    np.testing.assert_array_equal(x.sigmoid().data, tc.sigmoid(x).data)
    assert x.sum_of_squares().item() == tc.sum_of_squares(x).item()
    np.testing.assert_array_equal((-x).data, -x.data)
    np.testing.assert_array_equal(x.mul(y).data, x.data * y.data)
    np.testing.assert_array_equal(x.sub(y).data, x.data - y.data)


def test_against_torch(rng):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ((torch.sigmoid(ta * tb - tb) + torch.relu(ta + 1)) ** 2).sum().backward()
    A, B = tc.Tensor(a, requires_grad=True), tc.Tensor(b, requires_grad=True)
    tc.sum_of_squares(tc.sigmoid(A * B - B) + tc.relu(A + 1)).backward()
    np.testing.assert_allclose(A.grad, ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(B.grad, tb.grad.numpy(), rtol=1e-12)
