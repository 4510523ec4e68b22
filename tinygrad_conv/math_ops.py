"""Arithmetic ops a model needs beyond the core's: matmul, div, pow, exp, log, tanh.

Each forward sits beside its vjp rule. Broadcast gradients are summed back to the
inputs' shapes by the engine, as for the core's ``add`` and ``mul``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._checks import real
from .ops import _binary_samples, check_broadcast
from .registry import Sample, register_op
from .tensor import Tensor


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
    return np.matmul(a, b), (a, b)


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
        ga = g @ np.swapaxes(b2, -1, -2)
        ga = ga[..., 0, :] if a.ndim == 1 else ga
    if needs_grad[1]:
        gb = np.swapaxes(a2, -1, -2) @ g
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
    "matmul", _matmul_forward, _matmul_vjp, inputs=("a", "b"), samples=_matmul_samples,
    doc="a @ b with numpy/PyTorch semantics: 1-D operands are vectors, leading dimensions broadcast.",
)


# --- div -------------------------------------------------------------------------
def _div_forward(a, b):
    check_broadcast("div", a, b)
    return a / b, (a, b)


def _div_vjp(g, saved, needs_grad):
    a, b = saved
    ga = g / b
    return (ga if needs_grad[0] else None), (-ga * a / b if needs_grad[1] else None)


def _div_samples(rng: np.random.Generator) -> list[Sample]:
    samples = _binary_samples(rng)
    away_from_zero = [(a, np.where(np.abs(b) < 0.3, 0.5 + np.abs(b), b)) for a, b in (s.inputs for s in samples)]
    return [Sample(pair) for pair in away_from_zero]


div = register_op("div", _div_forward, _div_vjp, inputs=("a", "b"), samples=_div_samples, doc="a / b, broadcasting.")


# --- pow (scalar exponent) -----------------------------------------------------
def _pow_forward(x, *, exponent):
    real(exponent, "exponent", where="pow", finite=False, hint="; for a tensor exponent write exp(log(x) * y)")
    return x**exponent, x


def _pow_vjp(g, x, needs_grad, *, exponent):
    if exponent == 0:
        return (np.zeros_like(g),)
    return (g * exponent * x ** (exponent - 1),)


def _pow_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((3, 4))
    positive = np.abs(x) + 0.5
    return [
        Sample((x,), {"exponent": 2}),
        Sample((x,), {"exponent": 3}),
        Sample((positive,), {"exponent": 0.5}),
        Sample((positive,), {"exponent": -1.5}),
        Sample((x,), {"exponent": 0}),
    ]


_pow = register_op(
    "pow", _pow_forward, _pow_vjp, defaults={"exponent": 1.0}, samples=_pow_samples, method=False,
    doc="x ** exponent for a scalar exponent.",
)


def pow(x: Any, exponent: float) -> Tensor:
    """``x ** exponent`` elementwise, for a scalar ``exponent``.

    Raises:
        TypeError: if ``exponent`` is not a Python or numpy scalar (a Tensor, say).
    """
    return _pow(x, exponent=exponent)


# --- exp, log, tanh -------------------------------------------------------------
def _exp_forward(x):
    out = np.exp(x)
    return out, out


def _exp_vjp(g, out, needs_grad):
    return (g * out,)


def _log_forward(x):
    return np.log(x), x


def _log_vjp(g, x, needs_grad):
    return (g / x,)


def _tanh_forward(x):
    out = np.tanh(x)
    return out, out


def _tanh_vjp(g, out, needs_grad):
    return (g * (1.0 - out * out),)


def _real_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.standard_normal((3, 4)),)), Sample((np.array(0.7),))]


def _positive_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((np.abs(rng.standard_normal((3, 4))) + 0.2,)), Sample((np.array(2.5),))]


exp = register_op("exp", _exp_forward, _exp_vjp, samples=_real_samples, doc="e ** x elementwise.")
log = register_op("log", _log_forward, _log_vjp, samples=_positive_samples, doc="The natural logarithm, elementwise.")
tanh = register_op("tanh", _tanh_forward, _tanh_vjp, samples=_real_samples, doc="The hyperbolic tangent, elementwise.")


# --- operators -----------------------------------------------------------------
def _rpow(self: Tensor, base: Any) -> Tensor:
    if isinstance(base, (bool, np.bool_)) or not isinstance(base, (int, float, np.integer, np.floating)):
        return NotImplemented
    if base <= 0:
        raise ValueError(f"base ** tensor needs a base > 0, got base={base!r}")
    return exp(self * math.log(base))


Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = lambda self, other: div(other, self)
Tensor.__pow__ = pow
Tensor.__rpow__ = _rpow
Tensor.pow = pow
