"""Matrix products: matmul, with numpy's and PyTorch's rules for 1-D and batched operands."""

from __future__ import annotations

import numpy as np

from ..kernels.products import matmul as _product
from ..registry import Sample, register_op


# --- matmul --------------------------------------------------------------------
def _matmul_forward(a, b):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments must be at least 1-D, got a {a.shape} and b {b.shape}")
    inner_a, inner_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise ValueError(f"matmul: a {a.shape} has {inner_a} columns but b {b.shape} has {inner_b} rows")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: the batch dimensions of a {a.shape} and b {b.shape} do not broadcast") from None
    return _product(a, b), (a, b)


def _matmul_vjp(g, saved, needs_grad):
    a, b = saved
    # Treat a 1-D a as (1, n) and a 1-D b as (n, 1), restoring the axes matmul dropped from g.
    if b.ndim == 1:
        g = g[..., None]
    if a.ndim == 1:
        g = g[..., None, :]
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    ga = gb = None
    if needs_grad[0]:
        ga = _product(g, np.swapaxes(b2, -1, -2))
        ga = ga[..., 0, :] if a.ndim == 1 else ga
    if needs_grad[1]:
        gb = _product(np.swapaxes(a2, -1, -2), g)
        gb = gb[..., 0] if b.ndim == 1 else gb
    return ga, gb


def _matmul_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [
        Sample((r((3, 4)), r((4, 2)))),
        Sample((r((4,)), r((4, 3)))),
        Sample((r((3, 4)), r((4,)))),
        Sample((r((4,)), r((4,)))),
        Sample((r((2, 3, 4)), r((4, 2)))),
        Sample((r((2, 1, 3, 4)), r((3, 4, 2)))),
        Sample((r((3,)), r((2, 3, 2)))),
    ]


matmul = register_op(
    "matmul", _matmul_forward, _matmul_vjp, inputs=("input", "other"), samples=_matmul_samples,
    method=("matmul", "__matmul__"), reflected=("__rmatmul__",),
    doc="a @ b with numpy/PyTorch semantics: 1-D operands are vectors, leading dimensions broadcast.",
)
