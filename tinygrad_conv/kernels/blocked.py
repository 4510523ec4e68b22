"""The "fast" route: conv2d and its gradients a block of images at a time, split across threads.

Forward. A single image keeps its small im2col matrix (O, H'*W' is already its output's
layout) and saves it. A batch instead pads a few images at a time into a zero-bordered
buffer, copies their patches into a per-thread block that stays in cache (``Tuning.chunk``
im2col elements), and multiplies the weights into each image's columns straight into its
NCHW slice of the output. A bias is one more weight column times a row of ones in the block.
It saves only the padded input.

Backward, per block of images:

- kernel gradient: the same patches copied again (cheaper than reading a saved im2col matrix,
  C*kh*kw times the input, back from memory), times the error: ``cols_n @ g_n.T``, summed;
- input gradient: the patch gradients ``w.T @ g`` computed in ``widen``'s layout, in the
  block's memory when its dtype and row length allow, then ``col2im_wide`` adds each tap
  where its patch came from: the seed's correlation with the rotated kernel, without
  multiplying the inserted zeros. Tiny inputs (``Tuning.literal_dx_max``) run the literal
  insert-zeros/pad/rotate correlation instead: one im2col and one GEMM, fewer numpy calls;
- bias gradient: a sum over the error.

So the peak memory above the tensors is the padded input, its gradient and a few blocks per
thread. Scratch comes from the buffer pool under keys that name what fixes its contents.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .buffers import get_buffer, row_padded
from .geometry import Geometry
from .im2col import col2im_wide, correlate, crop, im2col, pad, widen, windows
from .settings import Tuning
from .threads import split_images

Saved = tuple  # (padded input or None, the one image's im2col matrix or None, weight)


def _run(work, geom: Geometry, tune: Tuning) -> list:
    """Run ``work(lo, hi)`` over the batch: split across threads for a large conv, else in one piece."""
    return split_images(work, geom.n) if geom.gemm_flops >= tune.split_min_flops else [work(0, geom.n)]


def _block(lo: int, count: int, geom: Geometry, dtype: np.dtype) -> np.ndarray:
    """The block of the thread whose images start at ``lo``: (count, C*kh*kw + 1, Hq*Wq).

    Room for ``count`` images' patches (and a row of ones for the bias) or their patch
    gradients, whose rows are a whole phase grid long for ``col2im_wide`` (Hq*Wq >= H'*W').
    Both write only a row's first ``geom.span`` columns, so the rest, zero when the block is
    made, stays zero: the key names the geometry that fixes the span.
    """
    key = ("block", lo, geom.out_hw, geom.phase_hw)
    return row_padded(key, count, geom.kernel_size + 1, geom.phase_size, dtype, zeros_kept=True)


def _step(geom: Geometry, tune: Tuning) -> int:
    return max(1, tune.chunk // (geom.kernel_size * geom.out_hw[0] * geom.out_hw[1]))


def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geom: Geometry, tune: Tuning
            ) -> tuple[np.ndarray, Saved]:
    """y = conv2d(x, w) + b on the blocked route; returns (y, saved for ``backward``)."""
    x4, w_mat = x.reshape(geom.x4_shape), w.reshape(geom.o, -1)
    if geom.n == 1:  # one image: (O, H'*W') is already the output's layout; keep its small im2col
        cols = im2col(pad(x4, geom.pads), geom.kernel, geom.stride, geom.dilation)
        y = w_mat @ cols
        return (y if b is None else y + b.reshape(-1, 1)).reshape(geom.y_shape), (None, cols[None], w)
    xp = get_buffer(("xp", geom.pads), geom.xp_shape, x.dtype, zeros_kept=True)  # its border stays zero
    dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
    y = get_buffer(("y",), (geom.n, geom.o, geom.out_hw[0] * geom.out_hw[1]), dtype)
    w_b = w_mat if b is None else np.concatenate((w_mat, b.reshape(-1, 1)), 1)
    _run(partial(_forward_images, x4=x4, xp=xp, y=y, w_b=w_b, geom=geom, step=_step(geom, tune)), geom, tune)
    return y.reshape(geom.y_shape), (xp, None, w)


def _forward_images(lo: int, hi: int, *, x4, xp, y, w_b, geom: Geometry, step: int) -> None:
    """Images lo..hi-1 of the forward: pad, copy patches into the block, one GEMM per image into y."""
    k, per_image = geom.kernel_size, geom.out_hw[0] * geom.out_hw[1]
    view = windows(xp, geom.kernel, geom.stride, geom.dilation).transpose(3, 0, 1, 2, 4, 5)  # (N, C, kh, kw, H', W')
    scratch = _block(lo, min(step, hi - lo), geom, xp.dtype)[:, : w_b.shape[1], :per_image]
    scratch[:, k:] = 1
    for n0 in range(lo, hi, step):
        n1 = min(hi, n0 + step)
        block = scratch[: n1 - n0]
        crop(xp[n0:n1], geom.pads)[...] = x4[n0:n1]
        block[:, :k].reshape(view[n0:n1].shape)[...] = view[n0:n1]
        np.matmul(w_b, block, out=y[n0:n1])


def backward(g: np.ndarray, saved: Saved, geom: Geometry, needs_grad: tuple, tune: Tuning
             ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dx, dw, db) on the blocked route, None where ``needs_grad`` is False."""
    xp, cols, w = saved
    n, o = geom.n, geom.o
    g3, dtype = g.reshape(n, o, -1), np.result_type(w, g)
    literal_dx = geom.literal_dx_size <= tune.literal_dx_max
    by_col2im = needs_grad[0] and not literal_dx
    dxp = get_buffer(("dxp",), geom.xp_shape, dtype) if by_col2im else None  # col2im_wide overwrites it
    dw = None
    if cols is not None and not by_col2im:  # one small image: dw is one GEMM on its saved im2col matrix
        dw = cols[0] @ g3[0].T if needs_grad[1] else None
    elif by_col2im or needs_grad[1]:
        k = geom.kernel_size
        w_taps = w.reshape(o, geom.c, -1).transpose(2, 1, 0).reshape(k, o)  # rows in (i, j, c) order
        view = None if cols is not None or not needs_grad[1] else windows(xp, geom.kernel, geom.stride,
                                                                          geom.dilation).transpose(3, 0, 1, 2, 4, 5)
        work = partial(_backward_images, g3=g3, xp=xp, cols=cols, view=view, w_taps=w_taps, dxp=dxp, dtype=dtype,
                       want_dw=needs_grad[1], geom=geom, step=_step(geom, tune))
        for part in _run(work, geom, tune):
            dw = part if dw is None else dw + part
    if needs_grad[0] and literal_dx:
        dxp = _literal_dxp(g3, w, geom)
    dx = crop(dxp, geom.pads).reshape(geom.x_shape) if needs_grad[0] else None
    db = g3.sum(axis=(0, 2)) if needs_grad[2] else None
    return dx, None if dw is None else dw.T.reshape(geom.w_shape), db


def _backward_images(lo: int, hi: int, *, g3, xp, cols, view, w_taps, dxp, dtype, want_dw: bool, geom: Geometry,
                     step: int) -> np.ndarray | None:
    """Images lo..hi-1 of the backward: their share of dw (transposed, (C*kh*kw, O)) and their dxp."""
    k, per_image, (hq, wq) = geom.kernel_size, geom.out_hw[0] * geom.out_hw[1], geom.phase_hw
    part, m, o = None, min(step, hi - lo), geom.o
    block = _block(lo, m, geom, dtype if xp is None else xp.dtype)  # the forward's, still in cache
    patches_scratch = block[:, :k, :per_image]  # the patches for dw, then in the same memory the patch gradients
    if dxp is not None:
        g_wide = get_buffer(("gw", lo, geom.out_hw), (m, o, hq, wq), dtype, zeros_kept=True)  # zero border
        if block.dtype == dtype and block.strides[1] == geom.phase_size * block.itemsize:
            dcols = block[:, :k]
        else:  # another dtype, or rows padded off 4 KiB: col2im_wide needs rows a phase grid apart
            dcols = get_buffer(("dc", lo, geom.out_hw, geom.phase_hw), (m, k, geom.phase_size), dtype, zeros_kept=True)
        phases = get_buffer(("ph", lo), (m, *geom.stride, geom.c, hq, wq), dtype) if geom.stride != (1, 1) else None
    for n0 in range(lo, hi, step):  # a few images at a time: blocks of g and dcols stay in cache
        n1 = min(hi, n0 + step)
        g_block = g3[n0:n1]  # (images, O, H'*W'): one GEMM per image, no transposed copy
        if want_dw:  # dw transposed, (C*kh*kw, O): OpenBLAS runs this orientation faster
            if cols is None:
                patches = patches_scratch[: n1 - n0]
                patches.reshape(view[n0:n1].shape)[...] = view[n0:n1]
            else:
                patches = cols[n0:n1]
            products = np.matmul(patches, g_block.transpose(0, 2, 1))  # (images, C*kh*kw, O)
            part = products.sum(0) if part is None else np.add(part, products.sum(0), out=part)
        if dxp is not None:  # patch gradients in the widened layout, then one contiguous add per tap
            errors = widen(g_block, geom.out_hw, g_wide[: n1 - n0], zero_border=False)
            dc = dcols[: n1 - n0]  # its columns past the span stay zero: nothing ever writes them
            np.matmul(w_taps, errors[:, :, : geom.span], out=dc[:, :, : geom.span])
            col2im_wide(dc, dxp[n0:n1], geom.kernel, geom.stride, geom.dilation, phases)
    return part


def _literal_dxp(g3: np.ndarray, w: np.ndarray, geom: Geometry) -> np.ndarray:
    """The padded input's gradient by the seed's algorithm: insert zeros and pad in one step, correlate with rotate180(w)."""
    (sh, sw), (dh, dw), (kh, kw) = geom.stride, geom.dilation, geom.kernel
    (ho, wo), (n, _, hp, wp) = geom.out_hw, geom.xp_shape
    z = np.zeros((n, geom.o, hp + dh * (kh - 1), wp + dw * (kw - 1)), dtype=g3.dtype)
    z[:, :, dh * (kh - 1) :: sh, dw * (kw - 1) :: sw][:, :, :ho, :wo] = g3.reshape(n, geom.o, ho, wo)
    w_rot = np.ascontiguousarray(w.reshape(geom.o, geom.c, kh, kw)[..., ::-1, ::-1].transpose(1, 0, 2, 3))
    return correlate(z, w_rot, dilation=geom.dilation)
