"""conv2d_backward_steps: its stages, and its gradients equal to the engine's backward and the literal one."""

import numpy as np
import pytest
from naive import loop_conv2d_grads

import tinygrad_conv as tc
from tinygrad_conv.conv import conv2d_backward_literal
from tinygrad_conv._checks import pair, resolve_padding

CASES = [
    # x shape, w shape, stride, padding, dilation
    ((8, 8), (3, 3), 2, 0, 1),  # the walkthrough figure: stride 2 leaves one trailing row and column unused
    ((7, 7), (3, 3), 2, 0, 1),  # stride divides: nothing unused
    ((9, 10), (2, 3), (3, 2), 1, 1),
    ((3, 9, 8), (2, 3, 3, 3), 2, (1, 0), (2, 1)),
    ((2, 2, 11, 9), (3, 2, 3, 2), (2, 3), 1, (1, 2)),
    ((2, 3, 6, 7), (2, 3, 3, 3), 1, "same", 2),
]


def _engine_grads(x, w, g, stride, padding, dilation):
    xt, wt = tc.Tensor(x, requires_grad=True), tc.Tensor(w, requires_grad=True)
    b = np.zeros(() if w.ndim == 2 else (w.shape[0],))
    bt = tc.Tensor(b, requires_grad=True)
    y = tc.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation)
    y.backward(g)
    return xt.grad, wt.grad, bt.grad, y.shape


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation", CASES)
def test_steps_equal_engine_and_literal(x_shape, w_shape, stride, padding, dilation):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    with tc.no_grad():
        out_shape = tc.conv2d(x, w, stride=stride, padding=padding, dilation=dilation).shape
    g = rng.standard_normal(out_shape)
    steps = tc.conv2d_backward_steps(x, w, g, stride=stride, padding=padding, dilation=dilation)
    dx, dw, db, _ = _engine_grads(x, w, g, stride, padding, dilation)
    np.testing.assert_allclose(steps["input_grad"], dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(steps["kernel_grad"], dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(steps["bias_grad"], db, rtol=1e-12, atol=1e-12)
    assert steps["input_grad"].shape == x.shape and steps["kernel_grad"].shape == w.shape

    s2, d2 = pair(stride, "stride", minimum=1), pair(dilation, "dilation", minimum=1)
    pads = resolve_padding(padding, w.shape[-2:], s2, d2)
    x4 = x.reshape((1,) * (4 - x.ndim) + x.shape)
    w4 = w.reshape((1, 1) + w.shape) if w.ndim == 2 else w
    lx, lw, _ = conv2d_backward_literal(x4, w4, g.reshape(x4.shape[0], w4.shape[0], *g.shape[-2:]), s2, pads, d2)
    np.testing.assert_allclose(steps["input_grad"], lx.reshape(x.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(steps["kernel_grad"], lw.reshape(w.shape), rtol=1e-12, atol=1e-12)


def test_steps_match_loop_reference_and_remainder_rows_are_zero():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((8, 8)), rng.standard_normal((3, 3))
    g = rng.standard_normal((3, 3))
    steps = tc.conv2d_backward_steps(x, w, g, stride=2)
    dx, dw = loop_conv2d_grads(x[None, None], w[None, None], g[None, None], stride=(2, 2))[:2]
    np.testing.assert_allclose(steps["input_grad"], dx[0, 0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(steps["kernel_grad"], dw[0, 0], rtol=1e-12, atol=1e-12)
    assert steps["unused_rows"] == 1 and steps["unused_cols"] == 1
    assert np.all(steps["input_grad"][-1, :] == 0) and np.all(steps["input_grad"][:, -1] == 0)


def test_stage_shapes_2d_stride2():
    x, w, g = np.ones((8, 8)), np.arange(9.0).reshape(3, 3), np.arange(1.0, 10.0).reshape(3, 3)
    s = tc.conv2d_backward_steps(x, w, g, stride=2)
    assert s["error"].shape == (3, 3)
    assert s["error_inserted"].shape == (5, 5)
    np.testing.assert_array_equal(s["error_inserted"][::2, ::2], g)
    assert s["error_inserted"][1::2].sum() == 0 and s["error_inserted"][:, 1::2].sum() == 0
    assert s["error_padded"].shape == (5 + 2 * 2 + 1, 5 + 2 * 2 + 1)
    np.testing.assert_array_equal(s["kernel_rotated"], w[::-1, ::-1])
    assert s["input_grad_padded"].shape == (8, 8) and s["bias_grad"].shape == ()
    assert s["bias_grad"] == g.sum()


def test_4d_rotated_kernel_swaps_channels():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    s = tc.conv2d_backward_steps(x, w, rng.standard_normal((1, 3, 3, 3)))
    assert s["kernel_rotated"].shape == (2, 3, 3, 3)
    np.testing.assert_array_equal(s["kernel_rotated"][1, 2], w[2, 1, ::-1, ::-1])
    assert s["bias_grad"].shape == (3,)


def test_bad_inputs_raise_clear_errors():
    x, w = np.zeros((8, 8)), np.zeros((3, 3))
    with pytest.raises(ValueError, match="grad"):
        tc.conv2d_backward_steps(x, w, np.zeros((4, 4)), stride=2)
    with pytest.raises(ValueError, match="weight"):
        tc.conv2d_backward_steps(np.zeros((2, 8, 8)), w, np.zeros((6, 6)))
    with pytest.raises(ValueError, match="stride"):
        tc.conv2d_backward_steps(x, w, np.zeros((6, 6)), stride=0)
    with pytest.raises(TypeError, match="x"):
        tc.conv2d_backward_steps(np.array([["a"]]), w, np.zeros((6, 6)))


def test_accepts_tensors_and_keeps_float32():
    x = tc.Tensor(np.ones((6, 6), dtype=np.float32))
    w = tc.Tensor(np.ones((3, 3), dtype=np.float32))
    s = tc.conv2d_backward_steps(x, w, np.ones((4, 4), dtype=np.float32))
    assert s["input_grad"].dtype == np.float32 and s["kernel_grad"].dtype == np.float32
