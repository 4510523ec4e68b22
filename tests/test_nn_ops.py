"""The model ops of issue 5: gradcheck, a closed-form or loop oracle, PyTorch (optional), bad inputs."""

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv.gradcheck import gradcheck_op

NEW_OPS = ["matmul", "div", "pow", "exp", "log", "tanh", "sum", "mean", "amax", "reshape", "permute", "getitem",
           "log_softmax", "cross_entropy", "mse_loss"]


def T(a):
    return tc.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def grads(fn, *arrays, seed=0):
    """Output data and the input grads of sum(fn(*tensors) * r) for a fixed random r."""
    tensors = [T(a) for a in arrays]
    out = fn(*tensors)
    r = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(r)
    return out.data, [t.grad for t in tensors], r


@pytest.mark.parametrize("name", NEW_OPS)
def test_registered_with_samples_and_gradchecked(name):
    assert name in tc.OPS and tc.OPS[name].samples is not None
    assert gradcheck_op(name) >= 1


def test_non_default_attrs_handles_array_attrs():
    op = tc.OPS["cross_entropy"]
    assert set(op.non_default_attrs({"target": np.array([0, 1]), "reduction": "mean"})) == {"target"}


# --- arithmetic ----------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)),
                                   ((2, 1, 3, 4), (5, 4, 2)), ((3,), (2, 3, 2))])
def test_matmul_closed_form(sa, sb):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    out, (ga, gb), r = grads(lambda x, y: x @ y, a, b)
    np.testing.assert_allclose(out, a @ b)
    # Oracle: lift vectors to matrices, broadcast the batch dims, then sum them away by hand.
    a2 = a[None] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    r2 = np.reshape(r, batch + (a2.shape[-2], b2.shape[-1]))
    ga_full = np.einsum("...ij,...kj->...ik", r2, np.broadcast_to(b2, batch + b2.shape[-2:]))
    gb_full = np.einsum("...ki,...kj->...ij", np.broadcast_to(a2, batch + a2.shape[-2:]), r2)
    np.testing.assert_allclose(ga, sum_to(ga_full, a2.shape).reshape(a.shape))
    np.testing.assert_allclose(gb, sum_to(gb_full, b2.shape).reshape(b.shape))


def sum_to(g, shape):
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


def test_arithmetic_closed_forms():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (3, 4))
    out, (ga, gb), r = grads(lambda x, y: x / y, a, b)
    np.testing.assert_allclose(out, a / b)
    np.testing.assert_allclose(ga, r / b)
    np.testing.assert_allclose(gb, -r * a / b**2)
    for fn, f, df in [(tc.exp, np.exp, np.exp), (tc.log, np.log, lambda v: 1 / v),
                      (tc.tanh, np.tanh, lambda v: 1 - np.tanh(v) ** 2), (lambda t: t**3, lambda v: v**3, lambda v: 3 * v**2),
                      (lambda t: t**0.5, np.sqrt, lambda v: 0.5 / np.sqrt(v))]:
        out, (g,), r = grads(fn, b)
        np.testing.assert_allclose(out, f(b))
        np.testing.assert_allclose(g, r * df(b))


def test_reflected_operators_and_scalars():
    x = T([1.0, 2.0, 4.0])
    np.testing.assert_allclose((2 / x).data, [2, 1, 0.5])
    np.testing.assert_allclose((x / 2).data, [0.5, 1, 2])
    np.testing.assert_allclose((2**x).data, [2, 4, 16])
    np.testing.assert_allclose((np.ones((2, 3)) @ x).data, [7, 7])
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, 0)
    f32 = tc.Tensor(np.ones(3, np.float32), requires_grad=True)
    assert (f32 / 2).dtype == np.float32 and (f32**2).dtype == np.float32 and tc.exp(f32).dtype == np.float32


def test_arithmetic_bad_inputs():
    with pytest.raises(ValueError, match=r"matmul.*\(3, 4\).*\(3, 2\)"):
        T(np.ones((3, 4))) @ T(np.ones((3, 2)))
    with pytest.raises(ValueError, match="at least 1-D"):
        tc.matmul(T(2.0), T(np.ones(2)))
    with pytest.raises(ValueError, match="batch dimensions"):
        T(np.ones((2, 3, 4))) @ T(np.ones((3, 4, 2)))
    with pytest.raises(ValueError, match=r"div.*\(3,\).*\(4,\)"):
        T(np.ones(3)) / T(np.ones(4))
    with pytest.raises(TypeError, match="exponent"):
        tc.pow(T(np.ones(3)), "2")
    with pytest.raises(ValueError, match=r"pow.*\(3,\).*\(2,\)"):
        T(np.ones(3)) ** T(np.ones(2))


# --- reductions --------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), (2, 0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_mean_closed_form(axis, keepdims):
    x = np.random.default_rng(3).standard_normal((2, 3, 4))
    for fn, ref in ((tc.sum, np.sum), (tc.mean, np.mean)):
        out, (g,), r = grads(lambda t, fn=fn: fn(t, axis=axis, keepdims=keepdims), x)
        np.testing.assert_allclose(out, ref(x, axis=axis, keepdims=keepdims))
        count = x.size // np.size(out)
        expected = np.broadcast_to(np.reshape(r, ref(x, axis=axis, keepdims=True).shape), x.shape)
        np.testing.assert_allclose(g, expected / (count if fn is tc.mean else 1))


def test_max_grad_goes_to_one_element_per_slice():
    x = np.array([[1.0, 5.0, 5.0], [7.0, 7.0, 7.0], [0.0, -1.0, 2.0]])
    t = T(x)
    values, indices = t.max(axis=1)
    values.sum().backward()
    np.testing.assert_array_equal(t.grad, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(indices, [1, 0, 2])
    t = T(x)
    t.max().backward()  # over everything, tied maxima share the gradient (as torch.max and amax)
    np.testing.assert_allclose(t.grad, [[0, 0, 0], [1 / 3, 1 / 3, 1 / 3], [0, 0, 0]])
    t = T(x)
    out = tc.amax(t, axis=0, keepdims=True)
    assert out.shape == (1, 3)
    out.backward(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(t.grad, [[0, 0, 0], [1, 2, 3], [0, 0, 0]])


def test_max_loop_oracle_over_tuple_axes():
    x = np.random.default_rng(4).standard_normal((3, 2, 4))
    out, (g,), r = grads(lambda t: tc.amax(t, dim=(0, 2)), x)
    expected = np.zeros_like(x)
    for j in range(2):
        i, k = np.unravel_index(np.argmax(x[:, j, :]), (3, 4))
        expected[i, j, k] = r[j]
        assert out[j] == x[i, j, k]
    np.testing.assert_array_equal(g, expected)


def test_reduction_bad_inputs():
    x = T(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dim 2 is out of range.*\(2, 3\)"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match="repeats"):
        x.mean(axis=(0, -2))
    with pytest.raises(TypeError, match="dim"):
        x.max(axis=1.0)
    with pytest.raises(TypeError, match="keepdim"):
        x.sum(keepdims="yes")
    with pytest.raises(ValueError, match="empty"):
        tc.max(T(np.ones((0, 3))), axis=0)


# --- shape ---------------------------------------------------------------------------------
def test_reshape_flatten_permute_transpose():
    x = np.arange(24.0).reshape(2, 3, 4)
    out, (g,), r = grads(lambda t: t.reshape(4, -1), x)
    np.testing.assert_array_equal(out, x.reshape(4, 6))
    np.testing.assert_array_equal(g, r.reshape(x.shape))
    assert tc.flatten(T(x)).shape == (24,) and tc.flatten(T(x), 1).shape == (2, 12)  # torch.flatten's start_dim=0
    assert T(x).flatten(0, 1).shape == (6, 4)
    out, (g,), r = grads(lambda t: t.permute(2, 0, 1), x)
    np.testing.assert_array_equal(out, x.transpose(2, 0, 1))
    np.testing.assert_array_equal(g, r.transpose(1, 2, 0))
    out, (g,), r = grads(lambda t: t.transpose(0, -1), x)
    np.testing.assert_array_equal(out, np.swapaxes(x, 0, 2))
    np.testing.assert_array_equal(g, np.swapaxes(r, 0, 2))


def test_shape_bad_inputs():
    x = T(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(TypeError, match="shape"):
        x.reshape(2.0, 3)
    with pytest.raises(ValueError, match="permutation"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match="dim1"):
        x.transpose(0, 2)
    with pytest.raises(ValueError, match="start_dim"):
        tc.flatten(x, 1, 0)


def test_getitem_scatter_add_loop_oracle():
    x = np.random.default_rng(5).standard_normal((4, 3))
    index = np.array([0, 2, 2, 3, 2])
    out, (g,), r = grads(lambda t: t[index], x)
    np.testing.assert_array_equal(out, x[index])
    expected = np.zeros_like(x)
    for k, row in enumerate(index):
        expected[row] += r[k]
    np.testing.assert_allclose(g, expected)
    out, (g,), r = grads(lambda t: t[1:, [0, 0]], x)
    expected = np.zeros_like(x)
    expected[1:, 0] = r.sum(axis=1)
    np.testing.assert_allclose(g, expected)
    out, (g,), r = grads(lambda t: t[-1, 1], x)
    assert out.shape == () and g[-1, 1] == r and np.count_nonzero(g) == 1


def test_getitem_bad_inputs_and_iteration():
    x = T(np.arange(6.0).reshape(3, 2))
    with pytest.raises(ValueError, match=r"\(3, 2\)") as info:
        x[3]
    assert isinstance(info.value, IndexError)  # so that Python's iteration protocol stops cleanly
    with pytest.raises(TypeError, match="integer or bool"):
        x[np.array([0.0, 1.0])]
    with pytest.raises(TypeError, match="Tensor"):
        x[tc.Tensor([0])]
    with pytest.raises(TypeError, match="index"):
        x["a"]
    assert [row.data.tolist() for row in x] == [[0, 1], [2, 3], [4, 5]]


def test_log_softmax_stable_and_closed_form():
    x = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    out, (g,), r = grads(lambda t: tc.log_softmax(t, axis=1), x)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[1], np.log(np.exp(x[1]) / np.exp(x[1]).sum()))
    softmax = np.exp(out)
    np.testing.assert_allclose(g, r - softmax * r.sum(axis=1, keepdims=True))


def test_reductions_accept_pytorch_dim_and_keepdim():
    x = np.arange(24.0).reshape(2, 3, 4)
    for fn, ref in ((tc.sum, np.sum), (tc.mean, np.mean), (tc.amax, np.max)):
        np.testing.assert_array_equal(fn(x, dim=1, keepdim=True).data, ref(x, axis=1, keepdims=True))
        np.testing.assert_array_equal(fn(x, dim=(0, 2)).data, ref(x, axis=(0, 2)))
        np.testing.assert_array_equal(fn(x, axis=1, keepdims=True).data, ref(x, axis=1, keepdims=True))
    np.testing.assert_array_equal(tc.max(x, dim=1, keepdim=True).values.data, x.max(axis=1, keepdims=True))
    assert T(x).sum(dim=-1).shape == (2, 3)
    with pytest.raises(TypeError, match="both dim.*alias axis"):
        tc.sum(x, axis=0, dim=1)
    with pytest.raises(TypeError, match="both keepdim.*alias keepdims"):
        T(x).mean(keepdims=True, keepdim=True)




def test_shape_ops_refuse_ragged_inputs():
    ragged = [[1.0, 2.0], [3.0]]
    for call, name in ((lambda: tc.flatten(ragged), "flatten"), (lambda: tc.transpose(ragged, 0, 1), "transpose"),
                       (lambda: tc.permute(ragged, 1, 0), "permute")):
        with pytest.raises(ValueError, match=f"{name}: input is a ragged sequence"):
            call()
