"""Adaptive pooling and 1-D pooling, with PyTorch's semantics, built on ``pooling.py``.

Adaptive pooling uses torch's windows start = floor(i*H/H'), end = ceil((i+1)*H/H') along
each axis: adaptive_avg_pool2d as two matrix products with 0/1 window-membership matrices,
adaptive_max_pool2d by gathering each window (its last element repeated up to the longest
window's length) and taking one argmax. 1-D pooling runs the 2-D ops on a (..., 1, L) view.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels.products import matmul as _product
from .._checks import flag, integer
from ..registry import REQUIRED, Sample, register_function, register_op
from ..tensor import Tensor, as_input
from .pooling import _argmax, _check_input, _gather, _scatter, _windows, avg_pool2d, max_pool2d


# --- adaptive pooling ----------------------------------------------------------------------
def adaptive_output_size(shape: tuple[int, ...], output_size: Any, where: str) -> tuple[int, int]:
    """(H', W') from an int or a pair whose entries may be None (the input's size).

    Raises:
        TypeError: for entries that are not ints or None.
        ValueError: for a negative entry.
    """
    items = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(items) != 2:
        raise TypeError(f"{where}: output_size must be an int or a pair of ints or None, got {output_size!r}")
    return tuple(shape[-2 + i] if v is None else integer(v, "output_size", minimum=0, where=where)
                 for i, v in enumerate(items))


def _adaptive_bounds(n: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(out)
    return i * n // out, -(-(i + 1) * n // out)


def _members(n: int, out: int, dtype: np.dtype) -> np.ndarray:
    """(out, n): 1 where input element j lies in window i."""
    start, end = _adaptive_bounds(n, out)
    j = np.arange(n)
    return ((j >= start[:, None]) & (j < end[:, None])).astype(dtype)


def _adaptive_avg_forward(x, *, output_size):
    _check_input(x.shape, "adaptive_avg_pool2d")
    ho, wo = adaptive_output_size(x.shape, output_size, "adaptive_avg_pool2d")
    rows, cols = _members(x.shape[-2], ho, x.dtype), _members(x.shape[-1], wo, x.dtype)
    counts = rows.sum(1)[:, None] * cols.sum(1)
    return _product(_product(rows, x), cols.T) / counts, (rows, cols, counts)


def _adaptive_avg_vjp(g, saved, needs_grad, **attrs):
    rows, cols, counts = saved
    return (_product(_product(rows.T, g / counts), cols),)


def _adaptive_index(n: int, out: int) -> np.ndarray:
    """(out, L): each window's elements, the last repeated up to the longest window's length L."""
    start, end = _adaptive_bounds(n, out)
    span = int((end - start).max(initial=1))
    return np.minimum(start[:, None] + np.arange(span), end[:, None] - 1)


def _adaptive_max_indices(x: np.ndarray, ho: int, wo: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive max pooling's output and torch's indices (positions in each (H*W) plane, int64)."""
    rows, cols = _adaptive_index(x.shape[-2], ho), _adaptive_index(x.shape[-1], wo)
    span = cols.shape[1]
    windows = x[..., rows[:, None, :, None], cols[None, :, None, :]]  # (..., H', W', Lh, Lw), a copy
    best, offsets = _argmax(windows.reshape(windows.shape[:-2] + (rows.shape[1] * span,)), np.dtype(np.int64))
    index = rows[np.arange(ho)[:, None], offsets // span] * x.shape[-1] + cols[np.arange(wo), offsets % span]
    return best, index


def _adaptive_max_forward(x, *, output_size):
    _check_input(x.shape, "adaptive_max_pool2d")
    out, index = _adaptive_max_indices(x, *adaptive_output_size(x.shape, output_size, "adaptive_max_pool2d"))
    return out, (index, x.shape[-2:])


def _adaptive_max_vjp(g, saved, needs_grad, **attrs):
    index, size = saved
    return (_scatter(g, index, size),)


# --- registration ------------------------------------------------------------------------
def _adaptive_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [Sample((r((1, 2, 5, 7)),), {"output_size": (2, 3)}), Sample((r((3, 4, 4)),), {"output_size": (None, 3)}),
            Sample((r((3, 4)),), {"output_size": (5, 6)}), Sample((r((2, 2, 6, 6)),), {"output_size": 1})]


adaptive_avg_pool2d = register_op(
    "adaptive_avg_pool2d", _adaptive_avg_forward, _adaptive_avg_vjp, inputs=("input",), method=False,
    defaults={"output_size": REQUIRED}, samples=_adaptive_samples,
    doc="""Average pooling to a given output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Window i of an axis of size H spans [floor(i*H/H'), ceil((i+1)*H/H')).

    Args:
        input: (H, W), (C, H, W) or (N, C, H, W).
        output_size: an int or a pair (H', W'), each >= 0 or None (keep the input's size).

    Returns:
        The input's leading axes and (H', W').

    Raises:
        ValueError: for a wrong input shape or a negative size.
        TypeError: for sizes that are not ints or None.
    """)

_adaptive_max_pool2d = register_op(
    "adaptive_max_pool2d", _adaptive_max_forward, _adaptive_max_vjp, inputs=("input",), method=False,
    defaults={"output_size": REQUIRED}, samples=_adaptive_samples,
    doc="adaptive_max_pool2d's values (the op behind adaptive_max_pool2d).")


@register_function(method=False)
def adaptive_max_pool2d(input: Tensor | np.ndarray, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling to a given output size, as ``torch.nn.functional.adaptive_max_pool2d``.

    Window i of an axis of size H spans [floor(i*H/H'), ceil((i+1)*H/H')); ties, -inf and
    NaN as in ``max_pool2d``.

    Args:
        input: (H, W), (C, H, W) or (N, C, H, W).
        output_size: an int or a pair (H', W'), each >= 0 or None (keep the input's size).
        return_indices: also return where each maximum came from.

    Returns:
        The input's leading axes and (H', W'); with ``return_indices``, ``(output, indices)``:
        int64 positions in each (H*W) plane.

    Raises:
        ValueError: for a wrong input shape or a negative size.
        TypeError: for sizes that are not ints or None, or a return_indices that is not a bool.
    """
    if not flag(return_indices, "return_indices", "adaptive_max_pool2d"):
        return _adaptive_max_pool2d(input, output_size)
    tensor = as_input(input, None, "adaptive_max_pool2d", "input")
    _check_input(tensor.shape, "adaptive_max_pool2d")
    size = adaptive_output_size(tensor.shape, output_size, "adaptive_max_pool2d")
    indices = _adaptive_max_indices(tensor.data, *size)[1]
    return _gather(tensor, indices), indices


# --- 1-D pooling: the 2-D ops on (..., 1, L) -------------------------------------------------
def _as_2d_arguments(input: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: Any,
                     where: str) -> tuple[Tensor, dict[str, Any]]:
    tensor = as_input(input, None, where, "input")
    win = _windows(tensor.shape, kernel_size, stride, padding, dilation, ceil_mode, where, spatial=1)
    return tensor.unsqueeze(-2), {"kernel_size": (1,) + win.kernel, "stride": (1,) + win.stride,
                                  "padding": (0,) + win.before, "dilation": (1,) + win.dilation, "ceil_mode": ceil_mode}


@register_function(method=False)
def max_pool1d(input: Tensor | np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """1-D max pooling of (C, L) or (N, C, L), as ``torch.nn.functional.max_pool1d``.

    Args:
        input: (C, L) or (N, C, L).
        kernel_size: an int >= 1.
        stride: an int >= 1; None (the default) means ``kernel_size``.
        padding: an int >= 0, at most half the kernel.
        dilation: an int >= 1.
        ceil_mode: round the output size up, as in ``max_pool2d``.
        return_indices: also return where each maximum came from (int64 positions along L).

    Returns:
        (C, L') or (N, C, L'); with ``return_indices``, ``(output, indices)``.

    Raises:
        ValueError: for a wrong input shape, out-of-range sizes or a kernel larger than the padded input.
        TypeError: for sizes that are not ints, or flags that are not bools.
    """
    flag(return_indices, "return_indices", "max_pool1d")
    x, args = _as_2d_arguments(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool1d")
    result = max_pool2d(x, **args, return_indices=return_indices)
    if return_indices:
        return result[0].squeeze(-2), np.squeeze(result[1], -2)
    return result.squeeze(-2)


@register_function(method=False)
def avg_pool1d(input: Tensor | np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """1-D average pooling of (C, L) or (N, C, L), as ``torch.nn.functional.avg_pool1d``.

    Args:
        input: (C, L) or (N, C, L).
        kernel_size: an int >= 1.
        stride: an int >= 1; None (the default) means ``kernel_size``.
        padding: an int >= 0, at most half the kernel; padding counts as zeros.
        ceil_mode: round the output size up, as in ``avg_pool2d``.
        count_include_pad: divide by the window's size within the padded input (True) or by its number of
            input elements (False).

    Returns:
        (C, L') or (N, C, L').

    Raises:
        ValueError: for a wrong input shape, out-of-range sizes or a kernel larger than the padded input.
        TypeError: for sizes that are not ints, or flags that are not bools.
    """
    x, args = _as_2d_arguments(input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool1d")
    del args["dilation"]
    return avg_pool2d(x, **args, count_include_pad=count_include_pad).squeeze(-2)
