"""Tensor construction, attributes and the backward engine's rules."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_conv as tc


# --- construction -----------------------------------------------------------------
@pytest.mark.parametrize("data", [3, 2.5, True, [1, 2, 3], [[1.0, 2.0]], np.arange(4), np.array([True, False])])
def test_non_float_data_becomes_float64(data):
    assert tc.Tensor(data).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_floating_ndarray_keeps_its_dtype(dtype):
    assert tc.Tensor(np.zeros(3, dtype)).dtype == dtype


def test_dtype_argument_converts():
    assert tc.Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert tc.Tensor(np.zeros(2), dtype="float32").dtype == np.float32


@pytest.mark.parametrize("data", ["abc", np.array(["a"]), np.array([object()]), {"a": 1}, None, [[1, 2], [3]],
                                  np.array([1 + 2j])])
def test_non_numeric_data_is_rejected(data):
    with pytest.raises((TypeError, ValueError)):
        tc.Tensor(data)


@pytest.mark.parametrize("dtype", [np.int64, bool, "complex128", "not a dtype"])
def test_a_non_floating_dtype_is_rejected(dtype):
    with pytest.raises(TypeError, match="dtype"):
        tc.Tensor([1, 2], dtype=dtype)


def test_bad_requires_grad_and_name():
    with pytest.raises(TypeError, match="requires_grad"):
        tc.Tensor(1.0, requires_grad="yes")
    with pytest.raises(TypeError, match="name"):
        tc.Tensor(1.0, name=3)


def test_attributes_and_methods():
    data = np.arange(6.0).reshape(2, 3)
    t = tc.Tensor(data, requires_grad=True, name="t")
    assert t.shape == (2, 3) and t.ndim == 2 and t.dtype == np.float64 and t.is_leaf and t.grad is None
    assert isinstance(t.data, np.ndarray) and t.numpy() is t.data
    data[0, 0] = 100.0
    assert t.data[0, 0] == 0.0, "the constructor copies its data"
    assert tc.Tensor([[4.0]]).item() == 4.0
    with pytest.raises(ValueError, match="one element"):
        t.item()
    d = (t * 2).detach()
    assert d.is_leaf and not d.requires_grad and d.node is None
    assert "requires_grad=True" in repr(t) and "name='t'" in repr(t)
    assert len(t) == 2


def test_scalar_grad_is_0d_array():
    x = tc.Tensor(2.0, requires_grad=True)
    (x * x).backward()
    assert isinstance(x.grad, np.ndarray) and x.grad.shape == () and x.grad == 4.0


# --- recording --------------------------------------------------------------------
def test_every_op_records_one_node_with_op_inputs_and_saved():
    a = tc.Tensor([1.0, -2.0], requires_grad=True)
    b = tc.Tensor([3.0, 4.0])
    c = a * b
    assert c.node.op.name == "mul" and c.node.inputs[0] is a and c.node.inputs[1] is b
    assert c.node.needs_grad == (True, False)
    assert not c.is_leaf and c.requires_grad
    assert (b * b).node is None and not (b * b).requires_grad


def test_scalars_and_arrays_on_either_side():
    x = tc.Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    for y in (x + 1, 1 + x, x - 1, 1 - x, x * 2, 2 * x, -x, x + np.ones(2, np.float32), np.ones(2, np.float32) * x):
        assert isinstance(y, tc.Tensor) and y.dtype == np.float32
    y = (3 - x) * 2 + x * np.array([1.0, 5.0], np.float32)
    y.backward(np.ones(2, np.float32))
    np.testing.assert_allclose(x.grad, [-1.0, 3.0])


def test_bad_operand_types():
    with pytest.raises(TypeError, match="argument 'other'"):
        tc.Tensor(1.0) + "a"
    with pytest.raises(TypeError):
        tc.Tensor(1.0) * {"x": 1}


# --- backward -----------------------------------------------------------------------
def test_gradients_accumulate_across_backward_calls():
    x = tc.Tensor([1.0, 2.0], requires_grad=True)
    tc.sum_of_squares(x).backward()
    tc.sum_of_squares(x).backward()
    np.testing.assert_allclose(x.grad, 4 * x.data)


def test_input_used_twice_gets_both_paths():
    a = tc.Tensor([1.5, -2.0], requires_grad=True)
    (a + a).backward(np.ones(2))
    np.testing.assert_allclose(a.grad, [2.0, 2.0])
    b = tc.Tensor(3.0, requires_grad=True)
    c = b * b
    (c * b + c).backward()  # d/db (b^3 + b^2) = 3b^2 + 2b
    assert b.grad == pytest.approx(33.0)


def test_non_scalar_backward_needs_grad_of_the_right_shape():
    y = tc.Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(ValueError, match="needs gradient"):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\)"):
        y.backward(np.ones(3))
    y.backward(tc.Tensor([1.0, 1.0]))


def test_backward_without_grad_requirement_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tc.sum_of_squares(tc.Tensor([1.0])).backward()


def test_second_backward_needs_retain_graph():
    x = tc.Tensor([1.0, 2.0], requires_grad=True)
    loss = tc.sum_of_squares(x * 3)
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()
    np.testing.assert_allclose(x.grad, 18 * x.data)


def test_retain_graph_allows_accumulating_again():
    x = tc.Tensor([1.0, 2.0], requires_grad=True)
    loss = tc.sum_of_squares(x * 3)
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad, 36 * x.data)
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_saved_buffers_are_released_after_backward():
    x = tc.Tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    loss = tc.sum_of_squares(y)
    loss.backward()
    assert y.node.saved is None and y.node.released and loss.node.saved is None


def test_no_grad_records_nothing_and_restores_the_mode():
    x = tc.Tensor([1.0], requires_grad=True)
    with tc.no_grad():
        assert not tc.is_grad_enabled()
        y = x * 2
    assert tc.is_grad_enabled() and y.node is None and not y.requires_grad
    with pytest.raises(ZeroDivisionError), tc.no_grad():
        raise ZeroDivisionError
    assert tc.is_grad_enabled()
    with tc.no_grad():
        with tc.no_grad():
            pass
        assert not tc.is_grad_enabled()
    assert tc.is_grad_enabled()

    @tc.no_grad()
    def f(t):
        return t * 2

    assert f(x).node is None and tc.is_grad_enabled()


def test_retain_grad_keeps_intermediate_grads():
    x = tc.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    z = y * 1
    tc.sum_of_squares(y).backward()
    np.testing.assert_allclose(y.grad, 2 * y.data)
    assert z.grad is None


def test_a_100k_op_chain_builds_and_backpropagates_without_recursion():
    x = tc.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0
    del y  # tearing down the chain must not overflow the C stack either


def test_the_graph_is_freed_once_the_loss_is_dropped():
    x = tc.Tensor(np.ones(3), requires_grad=True)
    h = x * 2
    ref = weakref.ref(h)
    loss = tc.sum_of_squares(h)
    del h
    assert ref() is not None, "the loss keeps its graph alive"
    loss.backward()
    del loss
    gc.collect()
    assert ref() is None, "no global tape keeps the graph alive"


# --- in-place safety -------------------------------------------------------------------
def test_in_place_edit_of_an_input_after_forward_gives_the_forward_gradient():
    a = tc.Tensor([1.0, 2.0], requires_grad=True)
    b = tc.Tensor([3.0, 4.0], requires_grad=True)
    loss = tc.sum_of_squares(a * b)
    a.data[:] = 100.0
    b.data *= 10
    loss.backward()
    np.testing.assert_allclose(a.grad, 2 * np.array([3.0, 8.0]) * [3.0, 4.0])
    np.testing.assert_allclose(b.grad, 2 * np.array([3.0, 8.0]) * [1.0, 2.0])


def test_in_place_edit_of_an_output_after_forward_gives_the_forward_gradient():
    x = tc.Tensor([0.0, 1.0], requires_grad=True)
    s = tc.sigmoid(x)
    expected = s.data * (1 - s.data)
    s.data[:] = 0.5
    s.backward(np.ones(2))
    np.testing.assert_allclose(x.grad, expected)


def test_in_place_edit_of_conv_weight_after_forward_gives_the_forward_gradient(rng):
    x = tc.Tensor(rng.standard_normal((6, 6)), requires_grad=True)
    w = tc.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    y = tc.conv2d(x, w)
    g = rng.standard_normal(y.shape)
    x_ref, w_ref = tc.Tensor(x.data, requires_grad=True), tc.Tensor(w.data, requires_grad=True)
    tc.conv2d(x_ref, w_ref).backward(g)
    w.data += 5.0
    x.data *= -1
    y.backward(g)
    np.testing.assert_allclose(x.grad, x_ref.grad)
    np.testing.assert_allclose(w.grad, w_ref.grad)


def test_replacing_data_with_another_shape_after_forward_is_an_error():
    x = tc.Tensor(np.ones((3, 1)), requires_grad=True)
    y = x * np.ones((3, 4))
    x.data = np.ones((1, 1))
    with pytest.raises(RuntimeError, match=r"had shape \(3, 1\) in the forward.*replaced with shape \(1, 1\)"):
        y.backward(np.ones((3, 4)))


def test_accumulating_into_a_grad_of_another_shape_is_an_error():
    x = tc.Tensor(np.ones(3), requires_grad=True)
    x.grad = np.ones(2)
    with pytest.raises(RuntimeError, match="existing .grad of shape"):
        tc.sum_of_squares(x).backward()


def test_one_no_grad_object_can_be_nested():
    guard = tc.no_grad()
    with guard:
        with guard:
            assert not tc.is_grad_enabled()
        assert not tc.is_grad_enabled()
    assert tc.is_grad_enabled()


def test_numpy_functions_on_tensors_raise_instead_of_making_object_arrays():
    with pytest.raises(TypeError):
        np.exp(tc.Tensor([1.0]))
    assert isinstance(np.ones(2) + tc.Tensor([1.0, 2.0]), tc.Tensor)
