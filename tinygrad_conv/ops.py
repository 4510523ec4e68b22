"""Elementwise and reduction ops: each forward beside its vjp rule, registered by name.

Binary ops follow numpy broadcasting; their vjp rules return gradients of the
broadcast shape and the engine sums them back to each input's shape.
"""

from __future__ import annotations

import numpy as np

from .registry import Sample, register_op
from .tensor import Tensor


def check_broadcast(op_name: str, a: np.ndarray, b: np.ndarray) -> None:
    """Raise ValueError naming the op and both shapes when they do not broadcast."""
    if a.shape != b.shape:
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(f"{op_name}(): shapes {a.shape} and {b.shape} do not broadcast together") from None


def _binary_samples(rng: np.random.Generator) -> list[Sample]:
    return [
        Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
        Sample((rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 1)))),
        Sample((rng.standard_normal(()), rng.standard_normal((2, 2)))),
    ]


def _unary_samples(rng: np.random.Generator) -> list[Sample]:
    # Kept away from relu's kink at 0, where a finite difference is not a derivative.
    x = rng.standard_normal((3, 5))
    return [Sample((np.where(np.abs(x) < 0.05, 0.3, x),)), Sample((np.array(1.5),))]


# --- add ---------------------------------------------------------------------
def _add_forward(a, b):
    check_broadcast("add", a, b)
    return a + b, None


def _add_vjp(g, saved, needs_grad):
    return g, g


add = register_op("add", _add_forward, _add_vjp, inputs=("a", "b"), samples=_binary_samples, doc="a + b, broadcasting.")


# --- sub ---------------------------------------------------------------------
def _sub_forward(a, b):
    check_broadcast("sub", a, b)
    return a - b, None


def _sub_vjp(g, saved, needs_grad):
    return g, -g


sub = register_op("sub", _sub_forward, _sub_vjp, inputs=("a", "b"), samples=_binary_samples, doc="a - b, broadcasting.")


# --- mul ---------------------------------------------------------------------
def _mul_forward(a, b):
    check_broadcast("mul", a, b)
    return a * b, (a, b)


def _mul_vjp(g, saved, needs_grad):
    a, b = saved
    return (g * b if needs_grad[0] else None), (g * a if needs_grad[1] else None)


mul = register_op("mul", _mul_forward, _mul_vjp, inputs=("a", "b"), samples=_binary_samples, doc="a * b, broadcasting.")


# --- neg ---------------------------------------------------------------------
def _neg_forward(x):
    return -x, None


def _neg_vjp(g, saved, needs_grad):
    return (-g,)


neg = register_op("neg", _neg_forward, _neg_vjp, samples=_unary_samples, doc="-x.")


# --- relu --------------------------------------------------------------------
def _relu_forward(x):
    positive = x > 0
    return x * positive, positive


def _relu_vjp(g, positive, needs_grad):
    return (g * positive,)


relu = register_op("relu", _relu_forward, _relu_vjp, samples=_unary_samples, doc="max(x, 0); its gradient at 0 is 0.")


# --- sigmoid -----------------------------------------------------------------
def _sigmoid_forward(x):
    # exp(-|x|) never overflows: for x >= 0 use 1/(1+e^-x), for x < 0 use e^x/(1+e^x).
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0, e) / (1.0 + e)
    return out.astype(x.dtype, copy=False), out


def _sigmoid_vjp(g, out, needs_grad):
    return (g * out * (1.0 - out),)


sigmoid = register_op(
    "sigmoid", _sigmoid_forward, _sigmoid_vjp, samples=_unary_samples,
    doc="1 / (1 + exp(-x)), computed stably: finite and warning-free for any x.",
)


# --- sum_of_squares ----------------------------------------------------------
def _sum_of_squares_forward(x):
    return np.vdot(x, x) if x.ndim else x * x, x


def _sum_of_squares_vjp(g, x, needs_grad):
    return (2.0 * g * x,)


sum_of_squares = register_op(
    "sum_of_squares", _sum_of_squares_forward, _sum_of_squares_vjp, samples=_unary_samples,
    doc="sum(x**2) as a 0-d tensor: the seed's loss.",
)


# --- operators ---------------------------------------------------------------
Tensor.__add__ = add
Tensor.__radd__ = lambda self, other: add(other, self)
Tensor.__sub__ = sub
Tensor.__rsub__ = lambda self, other: sub(other, self)
Tensor.__mul__ = mul
Tensor.__rmul__ = lambda self, other: mul(other, self)
Tensor.__neg__ = neg
