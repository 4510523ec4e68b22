"""Max and average pooling over the last two axes, with PyTorch's semantics.

Inputs are (H, W), (C, H, W) or (N, C, H, W), N possibly 0. Loops run over the kh*kw
kernel offsets, never over pixels: offset (i, j) sees the strided view
``xp[..., i*dh::sh, j*dw::sw]`` of the (padded) input, one value per window. With
stride == kernel these views are the reshape (N, C, H/kh, kh, W/kw, kw) taken at (i, j)
(torch's floor crops the rest), and no copy of the input is made; padding, ceil_mode's
overhang and dilation only change where the views start and step. Kernels of more than
48 elements (few, long windows) instead copy the windows out and reduce along one axis.
Adaptive and 1-D pooling, built on these, are in ``pooling_variants.py``.

Max pooling keeps a running maximum and, per window, the offset of its first maximum in a
compact unsigned array: the only thing its backward keeps, which sends each window's
gradient to that one element. Padding never wins: a window whose input elements are all
-inf sends its gradient to its first input element, and NaN wins (the last NaN of the
window, as PyTorch's CPU kernel). Average pooling sums the views and divides by torch's
divisor (count_include_pad, ceil_mode, divisor_override).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._checks import flag, integer, pair
from ..grad_mode import is_grad_enabled
from ..kernels.buffers import result_buffer
from ..registry import REQUIRED, Sample, register_function, register_op
from ..tensor import Tensor, as_input
from .reductions import take_along_dim


_LOOP_UP_TO = 48  # kernel areas up to which a loop over the offsets beats copying the windows out (measured)


# --- arguments and window geometry --------------------------------------------------------
def _sizes(value: Any, name: str, minimum: int, where: str, n: int) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints (or of one, as torch) each >= ``minimum``, as an n-tuple."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if n == 2:
        return pair(value, name, minimum=minimum, where=where)
    return (integer(value, name, minimum=minimum, where=where),)


def check_divisor(divisor_override: Any, where: str) -> None:
    """Raise unless ``divisor_override`` is None or a nonzero int."""
    if divisor_override is not None and integer(divisor_override, "divisor_override", where=where) == 0:
        raise ValueError(f"{where}: divisor_override must not be 0")


def _check_input(shape: tuple[int, ...], where: str, spatial: int = 2) -> None:
    """Raise ValueError unless ``shape`` is a poolable input; only a 4-D (3-D for 1-D pooling) batch may be empty."""
    names = {2: "(H, W), (C, H, W) or (N, C, H, W)", 1: "(C, L) or (N, C, L)"}[spatial]
    if len(shape) not in ((2, 3, 4) if spatial == 2 else (2, 3)):
        raise ValueError(f"{where}: input must be {names}, got input {tuple(shape)}")
    if 0 in shape[1 if len(shape) == spatial + 2 else 0 :]:
        raise ValueError(f"{where}: input {tuple(shape)} has an empty dimension (only the batch may be 0)")


def pool_arguments(kernel_size: Any, stride: Any, padding: Any, where: str, dilation: Any = 1,
                   spatial: int = 2) -> tuple[tuple[int, ...], ...]:
    """Check the pooling sizes; return them as n-tuples (kernel, stride, padding, dilation).

    Raises:
        TypeError: for sizes that are not ints or pairs of ints.
        ValueError: for sizes out of range, or padding over half the kernel, naming ``where``.
    """
    kernel = _sizes(kernel_size, "kernel_size", 1, where, spatial)
    empty = isinstance(stride, (tuple, list)) and not stride  # torch: stride=[] means kernel_size
    strides = kernel if stride is None or empty else _sizes(stride, "stride", 1, where, spatial)
    pads = _sizes(padding, "padding", 0, where, spatial)
    dilations = _sizes(dilation, "dilation", 1, where, spatial)
    if any(p > k // 2 for p, k in zip(pads, kernel)):
        raise ValueError(f"{where}: padding {padding!r} must be at most half the kernel_size {kernel_size!r}")
    return kernel, strides, pads, dilations


@dataclass(frozen=True)
class _Windows:
    """Where the pooling windows lie on the last axes: one entry per axis (H, W)."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    before: tuple[int, ...]  # padding before
    after: tuple[int, ...]  # padding after that the windows read (ceil_mode's overhang included)
    size: tuple[int, ...]  # the input's
    out: tuple[int, ...]

    def starts(self, axis: int) -> np.ndarray:
        return np.arange(self.out[axis]) * self.stride[axis] - self.before[axis]

    def inside(self, axis: int) -> np.ndarray:
        """(out, kernel) booleans: which of a window's elements lie in the input."""
        at = self.starts(axis)[:, None] + self.dilation[axis] * np.arange(self.kernel[axis])
        return (at >= 0) & (at < self.size[axis])

    @property
    def padded(self) -> bool:
        return any(self.before) or any(self.after)

    @property
    def disjoint(self) -> bool:
        """No input element is read by two (window, offset) pairs: writes need no accumulation."""
        return all(s >= d * (k - 1) + 1 for s, d, k in zip(self.stride, self.dilation, self.kernel))

    @property
    def tiles(self) -> bool:
        """The windows cover the input exactly once (2x2 windows of stride 2 on an even grid, say)."""
        return not self.padded and all(k == s and d == 1 and o * s == n for k, s, d, o, n in
                                       zip(self.kernel, self.stride, self.dilation, self.out, self.size))

    @property
    def area(self) -> int:
        return int(np.prod(self.kernel))

    @property
    def offset_dtype(self) -> np.dtype:
        return np.min_scalar_type(self.area - 1)

    def pad(self, x: np.ndarray, fill: float) -> np.ndarray:
        if not self.padded:
            return x
        (t, l), (b, r) = self.before, self.after
        out = np.full(x.shape[:-2] + (x.shape[-2] + t + b, x.shape[-1] + l + r), fill, dtype=x.dtype)
        out[..., t : t + x.shape[-2], l : l + x.shape[-1]] = x
        return out

    def zeros_padded(self, g: np.ndarray, role: str, fill: bool = True) -> np.ndarray:
        """Zeros shaped as the padded input, for the gradient ``g`` of the output (``role`` names the op).

        ``fill=False`` leaves them unset, for a caller that writes every element.
        """
        (t, l), (b, r) = self.before, self.after
        grad = result_buffer((role, "grad"), g.shape[:-2] + (self.size[0] + t + b, self.size[1] + l + r), g.dtype)
        if fill:
            grad.fill(0)
        return grad

    def crop(self, xp: np.ndarray) -> np.ndarray:
        (t, l) = self.before
        return xp[..., t : t + self.size[0], l : l + self.size[1]]

    def views(self, xp: np.ndarray) -> list[np.ndarray]:
        """For each kernel offset (i, j), row-major, the elements of ``xp`` it reads: one per window."""
        (kh, kw), (sh, sw), (dh, dw), (ho, wo) = self.kernel, self.stride, self.dilation, self.out
        return [xp[..., i * dh : i * dh + (ho - 1) * sh + 1 : sh, j * dw : j * dw + (wo - 1) * sw + 1 : sw]
                for i in range(kh) for j in range(kw)]

    def blocks(self, xp: np.ndarray, writeable: bool = False) -> np.ndarray:
        """(..., H', W', kh, kw): every window of ``xp`` as one strided view (windows may share elements)."""
        (sh, sw), (dh, dw), (s2, s3) = self.stride, self.dilation, xp.strides[-2:]
        strides = xp.strides[:-2] + (sh * s2, sw * s3, dh * s2, dw * s3)
        return as_strided(xp, xp.shape[:-2] + self.out + self.kernel, strides, writeable=writeable)

    def flat_indices(self, offsets: np.ndarray) -> np.ndarray:
        """Torch's indices: each window's chosen element as a position in its (H*W) plane."""
        (kw, (dh, dw)) = self.kernel[1], self.dilation
        rows = self.starts(0)[:, None] + (offsets // kw).astype(np.int64) * dh
        cols = self.starts(1) + (offsets % kw).astype(np.int64) * dw
        return rows * self.size[1] + cols


def _windows(shape: tuple[int, ...], kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: Any,
            where: str, spatial: int = 2) -> _Windows:
    """Check a pooling call's input shape and arguments; return its windows.

    Raises:
        TypeError: for sizes that are not ints or pairs, or a ceil_mode that is not a bool.
        ValueError: for a wrong input shape, sizes out of range, or a window that holds no input element.
    """
    _check_input(shape, where, spatial)
    kernel, strides, pads, dilations = pool_arguments(kernel_size, stride, padding, where, dilation, spatial)
    ceil = flag(ceil_mode, "ceil_mode", where)
    size, out, after = tuple(shape[-spatial:]), [], []
    for n, k, s, p, d in zip(size, kernel, strides, pads, dilations):
        o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
        if ceil and (o - 1) * s >= n + p:  # torch: the last window starts inside the input or the left padding
            o -= 1
        if o < 1:
            raise ValueError(f"{where}: kernel_size {kernel_size!r} (dilation {dilation!r}) is larger than the padded "
                             f"input: input {tuple(shape)}, padding {padding!r}")
        out.append(o)
        after.append(max(0, (o - 1) * s - p + d * (k - 1) + 1 - n))
    win = _Windows(kernel, strides, dilations, pads, tuple(after), size, tuple(out))
    if win.padded and not all(win.inside(axis).any(axis=1).all() for axis in range(spatial)):
        raise ValueError(f"{where}: with padding {padding!r} and dilation {dilation!r} a window of kernel_size "
                         f"{kernel_size!r} holds no input element (input {tuple(shape)})")
    return win


# --- max_pool2d ----------------------------------------------------------------------------
def _running_max(views: list[np.ndarray], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The elementwise maximum of ``views`` and, per element, the first k that holds it (the last NaN's)."""
    best = result_buffer(("max_pool2d",), views[0].shape, views[0].dtype)
    np.copyto(best, views[0])
    offsets = result_buffer(("max_pool2d", "offsets"), best.shape, dtype)
    offsets.fill(0)
    better = result_buffer(("max_pool2d", "better"), best.shape, np.bool_)
    step = result_buffer(("max_pool2d", "step"), best.shape, dtype)
    for k in range(1, len(views)):
        np.greater(views[k], best, out=better)
        np.maximum(best, views[k], out=best)  # NaN propagates
        np.multiply(better, dtype.type(k), out=step)
        np.maximum(offsets, step, out=offsets)  # an improvement's k only grows: the last is the first maximum
    nan = np.isnan(best)
    if nan.any():  # rare: torch takes the window's last NaN
        last = np.zeros_like(offsets)
        for k, view in enumerate(views):
            np.maximum(last, np.isnan(view) * dtype.type(k), out=last)
        offsets[nan] = last[nan]
    return best, offsets


def _argmax(windows: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """As _running_max, for windows laid out along the last axis (faster when windows are long)."""
    offsets = np.argmax(windows, axis=-1)  # the first maximum, or the first NaN
    best = np.take_along_axis(windows, offsets[..., None], -1)[..., 0]
    nan = np.isnan(best)
    if nan.any():
        last = windows.shape[-1] - 1 - np.argmax(np.isnan(windows[..., ::-1]), axis=-1)
        offsets[nan] = last[nan]
    return best, offsets.astype(dtype)


def _max_offsets(x: np.ndarray, win: _Windows) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling's output and, per window, the kernel offset (i*kw + j) of the element it took."""
    xp = win.pad(x, -np.inf)
    if win.area <= _LOOP_UP_TO:
        best, offsets = _running_max(win.views(xp), win.offset_dtype)
    else:
        best, offsets = _argmax(win.blocks(xp).reshape(x.shape[:-2] + win.out + (win.area,)), win.offset_dtype)
    if win.padded:
        lost = best == -np.inf  # padding may hold offset 0: send these to the first input element, as torch
        if lost.any():
            first = np.argmax(win.inside(0), 1)[:, None] * win.kernel[1] + np.argmax(win.inside(1), 1)
            offsets[lost] = np.broadcast_to(first.astype(offsets.dtype), best.shape)[lost]
    return best, offsets


def _scatter(g: np.ndarray, index: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """The gradient of taking the elements at ``index`` from each (H*W) plane: g added at those positions."""
    planes, windows = int(np.prod(g.shape[:-2], dtype=np.int64)), g.shape[-2] * g.shape[-1]
    grad = np.zeros((planes, size[0] * size[1]), g.dtype)
    np.add.at(grad, (np.arange(planes)[:, None], index.reshape(planes, windows)), g.reshape(planes, windows))
    return grad.reshape(g.shape[:-2] + tuple(size))


def _max_pool_forward(x, *, kernel_size, stride, padding, dilation, ceil_mode):
    win = _windows(x.shape, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    if not is_grad_enabled() and win.area <= _LOOP_UP_TO:  # inference: the maximum alone, no offsets to keep
        views = win.views(win.pad(x, -np.inf))
        out = result_buffer(("max_pool2d",), views[0].shape, x.dtype)
        np.maximum(views[0], views[1], out=out) if len(views) > 1 else np.copyto(out, views[0])
        for view in views[2:]:
            np.maximum(out, view, out=out)
        return out
    out, offsets = _max_offsets(x, win)
    return out, (offsets, win)


def _max_pool_vjp(g, saved, needs_grad, **attrs):
    offsets, win = saved
    if win.area > _LOOP_UP_TO:
        return (_scatter(g, win.flat_indices(offsets), win.size),)
    dxp = win.zeros_padded(g, "max_pool2d", fill=not win.tiles)  # tiling windows write every element below
    hit = result_buffer(("max_pool2d", "hit"), offsets.shape, np.bool_)
    part = None if win.disjoint else result_buffer(("max_pool2d", "part"), g.shape, g.dtype)
    for k, view in enumerate(win.views(dxp)):
        np.equal(offsets, k, out=hit)
        if part is None:
            np.multiply(hit, g, out=view)
        else:
            np.multiply(hit, g, out=part)
            view += part
    return (win.crop(dxp),)


# --- avg_pool2d ----------------------------------------------------------------------------
def _divisor(win: _Windows, count_include_pad: bool, divisor_override: Any, dtype: np.dtype) -> np.ndarray:
    """Torch's divisor per window: (H', W'), or one number for divisor_override."""
    if divisor_override is not None:
        return np.asarray(divisor_override, dtype)
    counts = []
    for axis in range(2):
        start, k, n, p = win.starts(axis), win.kernel[axis], win.size[axis], win.before[axis]
        end = np.minimum(start + k, n + p)  # the window clipped to the padded input (not ceil_mode's overhang)
        counts.append(end - start if count_include_pad else np.minimum(end, n) - np.maximum(start, 0))
    divisor = (counts[0][:, None] * counts[1]).astype(dtype)
    return divisor.flat[0] if divisor.size and (divisor == divisor.flat[0]).all() else divisor  # one number: faster


def _avg_pool_forward(x, *, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    win = _windows(x.shape, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    include = flag(count_include_pad, "count_include_pad", "avg_pool2d")
    check_divisor(divisor_override, "avg_pool2d")
    xp = win.pad(x, 0.0)
    if win.area > _LOOP_UP_TO:
        total = win.blocks(xp).sum(axis=(-2, -1))
    else:
        views = win.views(xp)
        total = np.array(views[0])
        for view in views[1:]:
            np.add(total, view, out=total)  # torch's order: row-major over the window
    divisor = _divisor(win, include, divisor_override, x.dtype)
    return np.divide(total, divisor, out=total), (win, divisor)


def _avg_pool_vjp(g, saved, needs_grad, **attrs):
    win, divisor = saved
    share, dxp = g / divisor, win.zeros_padded(g, "avg_pool2d")
    if win.disjoint and win.area > _LOOP_UP_TO:
        np.copyto(win.blocks(dxp, writeable=True), share[..., None, None])
    else:
        for view in win.views(dxp):
            if win.disjoint:
                np.copyto(view, share)
            else:
                view += share
    return (win.crop(dxp),)


def _gather(tensor: Tensor, indices: np.ndarray) -> Tensor:
    """The elements of each (H*W) plane of ``tensor`` at ``indices``, recorded so that the gradient goes back."""
    lead, (ho, wo) = tensor.shape[:-2], indices.shape[-2:]
    flat = tensor.reshape(*lead, tensor.shape[-2] * tensor.shape[-1])
    return take_along_dim(flat, indices=indices.reshape(*lead, ho * wo), dim=-1).reshape(*lead, ho, wo)


# --- samples and registration --------------------------------------------------------------
def _max_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [
        Sample((r((2, 3, 4, 4)),), {"kernel_size": 2}),
        Sample((r((3, 5, 6)),), {"kernel_size": 3, "stride": 2, "padding": 1}),
        Sample((r((1, 2, 5, 7)),), {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 0)}),
        Sample((r((5, 5)),), {"kernel_size": 3, "stride": 1}),
        Sample((r((1, 2, 5, 6)),), {"kernel_size": 2, "ceil_mode": True}),
        Sample((r((2, 6, 7)),), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        Sample((r((1, 1, 7, 6)),), {"kernel_size": (2, 3), "padding": 1, "dilation": (2, 1), "stride": 1}),
    ]


def _avg_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [
        Sample((r((2, 3, 4, 4)),), {"kernel_size": 2}),
        Sample((r((3, 5, 6)),), {"kernel_size": 3, "stride": 2, "padding": 1}),
        Sample((r((1, 2, 5, 7)),), {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 0)}),
        Sample((r((5, 6)),), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
        Sample((r((1, 2, 5, 6)),), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        Sample((r((2, 6, 7)),), {"kernel_size": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
        Sample((r((1, 1, 5, 5)),), {"kernel_size": 2, "stride": 1, "divisor_override": 3}),
    ]


_max_pool2d = register_op(
    "max_pool2d", _max_pool_forward, _max_pool_vjp, inputs=("input",), method=False, samples=_max_samples,
    defaults={"kernel_size": REQUIRED, "stride": None, "padding": 0, "dilation": 1, "ceil_mode": False},
    doc="max_pool2d's values (the op behind max_pool2d).")

avg_pool2d = register_op(
    "avg_pool2d", _avg_pool_forward, _avg_pool_vjp, inputs=("input",), samples=_avg_samples,
    defaults={"kernel_size": REQUIRED, "stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
              "divisor_override": None},
    doc="""2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Args:
        input: (H, W), (C, H, W) or (N, C, H, W).
        kernel_size: an int or a pair (kh, kw), each >= 1.
        stride: an int or a pair, each >= 1; None (the default) means ``kernel_size``.
        padding: an int or a pair >= 0, at most half the kernel; padding counts as zeros.
        ceil_mode: round the output size up; a window must still start inside the input or the left padding.
        count_include_pad: divide by the window's size within the padded input (True) or by its number of
            input elements (False).
        divisor_override: a nonzero int that replaces every divisor.

    Returns:
        The input's leading axes and (H', W'), H' = floor((H + 2p - kh) / sh) + 1 (ceil with ceil_mode).

    Raises:
        ValueError: for a wrong input shape, out-of-range sizes, or a kernel larger than the padded input.
        TypeError: for sizes that are not ints or pairs of ints, or flags that are not bools.
    """)

@register_function
def max_pool2d(input: Tensor | np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Padding never wins a window; a window whose input elements are all -inf takes its first
    one (and its gradient), and NaN wins, as in PyTorch.

    Args:
        input: (H, W), (C, H, W) or (N, C, H, W).
        kernel_size: an int or a pair (kh, kw), each >= 1.
        stride: an int or a pair, each >= 1; None (the default) means ``kernel_size``.
        padding: an int or a pair >= 0, at most half the kernel.
        dilation: an int or a pair >= 1, the step between a window's elements.
        ceil_mode: round the output size up; a window must still start inside the input or the left padding.
        return_indices: also return where each maximum came from.

    Returns:
        The input's leading axes and (H', W'), H' = floor((H + 2p - dh*(kh-1) - 1) / sh) + 1 (ceil with
        ceil_mode); with ``return_indices``, ``(output, indices)``: int64 positions in each (H*W) plane.

    Raises:
        ValueError: for a wrong input shape, out-of-range sizes, a kernel larger than the padded input,
            or a window that holds no input element.
        TypeError: for sizes that are not ints or pairs of ints, or flags that are not bools.
    """
    if not flag(return_indices, "return_indices", "max_pool2d"):
        return _max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)
    tensor = as_input(input, None, "max_pool2d", "input")
    win = _windows(tensor.shape, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    indices = win.flat_indices(_max_offsets(tensor.data, win)[1])
    return _gather(tensor, indices), indices
