"""Grouped and depthwise conv2d, all groups at once: batched GEMMs, or shifted multiply-adds.

With G groups of Cg = C/G input and Og = O/G output channels, output channel g*Og + m reads
input channels g*Cg .. g*Cg + Cg-1 only. Two forms, each a fixed number of numpy calls
whatever G is (never one call per group):

- GEMM form: the patches of a block of images, copied once as (images, G, Cg*kh*kw, H'*W')
  (the rows of one group are contiguous in im2col's (c, i, j) order), times the weights
  (G, Og, Cg*kh*kw) in ONE ``np.matmul`` broadcast over images and groups: (images, G, Og,
  H'*W') is already the NCHW output. Backward: dw = sum over images of g @ patches^T, the
  patch gradients w^T @ g, and ``col2im``'s kh*kw strided adds back onto the padded grid.
- direct form, for Cg == 1 (depthwise, channel multiplier Og): kh*kw multiply-adds of a
  shifted strided view of the padded input by one weight per channel, on a block of images.
  Backward: the input gradient is kh*kw*Og shifted multiply-adds of the error, the kernel
  gradient kh*kw contractions of the error with the same shifted views.

``Tuning.direct_max_multiplier`` picks the form. Both process a few images at a time
(``Tuning.chunk`` elements of patches or output), split across threads for a large conv,
and save only the padded input: the backward copies the patches again, as blocked.py does.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .buffers import get_buffer
from .geometry import Geometry
from .im2col import col2im, crop, windows
from .settings import Tuning
from .threads import split_images

Saved = tuple  # (form, padded input or None, weight)


def _run(work, geom: Geometry, tune: Tuning) -> list:
    """Run ``work(lo, hi)`` over the batch: split across threads for a large conv, else in one piece."""
    return split_images(work, geom.n) if geom.gemm_flops >= tune.split_min_flops else [work(0, geom.n)]


def _sizes(geom: Geometry) -> tuple[int, int, int, int]:
    """(G, Cg, Og, H'*W')."""
    gr = geom.groups
    return gr, geom.c // gr, geom.o // gr, geom.out_hw[0] * geom.out_hw[1]


def _step(geom: Geometry, tune: Tuning, direct: bool) -> int:
    """Images per block: ``tune.chunk`` elements of patches (GEMM form) or of output (direct form)."""
    per_image = geom.o if direct else geom.c * geom.kernel[0] * geom.kernel[1]
    return max(1, tune.chunk // max(1, per_image * geom.out_hw[0] * geom.out_hw[1]))


def uses_direct(geom: Geometry, tune: Tuning) -> bool:
    """Whether this grouped conv runs in the direct form (one input channel per group, few outputs per group)."""
    gr, cg, og, _ = _sizes(geom)
    return cg == 1 and og <= tune.direct_max_multiplier


def _taps(geom: Geometry):
    """(i, j, rows, cols): each kernel tap and the slices of the padded grid that its outputs read."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = geom.kernel, geom.stride, geom.dilation, geom.out_hw
    for i in range(kh):
        rows = slice(i * dh, i * dh + (ho - 1) * sh + 1, sh)
        for j in range(kw):
            yield i, j, rows, slice(j * dw, j * dw + (wo - 1) * sw + 1, sw)


def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geom: Geometry, tune: Tuning
            ) -> tuple[np.ndarray, Saved]:
    """y = conv2d(x, w, groups=geom.groups) + b; returns (y, saved for ``backward``)."""
    gr, cg, og, per_image = _sizes(geom)
    direct = uses_direct(geom, tune)
    xp = get_buffer(("gxp", geom.pads), geom.xp_shape, x.dtype, zeros_kept=True)  # its border stays zero
    crop(xp, geom.pads)[...] = x.reshape(geom.x4_shape)
    dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
    y = np.empty((geom.n, gr, og, per_image), dtype)
    work = _forward_direct if direct else _forward_gemm
    _run(partial(work, xp=xp, w=w, y=y, geom=geom, step=_step(geom, tune, direct)), geom, tune)
    if b is not None:
        y += b.reshape(gr, og, 1)
    return y.reshape(geom.y_shape), (direct, xp, w)


def _forward_gemm(lo: int, hi: int, *, xp, w, y, geom: Geometry, step: int) -> None:
    gr, cg, og, per_image = _sizes(geom)
    w3 = w.reshape(gr, og, -1)
    view = windows(xp, geom.kernel, geom.stride, geom.dilation).transpose(3, 0, 1, 2, 4, 5)  # (N, C, kh, kw, H', W')
    patches = get_buffer(("gpatch", lo), (min(step, hi - lo), gr, w3.shape[2], per_image), xp.dtype)
    for n0 in range(lo, hi, step):
        n1 = min(hi, n0 + step)
        block = patches[: n1 - n0]
        block.reshape(view[n0:n1].shape)[...] = view[n0:n1]
        np.matmul(w3, block, out=y[n0:n1])


def _forward_direct(lo: int, hi: int, *, xp, w, y, geom: Geometry, step: int) -> None:
    gr, _, og, _ = _sizes(geom)
    w_taps = w.reshape(gr, og, *geom.kernel)[..., None, None]  # (G, Og, kh, kw, 1, 1)
    y5 = y.reshape(geom.n, gr, og, *geom.out_hw)
    scratch = np.empty((min(step, hi - lo), gr, og, *geom.out_hw), y.dtype)
    for n0 in range(lo, hi, step):
        n1 = min(hi, n0 + step)
        xs, out, tmp = xp[n0:n1, :, None], y5[n0:n1], scratch[: n1 - n0]
        for i, j, rows, cols in _taps(geom):
            if i == 0 and j == 0:
                np.multiply(xs[..., rows, cols], w_taps[:, :, i, j], out=out)
            else:
                np.multiply(xs[..., rows, cols], w_taps[:, :, i, j], out=tmp)
                out += tmp


def backward(g: np.ndarray, saved: Saved, geom: Geometry, needs_grad: tuple, tune: Tuning
             ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dx, dw, db), None where ``needs_grad`` is False; ``saved`` may hold no input when dw is not needed."""
    direct, xp, w = saved
    gr, cg, og, per_image = _sizes(geom)
    g4 = g.reshape(geom.n, gr, og, per_image)
    dtype = np.result_type(w, g)
    dxp = np.zeros(geom.xp_shape, dtype) if needs_grad[0] else None
    dw = None
    if needs_grad[0] or needs_grad[1]:
        work = partial(_backward_direct if direct else _backward_gemm, g4=g4, xp=xp, w=w, dxp=dxp,
                       want_dw=needs_grad[1], geom=geom, step=_step(geom, tune, direct))
        parts = [p for p in _run(work, geom, tune) if p is not None]
        if needs_grad[1]:
            dw = sum(parts[1:], parts[0]) if parts else np.zeros(geom.w4_shape, dtype)
    dx = crop(dxp, geom.pads).reshape(geom.x_shape) if needs_grad[0] else None
    db = g4.sum(axis=(0, 3)).reshape(geom.b_shape) if needs_grad[2] else None
    return dx, None if dw is None else dw.reshape(geom.w_shape), db


def _backward_gemm(lo: int, hi: int, *, g4, xp, w, dxp, want_dw: bool, geom: Geometry, step: int
                   ) -> np.ndarray | None:
    """Images lo..hi-1: their share of dw (G, Og, Cg*kh*kw), and their rows of dxp."""
    gr, cg, og, per_image = _sizes(geom)
    w3 = w.reshape(gr, og, -1)
    part = None
    if want_dw:
        view = windows(xp, geom.kernel, geom.stride, geom.dilation).transpose(3, 0, 1, 2, 4, 5)
        patches = get_buffer(("gpatch", lo), (min(step, hi - lo), gr, w3.shape[2], per_image), xp.dtype)
    for n0 in range(lo, hi, step):
        n1 = min(hi, n0 + step)
        g_block = g4[n0:n1]
        if want_dw:
            block = patches[: n1 - n0]
            block.reshape(view[n0:n1].shape)[...] = view[n0:n1]
            products = np.matmul(g_block, block.transpose(0, 1, 3, 2)).sum(0)  # (G, Og, Cg*kh*kw)
            part = products if part is None else np.add(part, products, out=part)
        if dxp is not None:
            dcols = np.matmul(w3.transpose(0, 2, 1), g_block)  # (images, G, Cg*kh*kw, H'*W')
            col2im(dcols.reshape(n1 - n0, -1, per_image), (n1 - n0,) + geom.xp_shape[1:], geom.kernel, geom.stride,
                   geom.dilation, out=dxp[n0:n1])
    return part


def _backward_direct(lo: int, hi: int, *, g4, xp, w, dxp, want_dw: bool, geom: Geometry, step: int
                     ) -> np.ndarray | None:
    """``_backward_gemm`` for Cg == 1 by shifted multiply-adds: dw as (G, Og, kh, kw)."""
    gr, _, og, _ = _sizes(geom)
    w_taps = w.reshape(gr, og, *geom.kernel)[..., None, None]
    g5 = g4.reshape(geom.n, gr, og, *geom.out_hw)
    part = np.zeros((gr, og, *geom.kernel), np.result_type(w, g4)) if want_dw else None
    scratch = np.empty((min(step, hi - lo), gr, *geom.out_hw), dxp.dtype) if dxp is not None else None
    for n0 in range(lo, hi, step):
        n1 = min(hi, n0 + step)
        g_block = g5[n0:n1]
        for i, j, rows, cols in _taps(geom):
            if want_dw:
                part[:, :, i, j] += np.einsum("ngmuv,nguv->gm", g_block, xp[n0:n1, :, rows, cols])
            if dxp is not None:
                target, tmp = dxp[n0:n1, :, rows, cols], scratch[: n1 - n0]
                for m in range(og):
                    np.multiply(g_block[:, :, m], w_taps[:, m, i, j], out=tmp)
                    target += tmp
    return part
