"""im2col and col2im: the copy and the scatter-add around each convolution GEMM.

Layout. ``im2col`` turns a padded input ``xp`` (N, C, Hp, Wp) into a matrix with one
row per (c, i, j) kernel tap and one column per (n, u, v) output pixel:
(C*kh*kw, N*H'*W'). Row-major weights (O, C*kh*kw) then multiply each image's
(C*kh*kw, H'*W') columns from the left, and each (O, H'*W') product is that image's
slice of the NCHW output: no transpose. The copy reads rows of W' contiguous pixels.
conv2d builds it a block of images at a time (see :mod:`.conv`).
The conv's big buffers come from a small pool (:func:`reusable`), so a training loop
does not pay a page fault per 4 KiB of each fresh buffer on every step.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
from numpy.lib.stride_tricks import as_strided

Pair = tuple[int, int]
_pool: dict[tuple, list[np.ndarray]] = {}
_pool_lock = threading.Lock()
POOL_PER_KEY = 4  # buffers kept per (role, shape, dtype): e.g. several layers of one shape


def _free_refs() -> int:
    """The reference count that :func:`reusable`'s loop sees for a buffer nobody else holds."""
    for buf in [np.empty(0)]:
        return sys.getrefcount(buf)
    raise AssertionError  # unreachable


def _held_refs() -> int:
    """The same count for a buffer that one more name holds (a user's tensor, say)."""
    bufs = [np.empty(0)]
    held = bufs[0]  # noqa: F841 - the extra reference being measured
    for buf in bufs:
        return sys.getrefcount(buf)
    raise AssertionError  # unreachable


_FREE_REFS = _free_refs()  # measured, not assumed: CPython versions count borrowed references differently
# Pool only where reference counts tell a held buffer from a free one; elsewhere every call allocates.
POOLING = hasattr(sys, "getrefcount") and _held_refs() > _FREE_REFS


def reusable(role: str, shape: tuple, dtype: np.dtype, zeros_kept: bool = False) -> np.ndarray:
    """An array like ``np.empty(shape, dtype)``, reusing one that nobody holds any more.

    Allocating a fresh multi-MiB array costs a page fault per 4 KiB on first touch (the
    allocator hands big blocks back to the OS when they are freed): on the project's KVM
    machine that was most of the time of a small conv. The pool keeps the last few arrays of
    each (role, shape, dtype) and hands one out again only when its reference count shows
    that no tensor, saved graph or view holds it any more (a view keeps its base alive).
    With ``zeros_kept`` a new array starts as zeros and a reused one is handed out as it is:
    for a role whose users all write the same region (the inside of a padded grid, say),
    the rest stays zero from one use to the next and is never filled again.
    """
    if not POOLING:
        return np.zeros(shape, dtype) if zeros_kept else np.empty(shape, dtype)
    key = (role, shape, np.dtype(dtype))
    with _pool_lock:
        bufs = _pool.setdefault(key, [])
        for buf in bufs:
            if sys.getrefcount(buf) <= _FREE_REFS:
                break
        else:
            buf = np.zeros(shape, dtype) if zeros_kept else np.empty(shape, dtype)
            if len(bufs) >= POOL_PER_KEY:
                bufs.pop(0)
            bufs.append(buf)
    return buf


def out_size(padded: int, kernel: int, stride: int, dilation: int) -> int:
    """Output length along one axis of a valid correlation of an already padded input."""
    return (padded - dilation * (kernel - 1) - 1) // stride + 1


def windows(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """A read-only strided view (C, kh, kw, N, H', W') of the patches of xp (N, C, Hp, Wp)."""
    n, c, hp, wp = xp.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    shape = (c, kh, kw, n, out_size(hp, kh, sh, dh), out_size(wp, kw, sw, dw))
    sn, sc, sy, sx = xp.strides
    strides = (sc, sy * dh, sx * dw, sn, sy * sh, sx * sw)
    if xp.flags.c_contiguous:  # the ndarray constructor costs a microsecond, as_strided ten
        view = np.ndarray(shape, xp.dtype, xp, 0, strides)
        view.flags.writeable = False
        return view
    return as_strided(xp, shape, strides, writeable=False)


def release_buffers() -> None:
    """Drop the pool of :func:`reusable` buffers (arrays still in use stay alive with their holders)."""
    with _pool_lock:
        _pool.clear()


def row_padded(role: str, n: int, rows: int, cols: int, dtype: np.dtype, zeros_kept: bool = False) -> np.ndarray:
    """n uninitialised (rows, cols) matrices, with a few spare cache lines per row where the row is a multiple of 4 KiB.

    A row stride that is a multiple of 4 KiB (1024 float32 or 512 float64 elements, e.g. a
    32 x 32 plane) maps all rows of a GEMM panel onto the same cache sets, and the GEMM then runs
    up to 4x slower; 3 spare cache lines per row break that alignment. Other rows are left
    unpadded, so each of the n matrices is contiguous. ``zeros_kept`` as for :func:`reusable`.
    """
    spare = 192 // np.dtype(dtype).itemsize if (cols * np.dtype(dtype).itemsize) % 4096 == 0 else 0
    return reusable(role, (n, rows, cols + spare), dtype, zeros_kept)[:, :, :cols]


def im2col(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """Patches of a padded (N, C, Hp, Wp) input as a (C*kh*kw, N*H'*W') matrix (a copy)."""
    view = windows(xp, kernel, stride, dilation)
    c, kh, kw, n, ho, wo = view.shape
    return view.reshape(c * kh * kw, n * ho * wo)


def col2im(dcols: np.ndarray, xp_shape: tuple, kernel: Pair, stride: Pair, dilation: Pair,
           out: np.ndarray | None = None) -> np.ndarray:
    """Scatter-add (C*kh*kw, N*H'*W') or (N, C*kh*kw, H'*W') patch gradients back onto the padded (N, C, Hp, Wp) grid.

    The adjoint of :func:`im2col`: one strided slab add per kernel tap (i, j), never a loop over
    pixels. With stride s > 1 each slab touches only every s-th row and column, so the zeros
    that the literal algorithm inserts are never multiplied. Adds into ``out`` when given.
    """
    n, c, hp, wp = xp_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho, wo = out_size(hp, kh, sh, dh), out_size(wp, kw, sw, dw)
    dxp = np.zeros(xp_shape, dtype=dcols.dtype) if out is None else out
    if dcols.ndim == 3:  # (N, C*kh*kw, H'*W'): one matrix per image, added in dxp's own order
        taps, target = dcols.reshape(n, c, kh, kw, ho, wo).transpose(0, 1, 4, 5, 2, 3), dxp
    else:  # (C*kh*kw, N*H'*W'), added channel by channel
        taps, target = dcols.reshape(c, kh, kw, n, ho, wo).transpose(0, 3, 4, 5, 1, 2), dxp.transpose(1, 0, 2, 3)
    for i in range(kh):
        rows = slice(i * dh, i * dh + (ho - 1) * sh + 1, sh)
        for j in range(kw):
            target[:, :, rows, j * dw : j * dw + (wo - 1) * sw + 1 : sw] += taps[..., i, j]
    return dxp


def phase_shape(xp_hw: Pair, stride: Pair) -> Pair:
    """(Hq, Wq): the grid of one stride phase of a padded (Hp, Wp) input, ceil(Hp/sh) x ceil(Wp/sw)."""
    return -(-xp_hw[0] // stride[0]), -(-xp_hw[1] // stride[1])


def widen(g: np.ndarray, out_hw: Pair, out: np.ndarray, zero_border: bool = True) -> np.ndarray:
    """Copy (N, O, H'*W') errors into the top-left of ``out`` (N, O, Hq, Wq), zeros elsewhere; as (N, O, Hq*Wq).

    ``zero_border=False`` skips zeroing the rest, for an ``out`` whose border is known to be zero.
    """
    ho, wo = out_hw
    if zero_border:
        out[:, :, ho:] = 0
        out[:, :, :ho, wo:] = 0
    out[:, :, :ho, :wo] = g.reshape(out.shape[:2] + (ho, wo))
    return out.reshape(out.shape[0], out.shape[1], -1)


def col2im_wide(dcols: np.ndarray, dxp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair,
                phases: np.ndarray | None = None) -> np.ndarray:
    """:func:`col2im` for patch gradients (N, kh*kw*C, Hq*Wq) (tap-major rows) computed from :func:`widen`'s errors.

    The input grid splits into its stride phases, each Hq x Wq (:func:`phase_shape`; for
    stride 1 the grid itself), and tap (i, j) lands in one phase at a fixed offset. Each
    tap's (C, Hq*Wq) patch gradients are laid out like that phase's (C, Hq*Wq) planes, so
    the whole tap is one add of a long contiguous run per image, shifted by the offset:
    what spills past a row or plane is one of the zeros that :func:`widen` put around the
    errors. The phases (``phases``, (N', sh, sw, C, Hq, Wq) scratch with N' >= N; ``dxp`` itself
    for stride 1) are then copied into ``dxp`` (N, C, Hp, Wp, C-contiguous), which they overwrite.
    """
    n, c, hp, wp = dxp.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    hq, wq = phase_shape((hp, wp), stride)
    size, phases = c * hq * wq, None if phases is None else phases[:n]
    target = dxp.reshape(n, 1, 1, size) if (sh, sw) == (1, 1) else phases.reshape(n, sh, sw, size)
    taps, started = dcols.reshape(n, kh * kw, size), set()
    for i in range(kh):
        r, a = divmod(i * dh, sh)
        for j in range(kw):
            q, b = divmod(j * dw, sw)
            start, tap = r * wq + q, taps[:, i * kw + j]
            if (a, b) not in started:
                started.add((a, b))
                if start == 0:
                    target[:, a, b] = tap
                    continue
                target[:, a, b] = 0
            np.add(target[:, a, b, start:], tap[:, : size - start], out=target[:, a, b, start:])
    for a in range(sh if phases is not None and (sh, sw) != (1, 1) else 0):
        for b in range(sw):
            if (a, b) not in started:
                dxp[:, :, a::sh, b::sw] = 0
                continue
            rows, cols = len(range(a, hp, sh)), len(range(b, wp, sw))
            dxp[:, :, a::sh, b::sw] = phases[:, a, b, :, :rows, :cols]
    return dxp
