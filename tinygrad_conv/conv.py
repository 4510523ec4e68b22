r"""2-D convolution (cross-correlation) and its backward pass, built from small named pieces.

Forward. With the input zero-padded to ``xp`` (Hp x Wp), stride s, dilation d and a
k x k kernel (rows and columns alike; everything below holds per axis)::

    y[n, o, u, v] = b[o] + sum_{c, i, j} w[o, c, i, j] * xp[n, c, u*s + i*d, v*s + j*d]

    H' = floor((Hp - d*(k-1) - 1) / s) + 1

Input gradient. Input pixel ``xp[t]`` met weight ``w[i]`` in output ``u`` whenever
``u*s + i*d = t``. Scatter the error ``g = dL/dy`` onto the input grid by inserting
s-1 zeros between its elements (``z[u*s] = g[u]``, zero elsewhere); then::

    dxp[t] = sum_i z[t - i*d] * w[i]

which is a *full* correlation of ``z`` with the kernel rotated 180 degrees: pad ``z``
by d*(k-1) on each side and slide ``rotate180(w)`` over it with dilation d, with the
kernel's in/out channels swapped (the error has O channels, the input C). When s does
not divide Hp - d*(k-1) - 1, the last ``rem`` input rows were never read by the forward;
one extra row of padding per unused row at the bottom gives ``dxp`` its full height,
and those rows get exactly 0. Cropping the forward's padding gives ``dx``.

Kernel gradient. ``dw[o, c, i] = sum_{n, u} g[n, o, u] * xp[n, c, u*s + i*d]
= sum_t z[t] * xp[t + i*d]``: the padded input correlated with the zero-inserted
error, read at steps of d (so the dilation becomes the stride of this correlation),
summed over the batch (the batch plays the role of channels).

Bias gradient. ``db[o] = sum_{n, u, v} g[n, o, u, v]``: the sum of the error.

``conv2d_backward_literal`` is that algorithm, step by step. The engine's vjp uses the
equivalent ``conv2d_backward_fast``: it reuses the forward's im2col matrix, so the kernel
gradient is one GEMM, and it scatter-adds the input gradient (col2im) instead of
multiplying the (s^2-1)/s^2 inserted zeros. The tests check both against each other,
against a direct loop and against PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .registry import Sample, register_op
from .tensor import Tensor

Pair = tuple[int, int]
Padding4 = tuple[int, int, int, int]  # top, bottom, left, right


# --- argument checking -------------------------------------------------------
def as_pair(value: Any, name: str, minimum: int) -> Pair:
    """An int or a pair of ints, each >= ``minimum``, as a pair; else a clear error naming ``name``."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def resolve_padding(padding: Any, kernel: Pair, stride: Pair, dilation: Pair) -> Padding4:
    """Turn ``padding`` (int, pair, "valid" or "same") into (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise ValueError(f'padding must be an int >= 0, a pair, "valid" or "same", got {padding!r}')
        if stride != (1, 1):
            raise ValueError(f'padding="same" needs stride 1, got stride={stride}')
        (dh, dw), (kh, kw) = dilation, kernel
        total_h, total_w = dh * (kh - 1), dw * (kw - 1)  # an odd total puts the extra row at the bottom
        return total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2
    ph, pw = as_pair(padding, "padding", 0)
    return ph, ph, pw, pw


def output_size(size: int, pad: int, kernel: int, stride: int, dilation: int) -> int:
    """H' = floor((H + pad - dilation*(kernel-1) - 1) / stride) + 1 (``pad`` counts both sides)."""
    return (size + pad - dilation * (kernel - 1) - 1) // stride + 1


def _check_shapes(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> None:
    if x.ndim == 2:
        if w.ndim != 2:
            raise ValueError(f"conv2d: a 2-D input x {x.shape} needs a 2-D weight (kh, kw), got weight {w.shape}")
        if b is not None and b.shape not in ((), (1,)):
            raise ValueError(f"conv2d: bias for a 2-D input must be a scalar (shape () or (1,)), got bias {b.shape}")
        return
    if x.ndim not in (3, 4):
        raise ValueError(f"conv2d: x must be 2-D (H, W), 3-D (C, H, W) or 4-D (N, C, H, W), got x {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"conv2d: a {x.ndim}-D input x {x.shape} needs a 4-D weight (O, C, kh, kw), got weight {w.shape}")
    if w.shape[1] != x.shape[-3]:
        raise ValueError(
            f"conv2d: channel mismatch: x {x.shape} has {x.shape[-3]} channels, weight {w.shape} expects {w.shape[1]}"
        )
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({w.shape[0]},) for weight {w.shape}, got bias {b.shape}")


# --- the named pieces ----------------------------------------------------------
def pad(x: np.ndarray, padding: Padding4) -> np.ndarray:
    """Zero-pad the last two axes by (top, bottom, left, right)."""
    top, bottom, left, right = padding
    if not any(padding):
        return x
    out = np.zeros(x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right), dtype=x.dtype)
    out[..., top : top + x.shape[-2], left : left + x.shape[-1]] = x
    return out


def insert_zeros(error: np.ndarray, stride: Pair) -> np.ndarray:
    """Insert stride-1 zeros between neighbouring elements of the last two axes."""
    sh, sw = stride
    if (sh, sw) == (1, 1):
        return error
    h, w = error.shape[-2:]
    out = np.zeros(error.shape[:-2] + ((h - 1) * sh + 1, (w - 1) * sw + 1), dtype=error.dtype)
    out[..., ::sh, ::sw] = error
    return out


def rotate180(kernel: np.ndarray) -> np.ndarray:
    """Rotate the last two axes by 180 degrees (flip rows and columns)."""
    return kernel[..., ::-1, ::-1]


def im2col(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """Patches of a padded (N, C, Hp, Wp) input as a (N*H'*W', C*kh*kw) matrix."""
    n, c, hp, wp = xp.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho, wo = output_size(hp, 0, kh, sh, dh), output_size(wp, 0, kw, sw, dw)
    sn, sc, sy, sx = xp.strides
    windows = as_strided(xp, (n, ho, wo, c, kh, kw), (sn, sy * sh, sx * sw, sc, sy * dh, sx * dw), writeable=False)
    return windows.reshape(n * ho * wo, c * kh * kw)


def correlate(xp: np.ndarray, w: np.ndarray, stride: Pair = (1, 1), dilation: Pair = (1, 1)) -> np.ndarray:
    """Valid cross-correlation of (N, C, Hp, Wp) with (O, C, kh, kw): one im2col and one GEMM."""
    n, _, hp, wp = xp.shape
    o, _, kh, kw = w.shape
    ho, wo = output_size(hp, 0, kh, stride[0], dilation[0]), output_size(wp, 0, kw, stride[1], dilation[1])
    out = im2col(xp, (kh, kw), stride, dilation) @ w.reshape(o, -1).T
    return out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2)


def col2im(cols: np.ndarray, xp_shape: tuple, kernel: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """Scatter-add (N, H', W', C, kh, kw) patch gradients back onto the padded input grid."""
    n, c, hp, wp = xp_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho, wo = cols.shape[1:3]
    dxp = np.zeros((n, hp, wp, c), dtype=cols.dtype)
    for i in range(kh):  # a loop over kernel offsets, never over pixels
        for j in range(kw):
            rows = slice(i * dh, i * dh + (ho - 1) * sh + 1, sh)
            columns = slice(j * dw, j * dw + (wo - 1) * sw + 1, sw)
            dxp[:, rows, columns, :] += cols[:, :, :, :, i, j]
    return dxp.transpose(0, 3, 1, 2)


def _crop(xp: np.ndarray, padding: Padding4) -> np.ndarray:
    top, bottom, left, right = padding
    return xp[..., top : xp.shape[-2] - bottom, left : xp.shape[-1] - right]


# --- backward: the seed's algorithm and the fast equivalent -------------------
def conv2d_backward_literal(
    x: np.ndarray, w: np.ndarray, g: np.ndarray, stride: Pair, padding: Padding4, dilation: Pair
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) for 4-D x (N, C, H, W), w (O, C, kh, kw) and error g (N, O, H', W'), as derived above."""
    xp = pad(x, padding)
    (kh, kw), (dh, dw_) = w.shape[2:], dilation
    z = insert_zeros(g, stride)
    unused_h = xp.shape[2] - (z.shape[2] + dh * (kh - 1))
    unused_w = xp.shape[3] - (z.shape[3] + dw_ * (kw - 1))
    full = dh * (kh - 1), dh * (kh - 1) + unused_h, dw_ * (kw - 1), dw_ * (kw - 1) + unused_w
    dxp = correlate(pad(z, full), rotate180(w).transpose(1, 0, 2, 3), dilation=dilation)
    dw = correlate(xp.transpose(1, 0, 2, 3), z.transpose(1, 0, 2, 3), stride=dilation)[:, :, :kh, :kw]
    return _crop(dxp, padding), dw.transpose(1, 0, 2, 3), g.sum(axis=(0, 2, 3))


def conv2d_backward_fast(
    g: np.ndarray, cols: np.ndarray, w: np.ndarray, xp_shape: tuple, stride: Pair, padding: Padding4,
    dilation: Pair, needs_grad: tuple[bool, bool, bool],
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dx, dw, db) from the forward's im2col matrix ``cols``; skips what is not needed."""
    n, o, ho, wo = g.shape
    c, kh, kw = w.shape[1:]
    g_rows = g.transpose(0, 2, 3, 1).reshape(n * ho * wo, o)
    dx = dw = db = None
    if needs_grad[0]:
        dcols = (g_rows @ w.reshape(o, -1)).reshape(n, ho, wo, c, kh, kw)
        dx = _crop(col2im(dcols, xp_shape, (kh, kw), stride, dilation), padding)
    if needs_grad[1]:
        dw = (g_rows.T @ cols).reshape(w.shape)
    if needs_grad[2]:
        db = g_rows.sum(axis=0)
    return dx, dw, db


# --- the registered op ----------------------------------------------------------
def _conv2d_forward(x, w, b, *, stride, padding, dilation):
    _check_shapes(x, w, b)
    stride, dilation = as_pair(stride, "stride", 1), as_pair(dilation, "dilation", 1)
    pads = resolve_padding(padding, w.shape[-2:], stride, dilation)
    x4 = x.reshape((1,) * (4 - x.ndim) + x.shape)
    w4 = w.reshape((1, 1) + w.shape) if w.ndim == 2 else w
    xp = pad(x4, pads)
    kernel = w4.shape[2:]
    for axis, name in ((0, "height"), (1, "width")):
        if xp.shape[2 + axis] < dilation[axis] * (kernel[axis] - 1) + 1:
            raise ValueError(
                f"conv2d: the kernel {tuple(kernel)} with dilation {dilation} is larger than the padded input: "
                f"x {x.shape} padded by {pads} has {name} {xp.shape[2 + axis]}"
            )
    cols = im2col(xp, kernel, stride, dilation)
    o = w4.shape[0]
    out = (cols @ w4.reshape(o, -1).T).reshape(x4.shape[0], -1, o)
    if b is not None:
        out = out + b.reshape(-1)
    ho = output_size(xp.shape[2], 0, kernel[0], stride[0], dilation[0])
    out = np.ascontiguousarray(out.reshape(x4.shape[0], ho, -1, o).transpose(0, 3, 1, 2))
    y = out.reshape(out.shape[2:]) if x.ndim == 2 else out.reshape(out.shape[x.ndim == 3 :])
    return y, (cols, w4.copy(), xp.shape, stride, pads, dilation, x.shape, w.shape, None if b is None else b.shape)


def _conv2d_vjp(g, saved, needs_grad, **attrs):
    cols, w4, xp_shape, stride, pads, dilation, x_shape, w_shape, b_shape = saved
    g4 = g.reshape(xp_shape[0], w4.shape[0], *g.shape[-2:])
    dx, dw, db = conv2d_backward_fast(g4, cols, w4, xp_shape, stride, pads, dilation, needs_grad)
    return (
        None if dx is None else dx.reshape(x_shape),
        None if dw is None else dw.reshape(w_shape),
        None if db is None else db.reshape(b_shape),
    )


def _conv2d_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [
        Sample((r((6, 6)), r((3, 3)), r(())), {"stride": 1, "padding": 0, "dilation": 1}),
        Sample((r((7, 7)), r((3, 3)), r((1,))), {"stride": 2, "padding": 0, "dilation": 1}),
        Sample((r((2, 5, 6)), r((3, 2, 2, 3)), r((3,))), {"stride": (2, 1), "padding": 1, "dilation": 1}),
        Sample((r((2, 2, 7, 6)), r((2, 2, 3, 2)), None), {"stride": 1, "padding": "same", "dilation": 2}),
        Sample((r((1, 2, 8, 9)), r((2, 2, 3, 3)), r((2,))), {"stride": 3, "padding": (1, 0), "dilation": (1, 2)}),
    ]


_conv2d = register_op(
    "conv2d", _conv2d_forward, _conv2d_vjp, inputs=("x", "weight", "bias"),
    defaults={"stride": 1, "padding": 0, "dilation": 1}, samples=_conv2d_samples, method=False,
    doc="2-D cross-correlation; see tinygrad_conv.conv2d.",
)


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> Tensor:
    """2-D cross-correlation, as in PyTorch's ``conv2d``.

    Shapes: x (H, W) with weight (kh, kw) and a scalar bias gives (H', W');
    x (C, H, W) with weight (O, C, kh, kw) gives (O, H', W'); x (N, C, H, W) gives
    (N, O, H', W'). For 3-D and 4-D inputs bias has shape (O,).

    Args:
        stride: an int or a pair, each >= 1.
        padding: an int or pair >= 0, "valid", or "same" (stride 1 only; an even
            kernel puts the extra row and column at the bottom and right).
        dilation: an int or a pair, each >= 1.
    """
    return _conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation)


Tensor.conv2d = conv2d
