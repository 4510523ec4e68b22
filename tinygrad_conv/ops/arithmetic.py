"""Arithmetic: add, sub, mul, div, neg, pow, exp and log, with Python's operators on Tensors.

Binary ops follow numpy broadcasting. Their vjp rules return gradients of the broadcast
shape, and the engine sums them back to each input's shape (``reduce_to_shape``).

Unary math (abs, sqrt, rsqrt, square, reciprocal, sin, cos) and the elementwise selections
(maximum, minimum, clamp / clip, where) are in ``ops/elementwise.py``.
"""

from __future__ import annotations

import numpy as np

from ..registry import Sample, register_op
from ._samples import binary_samples, positive_samples, real_samples


def check_broadcast(op_name: str, a: np.ndarray, b: np.ndarray) -> None:
    """Raise ValueError naming the op and both shapes when they do not broadcast."""
    if a.shape != b.shape:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"{op_name}(): shapes {a.shape} and {b.shape} do not broadcast together") from None


# --- add, sub, mul, div ------------------------------------------------------------
def _add_forward(a, b):
    check_broadcast("add", a, b)
    return a + b


def _add_vjp(g, saved, needs_grad):
    return g, g


def _sub_forward(a, b):
    check_broadcast("sub", a, b)
    return a - b


def _sub_vjp(g, saved, needs_grad):
    return g, (-g if needs_grad[1] else None)


def _mul_forward(a, b):
    check_broadcast("mul", a, b)
    return a * b, (a, b)


def _mul_vjp(g, saved, needs_grad):
    a, b = saved
    return (g * b if needs_grad[0] else None), (g * a if needs_grad[1] else None)


def _div_forward(a, b):
    check_broadcast("div", a, b)
    return a / b, (a, b)


def _div_vjp(g, saved, needs_grad):
    a, b = saved
    ga = g / b
    gb = None
    if needs_grad[1]:  # -g * a / b**2, in place on one fresh array
        gb = np.asarray(ga * a)
        np.divide(gb, b, out=gb)
        np.negative(gb, out=gb)
    return (ga if needs_grad[0] else None), gb


def _div_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((a, np.where(np.abs(b) < 0.3, 0.5 + np.abs(b), b))) for a, b in (s.inputs for s in binary_samples(rng))]


add = register_op("add", _add_forward, _add_vjp, inputs=("input", "other"), samples=binary_samples,
                  method=("add", "__add__"), reflected=("__radd__",), doc="``input + other``, broadcasting.")
sub = register_op("sub", _sub_forward, _sub_vjp, inputs=("input", "other"), samples=binary_samples,
                  method=("sub", "__sub__"), reflected=("__rsub__",), doc="``input - other``, broadcasting.")
mul = register_op("mul", _mul_forward, _mul_vjp, inputs=("input", "other"), samples=binary_samples,
                  method=("mul", "__mul__"), reflected=("__rmul__",), doc="``input * other``, broadcasting.")
div = register_op("div", _div_forward, _div_vjp, inputs=("input", "other"), samples=_div_samples,
                  method=("div", "__truediv__"), reflected=("__rtruediv__",), doc="``input / other``, broadcasting.")


# --- neg ---------------------------------------------------------------------------
def _neg_forward(x):
    return -x


def _neg_vjp(g, saved, needs_grad):
    return (-g,)


def _neg_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.standard_normal((3, 5)),)), Sample((np.array(1.5),))]


neg = register_op("neg", _neg_forward, _neg_vjp, inputs=("input",), samples=_neg_samples,
                  method=("neg", "__neg__"), doc="``-input``.")


# --- pow -----------------------------------------------------------------------------
def _pow_forward(x, y):
    check_broadcast("pow", x, y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # 0 ** -1 = inf, (-8) ** (1/3) = nan: silent
        out = x * x if y.ndim == 0 and y == 2 else np.power(x, y)  # numpy's power has no fast path for 2
    return out, (x, y, out)


def _pow_vjp(g, saved, needs_grad):
    x, y, out = saved
    gx = gy = None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if needs_grad[0]:  # y * x**(y-1), taken as 0 where y == 0 (as PyTorch does, even at x == 0)
            if y.ndim == 0:  # a number: one branch for the whole array
                gx = np.zeros_like(g) if y == 0 else g * (x * y if y == 2 else y * np.power(x, y - 1))
            else:
                gx = np.where(y == 0, 0, g * y * np.power(x, y - 1)).astype(g.dtype, copy=False)
        if needs_grad[1]:  # x**y * log(x), taken as 0 where x == 0 and y >= 0; NaN for a negative base
            gy = np.where((x == 0) & (y >= 0), 0, g * out * np.log(x)).astype(g.dtype, copy=False)
    return gx, gy


def _pow_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((3, 4))
    positive = np.abs(x) + 0.5
    return [  # a negative base with a constant whole exponent; a positive base where the exponent gets a gradient
        Sample((x, 2.0)),
        Sample((x, 3)),
        Sample((positive, np.array(-1.5))),
        Sample((positive, rng.standard_normal((3, 1)))),
        Sample((np.array(2.0), rng.standard_normal((2, 3)))),
    ]


pow = register_op(  # noqa: A001 - PyTorch's name
    "pow", _pow_forward, _pow_vjp, inputs=("input", "exponent"), samples=_pow_samples,
    method=("pow", "__pow__"), reflected=("__rpow__",),
    doc="``input ** exponent``, either side a Tensor or a number, broadcasting.\n\n"
        "A negative base gives real results for whole-number exponents and NaN otherwise, as in PyTorch.",
)


# --- exp, log ------------------------------------------------------------------------
def _exp_forward(x):
    with np.errstate(over="ignore"):  # exp(1000) = inf, silently as PyTorch
        out = np.exp(x)
    return out, out


def _exp_vjp(g, out, needs_grad):
    return (g * out,)


def _log_forward(x):
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, log(-1) = nan, silently as PyTorch
        return np.log(x), x


def _log_vjp(g, x, needs_grad):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (g / x,)


exp = register_op("exp", _exp_forward, _exp_vjp, inputs=("input",), samples=real_samples, doc="``e ** input`` elementwise.")
log = register_op("log", _log_forward, _log_vjp, inputs=("input",), samples=positive_samples,
                  doc="The natural logarithm, elementwise.")
