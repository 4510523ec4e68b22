"""Pooling (issues 12 and 13): loop references, PyTorch over a grid of options, edge cases, errors, layers."""

import itertools
import math

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv import nn
from tinygrad_conv.gradcheck import gradcheck_op

POOL_OPS = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]


def T(a, dtype=np.float64):
    return tc.Tensor(np.asarray(a, dtype=dtype), requires_grad=True)


def grads(fn, *arrays, seed=0, dtype=np.float64):
    """Output data and the input grads of sum(fn(*tensors) * r) for a fixed random r."""
    tensors = [T(a, dtype) for a in arrays]
    out = fn(*tensors)
    r = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    out.backward(r)
    return out.data, [t.grad for t in tensors], r


def pairs(*values):
    return [v if isinstance(v, tuple) else (v, v) for v in values]


def out_size(n, k, s, p, d, ceil):
    """torch's pooling_output_shape."""
    o = math.floor((n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) / s) + 1
    return o - 1 if ceil and (o - 1) * s >= n + p else o


# --- direct-loop references, written as PyTorch's CPU kernels -----------------------------------
def loop_max_pool(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, grad=None):
    """Values, flat indices and (with grad) the input gradient of max pooling on (N, C, H, W)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = pairs(kernel, kernel if stride is None else stride, padding, dilation)
    n, c, h, w = x.shape
    ho, wo = out_size(h, kh, sh, ph, dh, ceil_mode), out_size(w, kw, sw, pw, dw, ceil_mode)
    out, index = np.zeros((n, c, ho, wo)), np.zeros((n, c, ho, wo), np.int64)
    for a, b, u, v in np.ndindex(n, c, ho, wo):
        best, best_at = -np.inf, None
        for i, j in np.ndindex(kh, kw):
            r, q = u * sh - ph + i * dh, v * sw - pw + j * dw
            if 0 <= r < h and 0 <= q < w:
                best_at = r * w + q if best_at is None else best_at  # the first input element, as torch
                if x[a, b, r, q] > best or np.isnan(x[a, b, r, q]):
                    best, best_at = x[a, b, r, q], r * w + q
        out[a, b, u, v], index[a, b, u, v] = best, best_at
    if grad is None:
        return out, index
    dx = np.zeros((n, c, h * w))
    for a, b, u, v in np.ndindex(n, c, ho, wo):
        dx[a, b, index[a, b, u, v]] += grad[a, b, u, v]
    return out, index, dx.reshape(x.shape)


def loop_avg_pool(x, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None,
                  grad=None):
    (kh, kw), (sh, sw), (ph, pw) = pairs(kernel, kernel if stride is None else stride, padding)
    n, c, h, w = x.shape
    ho, wo = out_size(h, kh, sh, ph, 1, ceil_mode), out_size(w, kw, sw, pw, 1, ceil_mode)
    out, dx = np.zeros((n, c, ho, wo)), np.zeros(x.shape)
    for a, b, u, v in np.ndindex(n, c, ho, wo):
        h0, w0 = u * sh - ph, v * sw - pw
        h1, w1 = min(h0 + kh, h + ph), min(w0 + kw, w + pw)
        size = (h1 - h0) * (w1 - w0)
        h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
        divisor = divisor_override or (size if count_include_pad else (h1 - h0) * (w1 - w0))
        out[a, b, u, v] = x[a, b, h0:h1, w0:w1].sum() / divisor
        if grad is not None:
            dx[a, b, h0:h1, w0:w1] += grad[a, b, u, v] / divisor
    return (out, dx) if grad is not None else out


def loop_adaptive(x, size, kind, grad):
    n, c, h, w = x.shape
    ho, wo = (h if size[0] is None else size[0]), (w if size[1] is None else size[1])
    out, dx = np.zeros((n, c, ho, wo)), np.zeros(x.shape)
    for a, b, u, v in np.ndindex(n, c, ho, wo):
        h0, h1 = u * h // ho, math.ceil((u + 1) * h / ho)
        w0, w1 = v * w // wo, math.ceil((v + 1) * w / wo)
        win = x[a, b, h0:h1, w0:w1]
        if kind == "avg":
            out[a, b, u, v] = win.mean()
            dx[a, b, h0:h1, w0:w1] += grad[a, b, u, v] / win.size
        else:
            i, j = np.unravel_index(np.argmax(win), win.shape)
            out[a, b, u, v] = win[i, j]
            dx[a, b, h0 + i, w0 + j] += grad[a, b, u, v]
    return out, dx


# --- gradcheck --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", POOL_OPS)
def test_registered_with_samples_and_gradchecked(name):
    assert name in tc.OPS and tc.OPS[name].samples is not None
    assert gradcheck_op(name) >= 4


def test_samples_cover_the_options():
    seen = set()
    for name in ("max_pool2d", "avg_pool2d"):
        op = tc.OPS[name]
        for sample in op.samples(np.random.default_rng(0)):
            seen |= {key for key, value in sample.attrs.items() if value != op.defaults[key]}
            seen |= {f"ndim{sample.inputs[0].ndim}"}
    assert {"ceil_mode", "dilation", "count_include_pad", "divisor_override", "padding", "stride",
            "ndim2", "ndim3", "ndim4"} <= seen


def test_the_public_functions_gradcheck_with_every_option():
    rng = np.random.default_rng(3)
    calls = [
        lambda t: tc.max_pool2d(t, 3, 2, 1, dilation=1, ceil_mode=True, return_indices=True)[0],
        lambda t: tc.adaptive_max_pool2d(t, (2, 3), return_indices=True)[0],
        lambda t: tc.max_pool1d(t.reshape(2, 3, 8), 3, 2, 1, dilation=2, ceil_mode=True),
        lambda t: tc.avg_pool1d(t.reshape(6, 8), 3, 2, 1, ceil_mode=True, count_include_pad=False),
        lambda t: nn.AdaptiveAvgPool2d((None, 3))(t),
    ]
    for call in calls:
        assert tc.gradcheck(call, [T(rng.standard_normal((2, 3, 2, 4)).reshape(2, 3, 2, 4))])


# --- loop references --------------------------------------------------------------------------
@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", [
    (2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 1, 0, 1, False), (2, 3, 1, 1, False), (3, 2, 1, 1, True),
    ((2, 3), (1, 2), (1, 0), (2, 1), True), (2, 2, 1, 3, False), (1, 1, 0, 1, False), (3, 3, 1, 2, True),
    (7, 1, 3, 1, False), ((7, 8), 8, (3, 4), 1, True),
])
def test_max_pool_loop_reference(kernel, stride, padding, dilation, ceil_mode):
    x = np.random.default_rng(6).standard_normal((2, 3, 7, 8))
    out, (g,), r = grads(lambda t: tc.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode), x)
    ref, ref_index, ref_dx = loop_max_pool(x, kernel, stride, padding, dilation, ceil_mode, grad=r)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_allclose(g, ref_dx, rtol=1e-12)
    values, index = tc.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(values.data, ref)
    assert index.dtype == np.int64
    np.testing.assert_array_equal(index, ref_index)
    np.testing.assert_array_equal(tc.max_pool2d(x[0], kernel, stride, padding, dilation, ceil_mode).data, ref[0])


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad,divisor_override", [
    (2, None, 0, False, True, None), (3, 2, 1, False, True, None), (3, 2, 1, False, False, None),
    (3, 2, 1, True, True, None), (3, 2, 1, True, False, None), (2, 3, 1, True, True, None),
    ((2, 3), (1, 2), (1, 0), False, True, 5), (1, 1, 0, False, True, None), (2, 1, 1, True, False, -2),
    (7, 1, 3, False, False, None), ((7, 8), 8, (3, 4), True, True, None), ((7, 8), (2, 3), (3, 4), True, True, None),
])
def test_avg_pool_loop_reference(kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x = np.random.default_rng(7).standard_normal((2, 3, 7, 8))
    out, (g,), r = grads(lambda t: tc.avg_pool2d(t, kernel, stride, padding, ceil_mode, count_include_pad,
                                                 divisor_override), x)
    ref, ref_dx = loop_avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, grad=r)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g, ref_dx, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("size", [(2, 3), (1, 1), (5, 7), (None, 2), (7, 10), (3, None)])
def test_adaptive_loop_reference(kind, size):
    x = np.random.default_rng(8).standard_normal((2, 3, 5, 7))
    fn = tc.adaptive_avg_pool2d if kind == "avg" else tc.adaptive_max_pool2d
    out, (g,), r = grads(lambda t: fn(t, size), x)
    ref, ref_dx = loop_adaptive(x, size, kind, r)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    np.testing.assert_allclose(g, ref_dx, rtol=1e-12, atol=1e-15)


# --- PyTorch ----------------------------------------------------------------------------------
def torch_grads(torch, fn, x, r, dtype):
    tx = torch.tensor(x.astype(dtype), requires_grad=True)
    ty = fn(tx)
    values = ty[0] if isinstance(ty, tuple) else ty
    values.backward(torch.tensor(r.astype(dtype)))
    return ty, tx.grad.numpy()


def compare(torch, ours, theirs, x, dtype, indices=False):
    """ours(tensor) vs theirs(torch tensor): values, gradients and (with indices) the indices agree, or both refuse."""
    try:
        out, (g,), r = grads(lambda t: ours(t)[0] if indices else ours(t), x, dtype=dtype)
    except ValueError as error:
        with pytest.raises(RuntimeError):
            if "holds no input element" in str(error):  # torch returns an index outside the plane there
                raise RuntimeError(str(error))
            theirs(torch.tensor(x))
        return False
    ty, tg = torch_grads(torch, theirs, x, r, dtype)
    values = ty[0] if indices else ty
    exact = dtype == np.float64
    np.testing.assert_allclose(out, values.detach().numpy(), rtol=1e-12 if exact else 1e-6, atol=0 if exact else 1e-6)
    np.testing.assert_allclose(g, tg, rtol=1e-12 if exact else 1e-6, atol=1e-15 if exact else 1e-6)
    assert out.dtype == dtype and g.dtype == dtype
    if indices:
        np.testing.assert_array_equal(ours(tc.Tensor(x.astype(dtype)))[1], ty[1].numpy())
    return True


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel", [1, 2, 3, (2, 3)])
def test_max_pool_matches_torch_over_a_grid(kernel, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(9)
    compared = 0
    for shape in [(2, 3, 7, 6), (1, 2, 5, 5)]:
        x = rng.standard_normal(shape)
        for stride, padding, dilation, ceil_mode in itertools.product([None, 1, 2, (2, 1)], [0, 1, (1, 0)], [1, 2],
                                                                      [False, True]):
            kw = {"stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}
            theirs_kw = {**kw, "stride": kernel if stride is None else stride}
            compared += compare(torch, lambda t: tc.max_pool2d(t, kernel, **kw, return_indices=True),
                                lambda t: F.max_pool2d(t, kernel, **theirs_kw, return_indices=True), x, dtype, True)
    assert compared >= 30


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel", [1, 2, 3, (2, 3)])
def test_avg_pool_matches_torch_over_a_grid(kernel, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(10)
    compared = 0
    for shape in [(2, 3, 7, 6), (1, 2, 5, 5)]:
        x = rng.standard_normal(shape)
        for stride, padding, ceil_mode, include, divisor in itertools.product(
                [None, 1, 2, (2, 1)], [0, 1, (1, 0)], [False, True], [True, False], [None, 3]):
            args = (kernel, stride, padding, ceil_mode, include, divisor)
            compared += compare(torch, lambda t: tc.avg_pool2d(t, *args),
                                lambda t: F.avg_pool2d(t, kernel, kernel if stride is None else stride, *args[2:]),
                                x, dtype)
    assert compared >= 60


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adaptive_and_1d_pools_match_torch(dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 7, 5))
    for size in [1, 2, (3, 4), (None, 2), (7, 5), (9, 11), (4, None)]:
        compare(torch, lambda t: tc.adaptive_avg_pool2d(t, size), lambda t: F.adaptive_avg_pool2d(t, size), x, dtype)
        compare(torch, lambda t: tc.adaptive_max_pool2d(t, size, True), lambda t: F.adaptive_max_pool2d(t, size, True),
                x, dtype, True)
    signal = rng.standard_normal((2, 3, 9))
    for kernel, stride, padding, dilation, ceil_mode in [(2, None, 0, 1, False), (3, 2, 1, 1, True),
                                                         (3, 1, 1, 2, False), (4, 3, 2, 1, True)]:
        for s in (signal, signal[0]):
            compare(torch, lambda t: tc.max_pool1d(t, kernel, stride, padding, dilation, ceil_mode, True),
                    lambda t: F.max_pool1d(t, kernel, stride, padding, dilation, ceil_mode, True), s, dtype, True)
            for include in (True, False):
                compare(torch, lambda t: tc.avg_pool1d(t, kernel, stride, padding, ceil_mode, include),
                        lambda t: F.avg_pool1d(t, kernel, stride, padding, ceil_mode, include), s, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_large_kernels_take_the_copied_windows_route_and_match_torch(dtype):
    """Kernels of more than 48 elements use one argmax (sum) over copied windows and a scatter back."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(20)
    x = rng.standard_normal((2, 3, 17, 16))
    x[0, 0, :4] = -np.inf  # -inf beside the padding
    x[0, 1] = -np.inf
    x[1, 0, rng.random((17, 16)) < 0.1] = np.nan
    x[1, 1] = rng.integers(0, 2, (17, 16))  # ties
    for kw in [dict(kernel_size=8), dict(kernel_size=(7, 8), stride=3, padding=3, ceil_mode=True),
               dict(kernel_size=7, stride=2, padding=3, dilation=2), dict(kernel_size=(17, 16)),
               dict(kernel_size=7, stride=(7, 1), padding=(0, 3), ceil_mode=True)]:
        assert compare(torch, lambda t: tc.max_pool2d(t, **kw, return_indices=True),
                       lambda t: F.max_pool2d(t, **kw, return_indices=True), x, dtype, True)
    finite = rng.standard_normal((2, 3, 17, 16))
    for kw in [dict(kernel_size=8), dict(kernel_size=(7, 8), stride=3, padding=3, ceil_mode=True),
               dict(kernel_size=(7, 8), stride=(7, 8), padding=3, ceil_mode=True, count_include_pad=False),
               dict(kernel_size=(17, 16)), dict(kernel_size=8, stride=8, padding=4, divisor_override=7)]:
        assert compare(torch, lambda t: tc.avg_pool2d(t, **kw), lambda t: F.avg_pool2d(t, **kw), finite, dtype)
    for size in [1, 2, (1, 3)]:  # long adaptive windows
        assert compare(torch, lambda t: tc.adaptive_max_pool2d(t, size, True),
                       lambda t: F.adaptive_max_pool2d(t, size, True), x, dtype, True)


# --- edge cases -------------------------------------------------------------------------------
def test_ceil_mode_drops_a_window_that_would_start_in_the_padding():
    # H=6, k=2, s=3, p=1: ceil gives 3 windows, but the third starts at 6 - 1 + 1 = 6 >= H + p: dropped.
    assert out_size(6, 2, 3, 1, 1, True) == 3 and math.ceil((6 + 2 - 2) / 3) + 1 == 3
    assert out_size(5, 2, 2, 1, 1, True) == 3 and math.ceil((5 + 2 - 2) / 2) + 1 == 4
    x = np.random.default_rng(12).standard_normal((1, 1, 5, 5))
    assert tc.max_pool2d(x, 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    assert tc.avg_pool2d(x, 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    ref, ref_dx = loop_avg_pool(x, 2, 2, 1, ceil_mode=True, grad=np.ones((1, 1, 3, 3)))
    out, (g,), _ = grads(lambda t: tc.avg_pool2d(t, 2, 2, 1, ceil_mode=True), x)
    np.testing.assert_allclose(out, ref)
    torch = pytest.importorskip("torch")
    for k, s, p, n in itertools.product([2, 3, 4], [1, 2, 3], [0, 1, 2], range(3, 9)):
        if 2 * p <= k and n + 2 * p >= k:
            expected = torch.nn.functional.max_pool2d(torch.zeros(1, 1, n, n), k, s, p, ceil_mode=True).shape
            assert tc.max_pool2d(np.zeros((1, 1, n, n)), k, s, p, ceil_mode=True).shape == expected


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_minus_infinity_next_to_the_padding_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.random.default_rng(13).standard_normal((2, 2, 5, 6))
    x[0, 0, :2, :] = -np.inf  # a border of -inf beside the top padding
    x[0, 1] = -np.inf  # a whole plane: every window's real elements are -inf
    x[1, 0, :, -2:] = -np.inf
    for kw in [dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
               dict(kernel_size=3, stride=2, padding=1, dilation=2), dict(kernel_size=(2, 3), padding=(1, 1))]:
        assert compare(torch, lambda t: tc.max_pool2d(t, **kw, return_indices=True),
                       lambda t: F.max_pool2d(t, **kw, return_indices=True), x, dtype, True)
    out, (g,), r = grads(lambda t: tc.max_pool2d(t, 3, 1, 1), x[:, 1:2])
    _, index = loop_max_pool(x[:, 1:2], 3, 1, 1)
    assert np.isfinite(g).all()  # padding never receives, never loses, the gradient


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ties_and_nan_match_torch(dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(14)
    ties = rng.integers(0, 3, (2, 3, 7, 6)).astype(float)
    nans = rng.standard_normal((2, 3, 7, 6))
    nans[rng.random(nans.shape) < 0.2] = np.nan  # several NaNs per window: torch takes the last
    nans[0, 0, :3, :3] = np.nan
    for x in (ties, nans):
        for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                   dict(kernel_size=3, stride=2, ceil_mode=True)]:
            tx = torch.tensor(x.astype(dtype), requires_grad=True)
            ty, tindex = F.max_pool2d(tx, **kw, return_indices=True)
            r = np.random.default_rng(0).standard_normal(ty.shape).astype(dtype)
            ty.backward(torch.tensor(r))
            t = T(x, dtype)
            out = tc.max_pool2d(t, **kw)
            out.backward(r.astype(dtype))
            np.testing.assert_array_equal(out.data, ty.detach().numpy())  # NaN where torch has NaN
            np.testing.assert_array_equal(tc.max_pool2d(x, **kw, return_indices=True)[1], tindex.numpy())
            np.testing.assert_allclose(t.grad, tx.grad.numpy(), rtol=1e-6, atol=1e-6)
        for size in [(3, 2), (2, 4)]:
            tv, ti = F.adaptive_max_pool2d(torch.tensor(x), size, return_indices=True)
            values, index = tc.adaptive_max_pool2d(x, size, return_indices=True)
            np.testing.assert_array_equal(values.data, tv.numpy())
            np.testing.assert_array_equal(index, ti.numpy())
    assert np.isnan(tc.avg_pool2d(nans, 2).data).any()


def test_empty_batch_one_by_one_kernels_and_plain_maps():
    x = np.zeros((0, 3, 6, 6))
    for fn in (lambda t: tc.max_pool2d(t, 2), lambda t: tc.avg_pool2d(t, 3, 2, 1),
               lambda t: tc.adaptive_avg_pool2d(t, 2), lambda t: tc.adaptive_max_pool2d(t, 2),
               lambda t: tc.max_pool2d(t, 2, return_indices=True)[0]):
        out, (g,), _ = grads(fn, x)
        assert out.shape[:2] == (0, 3) and g.shape == x.shape
    assert tc.max_pool1d(np.zeros((0, 2, 5)), 2).shape == (0, 2, 2)
    x = np.random.default_rng(15).standard_normal((2, 3, 5, 4))
    np.testing.assert_array_equal(tc.max_pool2d(x, 1).data, x)
    np.testing.assert_array_equal(tc.avg_pool2d(x, 1, 2).data, x[..., ::2, ::2])
    out, (g,), r = grads(lambda t: tc.max_pool2d(t, 1, (2, 1)), x)
    assert (g[..., 1::2, :] == 0).all() and (g[..., ::2, :] == r).all()
    plain = x[0, 0]
    for fn in (lambda a: tc.max_pool2d(a, 2, 1, 1), lambda a: tc.avg_pool2d(a, 3, 2, 1, True, False),
               lambda a: tc.adaptive_avg_pool2d(a, (2, 3)), lambda a: tc.adaptive_max_pool2d(a, 3)):
        np.testing.assert_array_equal(fn(plain).data, fn(plain[None, None]).data[0, 0])
    values, index = tc.max_pool2d(plain, 2, return_indices=True)
    assert values.shape == index.shape == (2, 2)
    assert tc.adaptive_avg_pool2d(x, 0).shape == (2, 3, 0, 0)


def test_return_indices_gives_the_same_gradient_and_a_tuple():
    x = np.random.default_rng(16).standard_normal((2, 3, 7, 7))
    for kw in [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)]:
        plain, (g,), r = grads(lambda t: tc.max_pool2d(t, **kw), x)
        (values, index) = tc.max_pool2d(T(x), **kw, return_indices=True)
        with_index, (g2,), _ = grads(lambda t: tc.max_pool2d(t, **kw, return_indices=True)[0], x)
        np.testing.assert_array_equal(values.data, plain)
        np.testing.assert_allclose(g, g2, rtol=1e-14)  # the order of additions may differ
        np.testing.assert_array_equal(np.take_along_axis(x.reshape(2, 3, -1), index.reshape(2, 3, -1), 2),
                                      plain.reshape(2, 3, -1))
    assert isinstance(nn.MaxPool2d(2, return_indices=True)(x), tuple)
    assert isinstance(nn.AdaptiveMaxPool2d(2, return_indices=True)(x), tuple)
    assert isinstance(nn.MaxPool1d(2, return_indices=True)(x[0]), tuple)


def test_backward_keeps_a_compact_offset_array_not_the_input():
    x = T(np.random.default_rng(17).standard_normal((4, 8, 16, 16)).astype(np.float32), np.float32)
    out = tc.max_pool2d(x, 2)
    saved = [a for a in out.node.saved if isinstance(a, np.ndarray)]
    assert [(a.dtype, a.shape) for a in saved] == [(np.uint8, out.shape)]
    out = tc.avg_pool2d(x, 3, 2, 1)
    assert all(np.size(a) <= out.shape[-1] * out.shape[-2] for a in out.node.saved if isinstance(a, np.ndarray))


# --- errors -------------------------------------------------------------------------------
def test_pool_bad_inputs():
    with pytest.raises(ValueError, match=r"\(H, W\), \(C, H, W\) or \(N, C, H, W\), got input \(4,\)"):
        tc.max_pool2d(T(np.ones(4)), 2)
    with pytest.raises(ValueError, match=r"got input \(1, 1, 1, 4, 4\)"):
        tc.avg_pool2d(T(np.ones((1, 1, 1, 4, 4))), 2)
    with pytest.raises(ValueError, match="half"):
        tc.avg_pool2d(T(np.ones((1, 1, 4, 4))), 2, padding=2)
    with pytest.raises(ValueError, match="larger"):
        tc.max_pool2d(T(np.ones((1, 1, 2, 2))), 3)
    with pytest.raises(ValueError, match="stride"):
        tc.max_pool2d(T(np.ones((1, 1, 4, 4))), 2, stride=0)
    with pytest.raises(TypeError, match="kernel_size"):
        tc.max_pool2d(T(np.ones((1, 1, 4, 4))), 2.5)


def test_pool_errors_name_the_op():
    x = np.ones((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"max_pool2d: kernel_size must be >= 1, got 0"):
        tc.max_pool2d(x, 0)
    with pytest.raises(ValueError, match=r"avg_pool2d: stride must be >= 1, got \(1, 0\)"):
        tc.avg_pool2d(x, 2, stride=(1, 0))
    with pytest.raises(TypeError, match=r"max_pool2d: padding must be an int or a pair of ints"):
        tc.max_pool2d(x, 2, padding=0.5)


@pytest.mark.parametrize("call,error,message", [
    (lambda x: tc.max_pool2d(x, 7, padding=1), ValueError, r"max_pool2d: kernel_size 7 \(dilation 1\) is larger .*"
                                                            r"input \(1, 2, 4, 4\), padding 1"),
    (lambda x: tc.max_pool2d(x, 2, dilation=4), ValueError, r"max_pool2d: kernel_size 2 \(dilation 4\) is larger"),
    (lambda x: tc.max_pool2d(x, 3, padding=2), ValueError, r"max_pool2d: padding 2 must be at most half the"),
    (lambda x: tc.avg_pool2d(x, (2, 4), padding=(1, 3)), ValueError, r"avg_pool2d: padding \(1, 3\) must be at most"),
    (lambda x: tc.max_pool2d(x, 2, 1, 1, dilation=5), ValueError, r"max_pool2d: .*dilation 5.* holds no input element"),
    (lambda x: tc.max_pool2d(x, 2, dilation=0), ValueError, r"max_pool2d: dilation must be >= 1"),
    (lambda x: tc.max_pool2d(x, 2, padding=-1), ValueError, r"max_pool2d: padding must be >= 0"),
    (lambda x: tc.max_pool2d(x, 2, ceil_mode=1), TypeError, r"max_pool2d: ceil_mode must be a bool"),
    (lambda x: tc.max_pool2d(x, 2, return_indices="yes"), TypeError, r"max_pool2d: return_indices must be a bool"),
    (lambda x: tc.max_pool2d(x, (2, 2, 2)), TypeError, r"max_pool2d: kernel_size must be an int or a pair"),
    (lambda x: tc.max_pool2d(x, "2"), TypeError, r"max_pool2d: kernel_size"),
    (lambda x: tc.avg_pool2d(x, 2, count_include_pad=None), TypeError, r"avg_pool2d: count_include_pad must be a bool"),
    (lambda x: tc.avg_pool2d(x, 2, divisor_override=0), ValueError, r"avg_pool2d: divisor_override must not be 0"),
    (lambda x: tc.avg_pool2d(x, 2, divisor_override=2.0), TypeError, r"avg_pool2d: divisor_override must be an int"),
    (lambda x: tc.adaptive_avg_pool2d(x, -1), ValueError, r"adaptive_avg_pool2d: output_size must be >= 0"),
    (lambda x: tc.adaptive_max_pool2d(x, (1, 2, 3)), TypeError, r"adaptive_max_pool2d: output_size must be an int or"),
    (lambda x: tc.adaptive_max_pool2d(x, "2"), TypeError, r"adaptive_max_pool2d: output_size"),
    (lambda x: tc.adaptive_max_pool2d(x, 2, return_indices=1), TypeError, r"adaptive_max_pool2d: return_indices"),
    (lambda x: tc.adaptive_avg_pool2d(x[0, 0, 0], 2), ValueError, r"adaptive_avg_pool2d: input must be .*input \(4,\)"),
    (lambda x: tc.max_pool2d(np.ones((2, 0, 4, 4)), 2), ValueError, r"max_pool2d: input \(2, 0, 4, 4\) has an empty"),
    (lambda x: tc.avg_pool2d(np.ones((0, 4, 4)), 2), ValueError, r"avg_pool2d: input \(0, 4, 4\) has an empty"),
    (lambda x: tc.max_pool1d(x, 2), ValueError, r"max_pool1d: input must be \(C, L\) or \(N, C, L\), got"),
    (lambda x: tc.max_pool1d(x[0, 0], 2, padding=2), ValueError, r"max_pool1d: padding 2 must be at most half"),
    (lambda x: tc.avg_pool1d(x[0, 0], (2, 2)), TypeError, r"avg_pool1d: kernel_size must be an int"),
    (lambda x: tc.avg_pool1d(x[0, 0], 9), ValueError, r"avg_pool1d: kernel_size 9 .* larger"),
])
def test_bad_arguments_name_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call(np.ones((1, 2, 4, 4)))


# --- layers -------------------------------------------------------------------------------
def test_layer_arguments_are_checked_at_construction():
    with pytest.raises(ValueError, match=r"MaxPool2d: kernel_size must be >= 1, got 0"):
        nn.MaxPool2d(0)
    with pytest.raises(ValueError, match=r"AvgPool2d: stride must be >= 1"):
        nn.AvgPool2d(2, stride=0)
    with pytest.raises(ValueError, match=r"MaxPool2d: padding 2 must be at most half"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(TypeError, match=r"MaxPool1d: kernel_size must be an int"):
        nn.MaxPool1d((2, 2))
    with pytest.raises(ValueError, match=r"AvgPool2d: divisor_override must not be 0"):
        nn.AvgPool2d(2, divisor_override=0)
    with pytest.raises(TypeError, match=r"AvgPool1d: ceil_mode must be a bool"):
        nn.AvgPool1d(2, ceil_mode=None)
    with pytest.raises(ValueError, match=r"AdaptiveAvgPool2d: output_size must be >= 0"):
        nn.AdaptiveAvgPool2d(-2)
    with pytest.raises(TypeError, match=r"AdaptiveMaxPool2d: return_indices must be a bool"):
        nn.AdaptiveMaxPool2d(2, 1)
    assert not issubclass(nn.AvgPool2d, nn.MaxPool2d) and not issubclass(nn.MaxPool2d, nn.AvgPool2d)
    assert repr(nn.AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)"  # torch's repr


LAYERS = [
    ("MaxPool2d", (2,), {}), ("MaxPool2d", (3, 2, 1), {"dilation": 1, "ceil_mode": True}),
    ("MaxPool2d", ((2, 3),), {"stride": (1, 2), "padding": (1, 0), "dilation": (2, 1)}),
    ("AvgPool2d", (2,), {}), ("AvgPool2d", (3, 2, 1, True, False), {}), ("AvgPool2d", (2,), {"divisor_override": 3}),
    ("AdaptiveAvgPool2d", ((None, 3),), {}), ("AdaptiveAvgPool2d", (1,), {}), ("AdaptiveMaxPool2d", ((2, 3),), {}),
    ("MaxPool1d", (3, 2, 1), {"ceil_mode": True}), ("AvgPool1d", (3, 2, 1), {"count_include_pad": False}),
]


@pytest.mark.parametrize("name,args,kwargs", LAYERS)
def test_layers_match_torch_in_repr_values_and_gradients(name, args, kwargs):
    x = np.random.default_rng(18).standard_normal((2, 3, 6, 7) if "1d" not in name else (2, 3, 7))
    ours = getattr(nn, name)(*args, **kwargs)
    functional = {"MaxPool2d": tc.max_pool2d, "AvgPool2d": tc.avg_pool2d, "AdaptiveAvgPool2d": tc.adaptive_avg_pool2d,
                  "AdaptiveMaxPool2d": tc.adaptive_max_pool2d, "MaxPool1d": tc.max_pool1d, "AvgPool1d": tc.avg_pool1d}
    np.testing.assert_array_equal(ours(x).data, functional[name](x, *args, **kwargs).data)
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert compare(torch, ours, theirs, x, np.float64)


def test_pooling_layers_in_a_small_model():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 4, 3, padding=1, rng=1), nn.AvgPool2d(3, 2, 1, ceil_mode=True),
                          nn.AdaptiveMaxPool2d((2, 2)), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    x = np.random.default_rng(19).standard_normal((2, 1, 9, 9))
    out = model(x)
    assert out.shape == (2, 4)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert nn.MaxPool2d(2)(x).shape == nn.AvgPool2d(2)(x).shape == (2, 1, 4, 4)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=2, stride=1, dilation=2), dict(kernel_size=3, ceil_mode=True)])
def test_max_pool2d_and_relu_under_no_grad_give_the_recorded_values(kwargs):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 9, 9))
    x[0, 0, 1, 1], x[1, 2] = np.nan, -np.inf
    recorded = tc.max_pool2d(tc.relu(tc.Tensor(x, requires_grad=True) - 0.5), **kwargs)
    with tc.no_grad():
        inferred = tc.max_pool2d(tc.relu(tc.Tensor(x) - 0.5), **kwargs)
    np.testing.assert_array_equal(inferred.numpy(), recorded.numpy())
