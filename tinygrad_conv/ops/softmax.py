"""softmax and log_softmax along a dim, computed stably, with PyTorch's implicit-dim rule and gradients."""

from __future__ import annotations

import warnings

import numpy as np

from .._checks import check_dim
from ..registry import Sample, register_op


def softmax_dim(dim: object, ndim: int, op_name: str, shape: tuple[int, ...]) -> int:
    """``dim`` as a non-negative axis; None picks PyTorch's implicit dim (0 for 0-, 1- and 3-D, else 1), with its warning.

    Raises:
        TypeError: if ``dim`` is not an int or None.
        ValueError: if it is out of range for ``shape``.
    """
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {op_name} has been deprecated. "
                      "Change the call to include dim=X as an argument.", UserWarning, stacklevel=4)
        return 0 if ndim in (0, 1, 3) else 1
    return check_dim(dim, ndim, "dim", op_name, shape)


def stable_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """``x - max - log(sum(exp(x - max)))`` along ``axis``: the largest exponent is 0, so nothing overflows."""
    if x.ndim == 0 or x.size == 0:
        return np.zeros_like(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    shifted -= np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return shifted


def _log_softmax_forward(x, *, dim):
    axis = softmax_dim(dim, x.ndim, "log_softmax", x.shape)
    out = stable_log_softmax(x, axis)
    return out, (out, axis)


def _log_softmax_vjp(g, saved, needs_grad, **attrs):
    out, axis = saved
    if out.ndim == 0:
        return (np.zeros_like(g),)
    return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)


def _softmax_forward(x, *, dim):
    axis = softmax_dim(dim, x.ndim, "softmax", x.shape)
    out = np.exp(stable_log_softmax(x, axis))
    return out, (out, axis)


def _softmax_vjp(g, saved, needs_grad, **attrs):
    out, axis = saved
    if out.ndim == 0:
        return (np.zeros_like(g),)
    product = g * out
    return (product - out * np.sum(product, axis=axis, keepdims=True),)


def _softmax_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((3, 5))
    return [Sample((x,), {"dim": -1}), Sample((x,), {"dim": 0}), Sample((rng.standard_normal((2, 3, 4)),), {"dim": 1}),
            Sample((np.array(0.3),), {"dim": 0})]


log_softmax = register_op("log_softmax", _log_softmax_forward, _log_softmax_vjp, inputs=("input",),
                          defaults={"dim": None}, samples=_softmax_samples,
                          doc="``log(softmax(input))`` along ``dim``, computed stably: finite for any input.")
softmax = register_op("softmax", _softmax_forward, _softmax_vjp, inputs=("input",), defaults={"dim": None},
                      samples=_softmax_samples, doc="``exp(input)`` normalized to sum to 1 along ``dim``, computed stably.")
