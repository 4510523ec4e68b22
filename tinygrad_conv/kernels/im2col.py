"""im2col and col2im: the copy and the scatter-add around each convolution GEMM.

Layout. ``im2col`` turns a padded input ``xp`` (N, C, Hp, Wp) into a matrix with one row per
(c, i, j) kernel tap and one column per (n, u, v) output pixel: (C*kh*kw, N*H'*W'). Row-major
weights (O, C*kh*kw) then multiply each image's (C*kh*kw, H'*W') columns from the left, and
each (O, H'*W') product is that image's slice of the NCHW output: no transpose. ``col2im``
is its adjoint: it adds each patch gradient back where the patch came from.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .geometry import Pair, out_size, phase_shape


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


def im2col(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """Patches of a padded (N, C, Hp, Wp) input as a (C*kh*kw, N*H'*W') matrix (a copy)."""
    view = windows(xp, kernel, stride, dilation)
    c, kh, kw, n, ho, wo = view.shape
    return view.reshape(c * kh * kw, n * ho * wo)


def correlate(xp: np.ndarray, w: np.ndarray, stride: Pair = (1, 1), dilation: Pair = (1, 1)) -> np.ndarray:
    """Valid cross-correlation of (N, C, Hp, Wp) with (O, C, kh, kw) as (N, O, H', W'): one im2col, one GEMM."""
    n, o = xp.shape[0], w.shape[0]
    ho, wo = (out_size(xp.shape[2 + a], w.shape[2 + a], stride[a], dilation[a]) for a in (0, 1))
    out = w.reshape(o, -1) @ im2col(xp, w.shape[2:], stride, dilation)
    return out.reshape(o, n, -1).transpose(1, 0, 2).reshape(n, o, ho, wo)


def pad(x: np.ndarray, pads: tuple[int, int, int, int]) -> np.ndarray:
    """Zero-pad the last two axes by (top, bottom, left, right); no copy when all are 0."""
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    out = np.zeros(x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right), dtype=x.dtype)
    crop(out, pads)[...] = x
    return out


def crop(xp: np.ndarray, pads: tuple[int, int, int, int]) -> np.ndarray:
    """The inside of a padded grid: a view without (top, bottom, left, right) rows and columns."""
    top, bottom, left, right = pads
    return xp[..., top : xp.shape[-2] - bottom, left : xp.shape[-1] - right]


def col2im(dcols: np.ndarray, xp_shape: tuple, kernel: Pair, stride: Pair, dilation: Pair,
           out: np.ndarray | None = None) -> np.ndarray:
    """Scatter-add (C*kh*kw, N*H'*W') or (N, C*kh*kw, H'*W') patch gradients onto the padded (N, C, Hp, Wp) grid.

    The adjoint of ``im2col``: one strided slab add per kernel tap (i, j), never a loop over
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
    """``col2im`` for patch gradients (N, kh*kw*C, Hq*Wq) (tap-major rows) computed from ``widen``'s errors.

    The input grid splits into its stride phases, each Hq x Wq (``phase_shape``; for stride 1
    the grid itself), and tap (i, j) lands in one phase at a fixed offset. Each tap's
    (C, Hq*Wq) patch gradients are laid out like that phase's (C, Hq*Wq) planes, so the whole
    tap is one add of a long contiguous run per image, shifted by the offset: what spills past
    a row or plane is one of the zeros that ``widen`` put around the errors. The phases
    (``phases``, (N', sh, sw, C, Hq, Wq) scratch with N' >= N; ``dxp`` itself for stride 1)
    are then copied into ``dxp`` (N, C, Hp, Wp, C-contiguous), which they overwrite.
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
