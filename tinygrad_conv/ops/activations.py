"""Activations: relu, sigmoid, tanh, and softmax / log_softmax along a dim."""

from __future__ import annotations

import warnings

import numpy as np

from ..registry import Sample, register_op
from ._samples import unary_samples


# --- relu ------------------------------------------------------------------------
def _relu_forward(x):
    out = np.maximum(x, 0)
    out += 0  # -0.0 + 0 is +0.0: relu never returns -0.0 (PyTorch's relu does not either)
    return out, out


def _relu_vjp(g, out, needs_grad):
    return (g * (out > 0),)


relu = register_op("relu", _relu_forward, _relu_vjp, inputs=("input",), samples=unary_samples,
                   doc="``max(input, 0)`` elementwise; its gradient at 0 is 0.")


# --- sigmoid -----------------------------------------------------------------------
def _sigmoid_forward(x):
    # exp(-|x|) never overflows: for x >= 0 use 1/(1+e^-x), for x < 0 use e^x/(1+e^x).
    e = np.exp(-np.abs(x))
    out = (np.where(x >= 0, 1.0, e) / (1.0 + e)).astype(x.dtype, copy=False)
    return out, out


def _sigmoid_vjp(g, out, needs_grad):
    return (g * out * (1.0 - out),)


sigmoid = register_op("sigmoid", _sigmoid_forward, _sigmoid_vjp, inputs=("input",), samples=unary_samples,
                      doc="``1 / (1 + exp(-input))``, computed stably: finite and warning-free for any input.")


# --- tanh ---------------------------------------------------------------------------
def _tanh_forward(x):
    out = np.tanh(x)
    return out, out


def _tanh_vjp(g, out, needs_grad):
    return (g * (1.0 - out * out),)


tanh = register_op("tanh", _tanh_forward, _tanh_vjp, inputs=("input",), samples=unary_samples,
                   doc="The hyperbolic tangent, elementwise.")


# --- softmax, log_softmax --------------------------------------------------------------
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
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op_name}: dim must be an int, got {dim!r}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise ValueError(f"{op_name}: dim={dim} is out of range for a tensor of shape {shape}")
    return int(dim) % bound


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
