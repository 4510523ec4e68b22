"""Unary math (abs, sqrt, rsqrt, square, reciprocal, sin, cos) and elementwise selection (maximum, minimum,
clamp, where).

Each gradient rule is PyTorch's, also where the derivative does not exist: ``abs'(0) = 0``,
``sqrt'(0) = inf``, ``clamp`` passes the gradient on its bounds, ties of ``maximum`` and
``minimum`` split it evenly, and a NaN input of ``maximum`` gets the whole gradient.

Elementwise loops stay in the input's dtype and allocate as little as they can: a vjp
writes into the one fresh array it returns, and what a forward saves for the vjp is a
compact mask where that is enough (the engine copies a saved array that shares memory
with an input or the output). numpy turns a 0-d result into a scalar, which takes no ``out=``:
``np.asarray`` around a fresh result keeps it an array for the in-place steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import REQUIRED, Sample, register_function, register_op
from ..tensor import Tensor
from ._samples import binary_samples, positive_samples, real_samples, unary_samples
from .arithmetic import check_broadcast


# --- abs, square ----------------------------------------------------------------------
def _abs_forward(x):
    # sign(x) as int8 (a quarter of float32): 0 at 0 and at NaN, as PyTorch's abs gradient
    return np.abs(x), (x > 0).view(np.int8) - (x < 0).view(np.int8)


def _abs_vjp(g, sign, needs_grad):
    return (g * sign,)


def _square_forward(x):
    return x * x, x


def _square_vjp(g, x, needs_grad):
    grad = x * 2
    grad *= g
    return (grad,)


abs = register_op("abs", _abs_forward, _abs_vjp, inputs=("input",), samples=unary_samples,  # noqa: A001
                  method=("abs", "__abs__"), doc="``|input|`` elementwise; its gradient at 0 is 0, as in PyTorch.")
square = register_op("square", _square_forward, _square_vjp, inputs=("input",), samples=real_samples,
                     doc="``input * input`` elementwise.")


# --- sqrt, rsqrt, reciprocal --------------------------------------------------------------
def _sqrt_forward(x):
    with np.errstate(invalid="ignore"):  # sqrt(-1) is NaN, silently as in PyTorch
        out = np.sqrt(x)
    return out, out


def _sqrt_vjp(g, out, needs_grad):
    grad = np.asarray(out * 2)
    with np.errstate(divide="ignore", invalid="ignore"):  # sqrt'(0) = inf, as PyTorch
        np.divide(g, grad, out=grad)
    return (grad,)


def _rsqrt_forward(x):
    with np.errstate(invalid="ignore", divide="ignore"):  # rsqrt(0) = inf, rsqrt(-1) = nan
        out = np.asarray(np.sqrt(x))
        np.divide(1, out, out=out)
    return out, out


def _rsqrt_vjp(g, out, needs_grad):  # -0.5 * g * out**3
    grad = out * out
    grad *= out
    grad *= -0.5
    grad *= g
    return (grad,)


def _reciprocal_forward(x):
    with np.errstate(divide="ignore"):  # 1 / 0 = inf
        out = np.divide(1, x)
    return out, out


def _reciprocal_vjp(g, out, needs_grad):  # -g * out**2
    grad = np.asarray(out * out)
    grad *= g
    np.negative(grad, out=grad)
    return (grad,)


sqrt = register_op("sqrt", _sqrt_forward, _sqrt_vjp, inputs=("input",), samples=positive_samples,
                   doc="The square root, elementwise. NaN for a negative input; the gradient at 0 is inf (PyTorch's).")
rsqrt = register_op("rsqrt", _rsqrt_forward, _rsqrt_vjp, inputs=("input",), samples=positive_samples,
                    doc="``1 / sqrt(input)`` elementwise.")
reciprocal = register_op("reciprocal", _reciprocal_forward, _reciprocal_vjp, inputs=("input",),
                         samples=positive_samples, doc="``1 / input`` elementwise.")


# --- sin, cos ------------------------------------------------------------------------------
def _sin_forward(x):
    return np.sin(x), x


def _sin_vjp(g, x, needs_grad):
    grad = np.cos(x)
    grad *= g
    return (grad,)


def _cos_forward(x):
    return np.cos(x), x


def _cos_vjp(g, x, needs_grad):
    grad = np.asarray(np.sin(x))
    np.negative(grad, out=grad)
    grad *= g
    return (grad,)


sin = register_op("sin", _sin_forward, _sin_vjp, inputs=("input",), samples=real_samples,
                  doc="The sine, elementwise (radians).")
cos = register_op("cos", _cos_forward, _cos_vjp, inputs=("input",), samples=real_samples,
                  doc="The cosine, elementwise (radians).")


# --- maximum, minimum --------------------------------------------------------------------------
def _share(g: np.ndarray, loses: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """``g`` where a side wins, ``g / 2`` on a tie, 0 where it loses (PyTorch's rule; NaN never loses)."""
    weight = np.logical_not(loses).astype(g.dtype)
    weight -= tie * g.dtype.type(0.5)
    weight *= g
    return weight


def _maximum_forward(a, b):
    check_broadcast("maximum", a, b)
    return np.maximum(a, b), (a, b)


def _maximum_vjp(g, saved, needs_grad):
    a, b = saved
    tie = a == b
    return (_share(g, a < b, tie) if needs_grad[0] else None), (_share(g, a > b, tie) if needs_grad[1] else None)


def _minimum_forward(a, b):
    check_broadcast("minimum", a, b)
    return np.minimum(a, b), (a, b)


def _minimum_vjp(g, saved, needs_grad):
    a, b = saved
    tie = a == b
    return (_share(g, a > b, tie) if needs_grad[0] else None), (_share(g, a < b, tie) if needs_grad[1] else None)


def _extreme_samples(rng: np.random.Generator) -> list[Sample]:
    samples = binary_samples(rng)  # apart by more than gradcheck's step, so that no pair flips
    return [Sample((a, np.where(np.abs(a - b) < 0.05, b + 0.3, b))) for a, b in (s.inputs for s in samples)]


maximum = register_op("maximum", _maximum_forward, _maximum_vjp, inputs=("input", "other"), samples=_extreme_samples,
                      doc="The larger of ``input`` and ``other`` elementwise, broadcasting; NaN if either is NaN.\n\n"
                          "On a tie each side gets half the gradient, as in PyTorch.")
minimum = register_op("minimum", _minimum_forward, _minimum_vjp, inputs=("input", "other"), samples=_extreme_samples,
                      doc="The smaller of ``input`` and ``other`` elementwise, broadcasting; NaN if either is NaN.\n\n"
                          "On a tie each side gets half the gradient, as in PyTorch.")


# --- clamp, clip -------------------------------------------------------------------------------
def _clamp_forward(x, low, high):
    if low is None and high is None:
        raise ValueError("clamp: at least one of min and max must be given")
    for bound in (low, high):
        if bound is not None:
            check_broadcast("clamp", x, bound)
    if low is None:
        out = np.minimum(x, high)
    elif high is None:
        out = np.maximum(x, low)
    else:  # numpy's clip is max then min, so min > max gives max everywhere, as PyTorch
        out = np.clip(x, low, high)
    return out, (x, low, high)


def _clamp_vjp(g, saved, needs_grad):
    x, low, high = saved
    gx = glow = ghigh = None
    if needs_grad[0]:  # passes on the bounds themselves; 0 at a NaN input
        inside = np.ones(x.shape, bool) if low is None else x >= low
        if high is not None:
            inside &= x <= high
        gx = g * inside
    if needs_grad[1]:  # the lower bound is the output where x is below it (and below max)
        below = x < low
        if high is not None:
            below &= low < high
        glow = g * below
    if needs_grad[2]:  # the upper bound is the output where x is above it, or everywhere when min > max
        above = x > high
        if low is not None:
            above |= high < low
        ghigh = g * above
    return gx, glow, ghigh


def _clamp_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((3, 5))
    x = np.where(np.abs(np.abs(x) - 0.5) < 0.05, 0.2, x)  # away from the bounds, where the derivative jumps
    return [Sample((x, -0.5, 0.5)), Sample((x, None, 0.5)), Sample((x, -0.5, None)),
            Sample((x, rng.uniform(-1.5, -0.7, (5,)), rng.uniform(0.7, 1.5, (3, 1)))),
            Sample((x, np.array(0.8), np.array(0.3)))]  # min > max: max everywhere


clamp = register_op(
    "clamp", _clamp_forward, _clamp_vjp, inputs=("input", "min", "max"), optional=("min", "max"),
    samples=_clamp_samples,
    doc="""Limit ``input`` to ``[min, max]`` elementwise, as ``torch.clamp``.

    Args:
        input: the tensor.
        min: the lower bound (a number or a broadcasting tensor), or None for none.
        max: the upper bound, or None for none. Where ``min > max`` the result is ``max``.

    Returns:
        A tensor of the broadcast shape. Its gradient passes where ``min <= input <= max``
        (bounds included) and is 0 elsewhere and at NaN, as in PyTorch.

    Raises:
        ValueError: if both bounds are None, or a bound does not broadcast with ``input``.
    """,
)


@register_function
def clip(input: Tensor | np.ndarray, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
    """``clamp`` under numpy's name, as ``torch.clip``."""
    return clamp(input, min, max)


# --- where ---------------------------------------------------------------------------------------
def _where_forward(x, y, *, condition):
    if condition.shape != x.shape or condition.shape != y.shape:
        try:
            np.broadcast_shapes(condition.shape, x.shape, y.shape)
        except ValueError:
            raise ValueError(f"where(): condition {condition.shape}, input {x.shape} and other {y.shape} "
                             "do not broadcast together") from None
    return np.where(condition, x, y), condition


def _where_vjp(g, mask, needs_grad, **attrs):
    gx = g * mask if needs_grad[0] else None
    gy = g * np.logical_not(mask) if needs_grad[1] else None
    return gx, gy


def _where_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), {"condition": rng.random((3, 4)) < 0.5}),
            Sample((rng.standard_normal((3, 1)), np.array(0.5)), {"condition": rng.random(4) < 0.5})]


_where = register_op("where", _where_forward, _where_vjp, inputs=("input", "other"), defaults={"condition": REQUIRED},
                     samples=_where_samples, method=False, doc="``input`` where ``condition`` holds, else ``other``.")


def as_condition(condition: Any) -> np.ndarray:
    """A where-condition as a bool ndarray of its own (a copy: later edits to the caller's array change nothing).

    Raises:
        TypeError: for a condition that is not bool: a float or int array, a string, None.
    """
    if isinstance(condition, Tensor):  # tensors hold floats: nonzero is True (the 0/1 a comparison gives)
        return condition.data != 0
    if isinstance(condition, (bool, np.bool_)):
        return np.array(condition)
    try:
        array = np.array(condition)
    except (ValueError, TypeError):
        array = None
    if array is None or array.dtype != bool:
        kind = type(condition).__name__ if array is None else f"{type(condition).__name__} of dtype {array.dtype}"
        raise TypeError(f"where(): condition must be a bool array (or a Tensor), got {kind}")
    return array


@register_function(method=False)
def where(condition: Any, input: Tensor | np.ndarray | float, other: Tensor | np.ndarray | float) -> Tensor:
    """``input`` where ``condition`` holds, else ``other``, broadcasting all three, as ``torch.where``.

    Args:
        condition: a bool ndarray (or a Tensor, where nonzero means True); it gets no gradient.
        input: the values taken where ``condition`` is True; a tensor or a number.
        other: the values taken elsewhere; a tensor or a number.

    Returns:
        A tensor of the broadcast shape. ``input`` gets the gradient where ``condition`` holds, ``other`` elsewhere.

    Raises:
        TypeError: if ``condition`` is not bool.
        ValueError: if the shapes do not broadcast.
    """
    return _where(input, other, condition=as_condition(condition))


def _where_method(self: Tensor, condition: Any, other: Any) -> Tensor:
    """``where(condition, self, other)``, as ``Tensor.where`` in PyTorch."""
    return where(condition, self, other)


register_function(_where_method, name="_where_method", method=("where",))
