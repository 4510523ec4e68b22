"""Reductions: sum, mean and max over an axis, a tuple of axes, or everything.

``axis`` is None (all axes), an int or a tuple of ints, negative counting from the
end; ``keepdims`` keeps the reduced axes with size 1, as numpy and PyTorch do.
PyTorch's spellings ``dim`` and ``keepdim`` are accepted as keyword aliases.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .registry import Sample, register_op
from .tensor import Tensor


def normalize_axes(axis: Any, ndim: int, op_name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``axis`` (None, int or tuple of ints) as a sorted tuple of non-negative axes.

    Raises:
        TypeError: if axis is not None, an int or a tuple of ints.
        ValueError: if an axis is out of range for ``shape`` or repeated.
    """
    if axis is None:
        return tuple(range(ndim))
    items = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in items):
        raise TypeError(f"{op_name}: axis must be None, an int or a tuple of ints, got {axis!r}")
    if any(not -ndim <= a < ndim for a in items) and not (ndim == 0 and all(a in (0, -1) for a in items)):
        raise ValueError(f"{op_name}: axis {axis!r} is out of range for a tensor of shape {shape}")
    axes = tuple(sorted(int(a) % builtins.max(ndim, 1) for a in items)) if ndim else ()
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op_name}: axis {axis!r} repeats an axis")
    return axes


def _check_keepdims(keepdims: Any, op_name: str) -> bool:
    if not isinstance(keepdims, (bool, np.bool_)):
        raise TypeError(f"{op_name}: keepdims must be a bool, got {keepdims!r}")
    return bool(keepdims)


def _aliases(op_name: str, axis: Any, keepdims: Any, dim: Any, keepdim: Any) -> dict[str, Any]:
    """``axis``/``keepdims`` with PyTorch's ``dim``/``keepdim`` folded in; giving both spellings is an error."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op_name}: give axis or dim, not both (axis={axis!r}, dim={dim!r})")
        axis = dim
    if keepdim is not None:
        if keepdims is not None:
            raise TypeError(f"{op_name}: give keepdims or keepdim, not both")
        keepdims = keepdim
    return {"axis": axis, "keepdims": False if keepdims is None else keepdims}


def _expand(g: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Put the reduced axes back into ``g`` with size 1, so that it broadcasts against the input."""
    return g if keepdims or not axes else np.expand_dims(g, axes)


# --- sum -------------------------------------------------------------------------
def _sum_forward(x, *, axis, keepdims):
    axes = normalize_axes(axis, x.ndim, "sum", x.shape)
    keepdims = _check_keepdims(keepdims, "sum")
    return np.sum(x, axis=axes, keepdims=keepdims), (x.shape, axes)


def _sum_vjp(g, saved, needs_grad, *, axis, keepdims):
    shape, axes = saved
    return (np.broadcast_to(_expand(g, axes, keepdims), shape),)


# --- mean ------------------------------------------------------------------------
def _mean_forward(x, *, axis, keepdims):
    axes = normalize_axes(axis, x.ndim, "mean", x.shape)
    keepdims = _check_keepdims(keepdims, "mean")
    count = int(np.prod([x.shape[a] for a in axes]))
    if count == 0:
        raise ValueError(f"mean: cannot average over zero elements (shape {x.shape}, axis {axis!r})")
    return np.mean(x, axis=axes, keepdims=keepdims), (x.shape, axes, count)


def _mean_vjp(g, saved, needs_grad, *, axis, keepdims):
    shape, axes, count = saved
    return (np.broadcast_to(_expand(g, axes, keepdims) / count, shape),)


# --- max -------------------------------------------------------------------------
def _max_forward(x, *, axis, keepdims):
    axes = normalize_axes(axis, x.ndim, "max", x.shape)
    keepdims = _check_keepdims(keepdims, "max")
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"max: cannot reduce over an empty axis (shape {x.shape}, axis {axis!r})")
    kept = [a for a in range(x.ndim) if a not in axes]
    # Move the reduced axes last and flatten them, so one argmax per slice picks its element.
    moved = np.transpose(x, kept + list(axes)).reshape([x.shape[a] for a in kept] + [-1])
    index = np.argmax(moved, axis=-1)
    out = np.take_along_axis(moved, index[..., None], axis=-1)[..., 0]
    if keepdims:
        out = np.expand_dims(out, axes)
    return out, (x.shape, axes, kept, index)


def _max_vjp(g, saved, needs_grad, *, axis, keepdims):
    shape, axes, kept, index = saved
    if keepdims:
        g = np.squeeze(g, axis=axes)
    moved = np.zeros([shape[a] for a in kept] + [int(np.prod([shape[a] for a in axes]))], dtype=g.dtype)
    np.put_along_axis(moved, index[..., None], g[..., None], axis=-1)
    moved = moved.reshape([shape[a] for a in kept] + [shape[a] for a in axes])
    return (np.transpose(moved, np.argsort(kept + list(axes))),)


def _reduce_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((2, 3, 4))
    return [
        Sample((x,), {"axis": None, "keepdims": False}),
        Sample((x,), {"axis": 1, "keepdims": False}),
        Sample((x,), {"axis": -1, "keepdims": True}),
        Sample((x,), {"axis": (0, 2), "keepdims": False}),
        Sample((x,), {"axis": (2, 0), "keepdims": True}),
        Sample((np.array(1.5),), {"axis": None, "keepdims": False}),
    ]


_defaults = {"axis": None, "keepdims": False}
_sum = register_op("sum", _sum_forward, _sum_vjp, defaults=_defaults, samples=_reduce_samples, method=False,
                   doc="Sum over axis (None: all).")
_mean = register_op("mean", _mean_forward, _mean_vjp, defaults=_defaults, samples=_reduce_samples, method=False,
                    doc="Mean over axis (None: all).")
_max = register_op("max", _max_forward, _max_vjp, defaults=_defaults, samples=_reduce_samples, method=False,
                   doc="Maximum over axis (None: all); the gradient goes to one maximal element per slice.")


def sum(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool | None = None, *,
        dim: int | tuple[int, ...] | None = None, keepdim: bool | None = None) -> Tensor:
    """The sum of ``x`` over ``axis`` (None: every axis).

    Args:
        x: a Tensor or array-like.
        axis: None, an int or a tuple of ints (negative counts from the end).
        keepdims: keep the reduced axes with size 1 (default False).
        dim: PyTorch's name for ``axis``.
        keepdim: PyTorch's name for ``keepdims``.

    Returns:
        The reduced Tensor.

    Raises:
        TypeError: for an axis that is not None, an int or a tuple of ints, or both spellings of one argument.
        ValueError: for an axis out of range or repeated.
    """
    return _sum(x, **_aliases("sum", axis, keepdims, dim, keepdim))


def mean(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool | None = None, *,
        dim: int | tuple[int, ...] | None = None, keepdim: bool | None = None) -> Tensor:
    """The mean of ``x`` over ``axis`` (None: every axis); arguments as in :func:`sum`."""
    return _mean(x, **_aliases("mean", axis, keepdims, dim, keepdim))


def max(x: Any, axis: int | tuple[int, ...] | None = None, keepdims: bool | None = None, *,
        dim: int | tuple[int, ...] | None = None, keepdim: bool | None = None) -> Tensor:
    """The maximum of ``x`` over ``axis`` (None: every axis); arguments as in :func:`sum`.

    The gradient of each slice goes to one maximal element (the first, in C order of
    the reduced axes), as ``torch.max(x, dim)`` does. Unlike ``torch.max(x, dim)``, which
    returns ``(values, indices)``, only the values are returned (as ``numpy.max`` and
    ``torch.amax`` do): ``x.max(1)`` is already the values, so do not index it with ``[0]``.
    """
    return _max(x, **_aliases("max", axis, keepdims, dim, keepdim))


Tensor.sum = sum
Tensor.mean = mean
Tensor.max = max
