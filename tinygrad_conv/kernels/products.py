"""Matrix products on tinygrad_conv's own threads, with BLAS on one thread (see ``threads.py``).

``matmul(a, b)`` is ``np.matmul(a, b)``. A small product runs as it is (OpenBLAS runs a
GEMM of under 2^18 multiply-adds on one thread by itself); a larger one runs with BLAS
limited to one thread, so that BLAS's own workers never spin against the conv's split;
a product of ``Tuning.split_min_flops`` or more with two matrix operands is split across
the threads by rows of the result (by columns when it has fewer than 8 rows and more
columns than rows). A product with a 1-D operand is not split.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .settings import get_tuning
from .threads import blas_one_thread, split_images

BLAS_THREADED_MIN = 1 << 18
"""Multiply-adds from which OpenBLAS may run one GEMM on several threads (its SMP threshold)."""


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b)`` for arrays of at least 1 dimension whose shapes were already checked."""
    if a.ndim < 2 or b.ndim < 2:  # a matrix-vector product: as many multiply-adds as the larger operand
        if max(a.size, b.size) < BLAS_THREADED_MIN:
            return np.matmul(a, b)
        with blas_one_thread():
            return np.matmul(a, b)
    rows, inner, cols = a.shape[-2], a.shape[-1], b.shape[-1]
    size = rows * inner * cols
    if size < BLAS_THREADED_MIN and a.ndim == b.ndim == 2:  # the common small case, without the batch arithmetic
        return np.matmul(a, b)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    for extent in batch:
        size *= extent
    if size < BLAS_THREADED_MIN:
        return np.matmul(a, b)
    if 2 * size < get_tuning().split_min_flops:
        with blas_one_thread():
            return np.matmul(a, b)
    out = np.empty(batch + (rows, cols), dtype=np.result_type(a, b))
    if rows >= cols or rows >= 8:
        split_images(partial(_rows, a=a, b=b, out=out), rows)
    else:
        split_images(partial(_columns, a=a, b=b, out=out), cols)
    return out


def _rows(lo: int, hi: int, *, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    np.matmul(a[..., lo:hi, :], b, out=out[..., lo:hi, :])


def _columns(lo: int, hi: int, *, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    out[..., lo:hi] = np.matmul(a, b[..., lo:hi])
