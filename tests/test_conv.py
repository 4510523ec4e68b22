"""conv2d against a direct loop, the seed's literal algorithm, finite differences and PyTorch."""

import warnings

import numpy as np
import pytest
from naive import loop_conv2d, loop_conv2d_grads

import tinygrad_conv as tc
from tinygrad_conv._checks import pair, resolve_padding
from tinygrad_conv.conv import conv2d_backward_literal

# (x shape, weight shape, stride, padding, dilation); several strides do not divide.
CASES = [
    ((6, 6), (3, 3), 1, 0, 1),
    ((20, 20), (3, 3), 1, 0, 1),
    ((18, 18), (4, 4), 2, 0, 1),
    ((7, 8), (3, 2), 2, 0, 1),
    ((9, 9), (3, 3), 3, 1, 1),
    ((3, 7, 6), (2, 3, 3, 3), (2, 1), (1, 0), 1),
    ((2, 2, 8, 9), (3, 2, 3, 3), 2, 1, 2),
    ((2, 3, 7, 7), (4, 3, 2, 2), 1, "same", 1),
    ((1, 2, 9, 8), (2, 2, 3, 4), 1, "same", (2, 1)),
    ((2, 1, 5, 5), (1, 1, 5, 5), 1, "valid", 1),
    ((1, 2, 10, 11), (3, 2, 3, 3), (3, 2), (2, 1), (1, 2)),
]


def as4d(x, w):
    x4 = x.reshape((1,) * (4 - x.ndim) + x.shape)
    w4 = w.reshape((1, 1) + w.shape) if w.ndim == 2 else w
    return x4, w4


def run(x, w, b, stride, padding, dilation, g=None):
    X, W = tc.Tensor(x, requires_grad=True), tc.Tensor(w, requires_grad=True)
    B = None if b is None else tc.Tensor(b, requires_grad=True)
    y = tc.conv2d(X, W, B, stride=stride, padding=padding, dilation=dilation)
    if g is not None:
        y.backward(g)
    return y, X, W, B


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation", CASES)
def test_forward_and_gradients_match_the_direct_loop(rng, x_shape, w_shape, stride, padding, dilation):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(() if w.ndim == 2 else (w_shape[0],))
    s, d = pair(stride, "stride", minimum=1), pair(dilation, "dilation", minimum=1)
    pads = resolve_padding(padding, w_shape[-2:], s, d)
    x4, w4 = as4d(x, w)
    expected = loop_conv2d(x4, w4, b.reshape(-1), s, pads, d)
    y, X, W, B = run(x, w, b, stride, padding, dilation)
    assert y.shape == expected.shape[4 - x.ndim:]
    np.testing.assert_allclose(y.data.reshape(expected.shape), expected, rtol=1e-12, atol=1e-12)

    g = rng.standard_normal(y.shape)
    y.backward(g)
    dx, dw, db = loop_conv2d_grads(x4, w4, g.reshape(expected.shape), s, pads, d)
    np.testing.assert_allclose(X.grad, dx.reshape(x.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(W.grad, dw.reshape(w.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(B.grad, db.reshape(b.shape), rtol=1e-12, atol=1e-12)
    assert B.grad.shape == b.shape

    literal = conv2d_backward_literal(x4, w4, g.reshape(expected.shape), s, pads, d)
    for got, want in zip(literal, (dx, dw, db)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation", CASES[:4] + CASES[5:8])
def test_gradcheck(rng, x_shape, w_shape, stride, padding, dilation):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(() if w.ndim == 2 else (w_shape[0],))
    inputs = [tc.Tensor(a, requires_grad=True) for a in (x, w, b)]
    assert tc.gradcheck(lambda *t: tc.conv2d(*t, stride=stride, padding=padding, dilation=dilation), inputs)


def test_output_size_formula_and_unused_trailing_rows_get_zero_gradient(rng):
    # H' = floor((9 - 3) / 4) + 1 = 2: rows 7 and 8 (and columns 7, 8) are never read.
    x = tc.Tensor(rng.standard_normal((9, 9)), requires_grad=True)
    y = tc.conv2d(x, tc.Tensor(rng.standard_normal((3, 3))), stride=4)
    assert y.shape == (2, 2)
    y.backward(np.ones((2, 2)))
    assert x.grad.shape == (9, 9)
    assert np.all(x.grad[7:, :] == 0) and np.all(x.grad[:, 7:] == 0)
    assert np.all(x.grad[:3, :3] != 0)


def test_same_padding_puts_the_extra_row_bottom_right():
    assert resolve_padding("same", (4, 4), (1, 1), (1, 1)) == (1, 2, 1, 2)
    assert resolve_padding("same", (3, 2), (1, 1), (2, 1)) == (2, 2, 0, 1)
    y = tc.conv2d(tc.Tensor(np.ones((1, 5, 6))), tc.Tensor(np.ones((1, 1, 4, 2))), padding="same")
    assert y.shape == (1, 5, 6)


def test_bias_forms_for_2d_input(rng):
    x, w = rng.standard_normal((5, 5)), rng.standard_normal((2, 2))
    for bias in (tc.Tensor(0.5, requires_grad=True), tc.Tensor([0.5], requires_grad=True), 0.5):
        y = tc.conv2d(x, w, bias)
        np.testing.assert_allclose(y.data, tc.conv2d(x, w).data + 0.5)
        if isinstance(bias, tc.Tensor):
            y.backward(np.ones(y.shape))
            assert bias.grad.shape == bias.shape and bias.grad.sum() == pytest.approx(16.0)


def test_method_form(rng):
    x, w = tc.Tensor(rng.standard_normal((6, 6))), tc.Tensor(rng.standard_normal((3, 3)))
    np.testing.assert_array_equal(x.conv2d(w, stride=2).data, tc.conv2d(x, w, stride=2).data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(rng, dtype):
    x = tc.Tensor(rng.standard_normal((2, 3, 6, 6)).astype(dtype), requires_grad=True)
    w = tc.Tensor(rng.standard_normal((4, 3, 3, 3)).astype(dtype), requires_grad=True)
    y = tc.conv2d(x, w, tc.Tensor(np.zeros(4, dtype), requires_grad=True), stride=2, padding=1)
    assert y.dtype == dtype
    y.backward(np.ones(y.shape, dtype))
    assert x.grad.dtype == dtype and w.grad.dtype == dtype


def test_only_needed_gradients_are_filled(rng):
    x = tc.Tensor(rng.standard_normal((1, 2, 5, 5)))
    w = tc.Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    tc.conv2d(x, w).sum_of_squares().backward()
    assert x.grad is None and w.grad.shape == (3, 2, 3, 3)


BAD = [
    ("channel mismatch", ((1, 3, 5, 5), (2, 4, 3, 3), None, {}), ValueError, r"channel mismatch.*\(1, 3, 5, 5\)"),
    ("kernel too large", ((4, 4), (5, 5), None, {}), ValueError, r"larger than the padded input"),
    ("dilated kernel too large", ((6, 6), (3, 3), None, {"dilation": 3}), ValueError, r"larger than"),
    ("stride 0", ((6, 6), (3, 3), None, {"stride": 0}), ValueError, r"stride must be >= 1"),
    ("negative padding", ((6, 6), (3, 3), None, {"padding": -1}), ValueError, r"padding must be >= 0"),
    ("dilation 0", ((6, 6), (3, 3), None, {"dilation": (1, 0)}), ValueError, r"dilation must be >= 1"),
    ("same with stride", ((6, 6), (3, 3), None, {"padding": "same", "stride": 2}), ValueError, r"same.*stride"),
    ("unknown padding", ((6, 6), (3, 3), None, {"padding": "full"}), ValueError, r"padding must be"),
    ("float stride", ((6, 6), (3, 3), None, {"stride": 1.5}), TypeError, r"stride must be an int"),
    ("triple stride", ((6, 6), (3, 3), None, {"stride": (1, 1, 1)}), TypeError, r"stride must be"),
    ("bool stride", ((6, 6), (3, 3), None, {"stride": True}), TypeError, r"stride"),
    ("2d x 4d w", ((6, 6), (1, 1, 3, 3), None, {}), ValueError, r"2-D weight"),
    ("3d x 2d w", ((1, 6, 6), (3, 3), None, {}), ValueError, r"4-D weight"),
    ("5d x", ((1, 1, 1, 6, 6), (1, 1, 3, 3), None, {}), ValueError, r"x must be 2-D"),
    ("1d x", ((6,), (3,), None, {}), ValueError, r"x must be 2-D"),
    ("bias 2d vector", ((6, 6), (3, 3), (2,), {}), ValueError, r"bias.*\(2,\)"),
    ("bias wrong O", ((1, 2, 6, 6), (3, 2, 3, 3), (2,), {}), ValueError, r"bias must have shape \(3,\)"),
    ("bias 2-d", ((1, 2, 6, 6), (3, 2, 3, 3), (3, 1), {}), ValueError, r"bias"),
    ("empty kernel", ((5, 5), (3, 0), None, {}), ValueError, r"weight has an empty dimension"),
    ("no output channels", ((1, 2, 6, 6), (0, 2, 3, 3), None, {}), ValueError, r"weight has an empty"),
    ("empty batch", ((0, 2, 6, 6), (1, 2, 3, 3), None, {}), ValueError, r"x has an empty dimension"),
]


@pytest.mark.parametrize("label, args, error, message", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_raise_clear_errors(label, args, error, message):
    x_shape, w_shape, b_shape, kwargs = args
    b = None if b_shape is None else tc.Tensor(np.ones(b_shape))
    with pytest.raises(error, match=message):
        tc.conv2d(tc.Tensor(np.ones(x_shape)), tc.Tensor(np.ones(w_shape)), b, **kwargs)


def test_non_tensor_arguments():
    with pytest.raises(TypeError, match="weight"):
        tc.conv2d(tc.Tensor(np.ones((4, 4))), "kernel")
    y = tc.conv2d(np.ones((4, 4)), [[1.0, 1.0], [1.0, 1.0]])  # array-likes become constants
    np.testing.assert_array_equal(y.data, np.full((3, 3), 4.0))


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, dilation", [c for c in CASES if len(c[0]) > 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_against_torch(rng, x_shape, w_shape, stride, padding, dilation, dtype):
    torch = pytest.importorskip("torch")
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    y, X, W, B = run(x, w, b, stride, padding, dilation)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's note on even kernels with "same"
        ty = torch.nn.functional.conv2d(tx, tw, tb, stride, padding, dilation)
    ty.backward(torch.tensor(g))
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-10}
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **tol)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(W.grad, tw.grad.numpy(), **tol)
    np.testing.assert_allclose(B.grad, tb.grad.numpy(), **tol)
