"""2-D max and average pooling on (C, H, W) and (N, C, H, W) inputs, PyTorch's semantics.

Both ops loop over the kh*kw kernel offsets (never over pixels): offset (i, j) sees
the strided slice ``xp[..., i::sh, j::sw]`` of the padded input, one value per window.
Max pooling keeps, per window, the offset of its first maximum, and its gradient
sends each window's error to that one element; average pooling spreads the error
evenly. Padding counts as -inf for max pooling and as 0 for average pooling
(``count_include_pad=True``, PyTorch's default), and is at most half the kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import output_size, pair
from .conv import crop
from .conv import pad2d as pad
from .registry import Sample, register_op
from .tensor import Tensor


def pool_arguments(kernel_size: Any, stride: Any, padding: Any, op_name: str) -> tuple[tuple[int, int], ...]:
    """Check the pooling sizes; return them as pairs (kernel, stride, padding).

    Raises:
        TypeError: for sizes that are not ints or pairs of ints.
        ValueError: for sizes out of range, naming ``op_name``.
    """
    kernel = pair(kernel_size, "kernel_size", minimum=1, where=op_name)
    strides = kernel if stride is None else pair(stride, "stride", minimum=1, where=op_name)
    pads = pair(padding, "padding", minimum=0, where=op_name)
    if pads[0] > kernel[0] // 2 or pads[1] > kernel[1] // 2:
        raise ValueError(f"{op_name}: padding {padding!r} must be at most half the kernel_size {kernel_size!r}")
    return kernel, strides, pads


def _pool_geometry(x: np.ndarray, kernel_size: Any, stride: Any, padding: Any, op_name: str):
    if x.ndim not in (3, 4):
        raise ValueError(f"{op_name}: x must be 3-D (C, H, W) or 4-D (N, C, H, W), got x {x.shape}")
    kernel, stride, pads = pool_arguments(kernel_size, stride, padding, op_name)
    h, w = x.shape[-2:]
    ho = output_size(h, 2 * pads[0], kernel[0], stride[0], 1)
    wo = output_size(w, 2 * pads[1], kernel[1], stride[1], 1)
    if ho < 1 or wo < 1:
        raise ValueError(f"{op_name}: kernel_size {kernel_size!r} is larger than the padded input: x {x.shape}, padding {padding!r}")
    return kernel, stride, (pads[0], pads[0], pads[1], pads[1]), ho, wo  # pads as (top, bottom, left, right)


def _window_slices(i: int, j: int, stride: tuple[int, int], ho: int, wo: int) -> tuple:
    """The padded input's elements that kernel offset (i, j) reads, one per output pixel."""
    sh, sw = stride
    return (Ellipsis, slice(i, i + (ho - 1) * sh + 1, sh), slice(j, j + (wo - 1) * sw + 1, sw))


# --- max_pool2d ------------------------------------------------------------------
def _max_pool_forward(x, *, kernel_size, stride, padding):
    kernel, stride, pads, ho, wo = _pool_geometry(x, kernel_size, stride, padding, "max_pool2d")
    xp = pad(x, pads, -np.inf)
    best = best_offset = None
    for k in range(kernel[0] * kernel[1]):
        window = xp[_window_slices(k // kernel[1], k % kernel[1], stride, ho, wo)]
        if best is None:
            best, best_offset = window.copy(), np.zeros(window.shape, dtype=np.intp)
            continue
        better = (window > best) | (np.isnan(window) & ~np.isnan(best))  # NaN wins, as in PyTorch
        best[better] = window[better]
        best_offset[better] = k
    return best, (best_offset, xp.shape, kernel, stride, pads)


def _max_pool_vjp(g, saved, needs_grad, **attrs):
    best_offset, xp_shape, kernel, stride, pads = saved
    ho, wo = g.shape[-2:]
    dxp = np.zeros(xp_shape, dtype=g.dtype)
    for k in range(kernel[0] * kernel[1]):
        dxp[_window_slices(k // kernel[1], k % kernel[1], stride, ho, wo)] += np.where(best_offset == k, g, 0)
    return (crop(dxp, pads),)


# --- avg_pool2d -------------------------------------------------------------------
def _avg_pool_forward(x, *, kernel_size, stride, padding):
    kernel, stride, pads, ho, wo = _pool_geometry(x, kernel_size, stride, padding, "avg_pool2d")
    xp = pad(x, pads)
    total = np.zeros(x.shape[:-2] + (ho, wo), dtype=x.dtype)
    for k in range(kernel[0] * kernel[1]):
        total += xp[_window_slices(k // kernel[1], k % kernel[1], stride, ho, wo)]
    return total / (kernel[0] * kernel[1]), (xp.shape, kernel, stride, pads)


def _avg_pool_vjp(g, saved, needs_grad, **attrs):
    xp_shape, kernel, stride, pads = saved
    ho, wo = g.shape[-2:]
    share = g / (kernel[0] * kernel[1])
    dxp = np.zeros(xp_shape, dtype=g.dtype)
    for k in range(kernel[0] * kernel[1]):
        dxp[_window_slices(k // kernel[1], k % kernel[1], stride, ho, wo)] += share
    return (crop(dxp, pads),)


def _pool_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [
        Sample((r((2, 3, 4, 4)),), {"kernel_size": 2, "stride": None, "padding": 0}),
        Sample((r((3, 5, 6)),), {"kernel_size": 3, "stride": 2, "padding": 1}),
        Sample((r((1, 2, 5, 7)),), {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 0)}),
        Sample((r((1, 1, 5, 5)),), {"kernel_size": 3, "stride": 1, "padding": 0}),
    ]


_defaults = {"kernel_size": 2, "stride": None, "padding": 0}
_max_pool2d = register_op("max_pool2d", _max_pool_forward, _max_pool_vjp, defaults=_defaults,
                          samples=_pool_samples, method=False, doc="2-D max pooling; see tinygrad_conv.max_pool2d.")
_avg_pool2d = register_op("avg_pool2d", _avg_pool_forward, _avg_pool_vjp, defaults=_defaults,
                          samples=_pool_samples, method=False, doc="2-D average pooling; see tinygrad_conv.avg_pool2d.")


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """2-D max pooling of x (C, H, W) or (N, C, H, W), as ``torch.nn.functional.max_pool2d``.

    Args:
        x: the input.
        kernel_size: an int or a pair (kh, kw), each >= 1.
        stride: an int or a pair, each >= 1; None (the default) means ``kernel_size``.
        padding: an int or a pair >= 0, at most half the kernel; padded cells never win.

    Returns:
        (C, H', W') or (N, C, H', W') with H' = floor((H + 2p - kh) / sh) + 1.

    Raises:
        ValueError: for a wrong ndim, out-of-range sizes, or a window larger than the input.
        TypeError: for sizes that are not ints or pairs of ints.
    """
    return _max_pool2d(x, kernel_size=kernel_size, stride=stride, padding=padding)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d`` (padding counts as zeros).

    Arguments, shapes and errors as in :func:`max_pool2d`.
    """
    return _avg_pool2d(x, kernel_size=kernel_size, stride=stride, padding=padding)


Tensor.max_pool2d = max_pool2d
Tensor.avg_pool2d = avg_pool2d
