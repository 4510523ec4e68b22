"""The "im2col" route: the textbook GEMM formulation, whole matrices, no blocks, no threads.

Forward: ``cols = im2col(pad(x))`` (C*kh*kw, N*H'*W'), ``y = w @ cols + b``.
Backward: ``dw = g @ cols.T``, ``dx = crop(col2im(w.T @ g))``, ``db = sum(g)``.
It holds the whole im2col matrix from the forward to the backward: simple, and the
reference that the blocked route must match.
"""

from __future__ import annotations

import numpy as np

from .geometry import Geometry
from .im2col import col2im, crop, im2col, pad


def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geom: Geometry) -> tuple[np.ndarray, tuple]:
    """y = conv2d(x, w) + b; returns (y, saved for ``backward``)."""
    n, o = geom.n, geom.o
    cols = im2col(pad(x.reshape(geom.x4_shape), geom.pads), geom.kernel, geom.stride, geom.dilation)
    y = w.reshape(o, -1) @ cols  # (O, N*H'*W')
    if b is not None:
        y = y + b.reshape(-1, 1)
    y = y.reshape(o, n, -1).transpose(1, 0, 2)
    return y.reshape(geom.y_shape), (cols, w)


def backward(g: np.ndarray, saved: tuple, geom: Geometry, needs_grad: tuple
             ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dx, dw, db), None where ``needs_grad`` is False."""
    cols, w = saved
    n, o = geom.n, geom.o
    g_mat = g.reshape(n, o, -1).transpose(1, 0, 2).reshape(o, -1)  # (O, N*H'*W')
    dx = dw = db = None
    if needs_grad[0]:
        dxp = col2im(w.reshape(o, -1).T @ g_mat, geom.xp_shape, geom.kernel, geom.stride, geom.dilation)
        dx = crop(dxp, geom.pads).reshape(geom.x_shape)
    if needs_grad[1]:
        dw = (g_mat @ cols.T).reshape(geom.w_shape)
    if needs_grad[2]:
        db = g_mat.sum(axis=1)
    return dx, dw, db
