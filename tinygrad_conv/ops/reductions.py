"""Reductions: sum, mean, amax/amin, max/min with their indices, logsumexp, argmax/argmin, sum_of_squares.

``dim`` is None (every axis), an int or a tuple of ints, negative counting from the end;
``keepdim`` keeps the reduced axes with size 1. numpy's ``axis`` and ``keepdims`` are
accepted as aliases, as in PyTorch. Over an empty axis a sum is 0 and a mean NaN, as in PyTorch.
"""

from __future__ import annotations

import builtins
from typing import Any, NamedTuple

import numpy as np

from .._checks import flag, normalize_dims
from ..registry import ALIASES, Sample, register_function, register_op
from ..tensor import Tensor
from ._samples import unary_samples


def _expand(g: np.ndarray, axes: tuple[int, ...], keepdim: bool) -> np.ndarray:
    """Put the reduced axes back into ``g`` with size 1, so that it broadcasts against the input."""
    return g if keepdim or not axes else np.expand_dims(g, axes)


def _reduce_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((2, 3, 4))
    return [
        Sample((x,), {"dim": None, "keepdim": False}),
        Sample((x,), {"dim": 1, "keepdim": False}),
        Sample((x,), {"dim": -1, "keepdim": True}),
        Sample((x,), {"dim": (0, 2), "keepdim": False}),
        Sample((x,), {"dim": (2, 0), "keepdim": True}),
        Sample((np.array(1.5),), {"dim": None, "keepdim": False}),
    ]


_DEFAULTS = {"dim": None, "keepdim": False}


# --- sum, mean ------------------------------------------------------------------------
def _sum_forward(x, *, dim, keepdim):
    axes = normalize_dims(dim, x.ndim, "sum", x.shape)
    return np.sum(x, axis=axes, keepdims=flag(keepdim, "keepdim", "sum")), (x.shape, axes)


def _sum_vjp(g, saved, needs_grad, *, dim, keepdim):
    shape, axes = saved
    return (np.broadcast_to(_expand(g, axes, keepdim), shape),)


def _mean_forward(x, *, dim, keepdim):
    axes = normalize_dims(dim, x.ndim, "mean", x.shape)
    count = int(np.prod([x.shape[a] for a in axes]))
    with np.errstate(invalid="ignore", divide="ignore"):  # an empty mean is NaN, as in PyTorch
        out = np.sum(x, axis=axes, keepdims=flag(keepdim, "keepdim", "mean")) / np.asarray(count, x.dtype)
    return out, (x.shape, axes, count)


def _mean_vjp(g, saved, needs_grad, *, dim, keepdim):
    shape, axes, count = saved
    return (np.broadcast_to(_expand(g, axes, keepdim) / builtins.max(count, 1), shape),)


sum = register_op("sum", _sum_forward, _sum_vjp, inputs=("input",), defaults=_DEFAULTS,  # noqa: A001
                  samples=_reduce_samples, doc="The sum over ``dim`` (None: every axis); 0 over an empty axis.")
mean = register_op("mean", _mean_forward, _mean_vjp, inputs=("input",), defaults=_DEFAULTS,
                   samples=_reduce_samples, doc="The mean over ``dim`` (None: every axis); NaN over an empty axis.")


# --- amax, amin: ties share the gradient evenly ------------------------------------------
def _extreme_forward(name: str, pick: Any) -> Any:
    def forward(x, *, dim, keepdim):
        axes = normalize_dims(dim, x.ndim, name, x.shape)
        if any(x.shape[a] == 0 for a in axes) or (x.size == 0 and not axes):
            raise ValueError(f"{name}: cannot reduce over an empty axis (input {x.shape}, dim {dim!r})")
        out = pick(x, axis=axes, keepdims=True)
        return (out if flag(keepdim, "keepdim", name) else np.squeeze(out, axes)), (x, out, axes)

    return forward


def _extreme_vjp(g, saved, needs_grad, *, dim, keepdim):
    x, out, axes = saved
    ties = (x == out) | (np.isnan(x) & np.isnan(out))
    share = _expand(g, axes, keepdim) / np.sum(ties, axis=axes, keepdims=True)
    return ((ties * share).astype(g.dtype, copy=False),)


def _extreme_samples(rng: np.random.Generator) -> list[Sample]:
    tied = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]])
    return _reduce_samples(rng) + [Sample((tied,), {"dim": None, "keepdim": False}),
                                   Sample((tied,), {"dim": 1, "keepdim": True})]


_AMAX_DEFAULTS = {"dim": None, "keepdim": False}  # None or () reduces every axis, as in PyTorch


def _all_if_empty(forward: Any) -> Any:
    def wrapped(x, *, dim, keepdim):
        return forward(x, dim=None if isinstance(dim, (tuple, list)) and len(dim) == 0 else dim, keepdim=keepdim)

    return wrapped


amax = register_op("amax", _all_if_empty(_extreme_forward("amax", np.max)), _extreme_vjp, inputs=("input",),
                   defaults=_AMAX_DEFAULTS, samples=_extreme_samples,
                   doc="The maximum over ``dim`` (None or ``()``: every axis); tied maxima share the gradient evenly.")
amin = register_op("amin", _all_if_empty(_extreme_forward("amin", np.min)), _extreme_vjp, inputs=("input",),
                   defaults=_AMAX_DEFAULTS, samples=_extreme_samples,
                   doc="The minimum over ``dim`` (None or ``()``: every axis); tied minima share the gradient evenly.")


# --- take_along_dim: the values at given indices; max(x, dim) and min(x, dim) use it -------------
def _take_forward(x, *, indices, dim):
    return np.take_along_axis(x, indices, axis=dim), x.shape


def _take_vjp(g, shape, needs_grad, *, indices, dim):
    grad = np.zeros(shape, dtype=g.dtype)
    np.add.at(grad, tuple(_full_index(indices, dim, shape)), g)
    return (grad,)


def _full_index(indices: np.ndarray, dim: int, shape: tuple[int, ...]) -> list[np.ndarray]:
    grids = list(np.ogrid[tuple(slice(0, n) for n in indices.shape)])
    grids[dim] = indices
    return grids


def _take_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((3, 4))
    return [Sample((x,), {"indices": np.array([[0], [3], [1]]), "dim": 1}),
            Sample((x,), {"indices": np.array([[2, 2, 0, 1]]), "dim": 0})]


take_along_dim = register_op("take_along_dim", _take_forward, _take_vjp, inputs=("input",),
                             defaults={"indices": None, "dim": None}, samples=_take_samples, method=True,
                             doc="The elements of ``input`` at ``indices`` along ``dim`` (an int array of "
                                 "input's rank); repeated indices add their gradients.")


class ValuesIndices(NamedTuple):
    """What ``max(x, dim)`` and ``min(x, dim)`` return, as ``torch.return_types.max``."""

    values: Tensor
    indices: np.ndarray


def _arg_extreme(name: str, pick: Any, x: Any, dim: Any, keepdim: Any) -> np.ndarray:
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    keepdim = flag(keepdim, "keepdim", name)
    if dim is None:
        if data.size == 0:
            raise ValueError(f"{name}: cannot reduce an empty tensor (input {data.shape})")
        index = pick(data.reshape(-1))
        return np.asarray(index).reshape((1,) * data.ndim if keepdim else ())
    (axis,) = normalize_dims(dim, data.ndim, name, data.shape) or (0,)
    if data.ndim and data.shape[axis] == 0:
        raise ValueError(f"{name}: cannot reduce over an empty axis (input {data.shape}, dim {dim!r})")
    index = pick(data, axis=axis, keepdims=True) if data.ndim else np.zeros((), np.int64)
    return index if keepdim or not data.ndim else np.squeeze(index, axis)


def _with_alias(name: str, dim: Any, keepdim: Any, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    for torch_name, numpy_name in ALIASES.items():
        if numpy_name in kwargs:
            value = kwargs.pop(numpy_name)
            if (dim if torch_name == "dim" else keepdim) not in (None, False):
                raise TypeError(f"{name}() got both {torch_name} and its alias {numpy_name}; give one")
            if torch_name == "dim":
                dim = value
            else:
                keepdim = value
    if kwargs:
        raise TypeError(f"{name}() got unexpected keyword argument(s) {sorted(kwargs)}")
    return dim, keepdim


@register_function
def argmax(input: Tensor | np.ndarray, dim: int | None = None, keepdim: bool = False, **aliases: Any) -> np.ndarray:
    """The index of the maximum (the first among ties) over ``dim``, or of the flattened input; an int64 ndarray.

    Raises:
        ValueError: for an empty input or axis, or a dim out of range.
    """
    dim, keepdim = _with_alias("argmax", dim, keepdim, aliases)
    return _arg_extreme("argmax", np.argmax, input, dim, keepdim).astype(np.int64)


@register_function
def argmin(input: Tensor | np.ndarray, dim: int | None = None, keepdim: bool = False, **aliases: Any) -> np.ndarray:
    """The index of the minimum (the first among ties) over ``dim``, or of the flattened input; an int64 ndarray.

    Raises:
        ValueError: for an empty input or axis, or a dim out of range.
    """
    dim, keepdim = _with_alias("argmin", dim, keepdim, aliases)
    return _arg_extreme("argmin", np.argmin, input, dim, keepdim).astype(np.int64)


def _extreme_with_indices(name: str, pick: Any, total: Any, x: Any, dim: Any, keepdim: Any,
                          aliases: dict[str, Any]) -> Any:
    dim, keepdim = _with_alias(name, dim, keepdim, aliases)
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}(input) over every axis takes no keepdim; give dim too")
        return total(x)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}: dim must be one int (for several axes use a{name}), got {dim!r}")
    index = _arg_extreme(name, pick, x, dim, True)
    tensor = x if isinstance(x, Tensor) else Tensor(x)
    axis = normalize_dims(dim, tensor.ndim, name, tensor.shape)
    if not axis:  # a 0-d input: its one element
        return ValuesIndices(take_along_dim(tensor.reshape(1), indices=np.zeros(1, np.intp), dim=0).reshape(()),
                             np.zeros((), np.int64))
    values = take_along_dim(tensor, indices=index, dim=axis[0])
    if not flag(keepdim, "keepdim", name):
        values, index = values.squeeze(axis[0]), np.squeeze(index, axis[0])
    return ValuesIndices(values, index.astype(np.int64))


@register_function(name="max")
def max(input: Tensor | np.ndarray, dim: int | None = None, keepdim: bool = False, **aliases: Any) -> Any:  # noqa: A001
    """The maximum, as ``torch.max``.

    ``max(x)`` is the largest element (a 0-d Tensor; tied maxima share the gradient evenly,
    as ``amax``). ``max(x, dim, keepdim=False)`` returns ``(values, indices)`` with the first
    maximal index along ``dim`` (an int64 ndarray), and the gradient goes to that element.

    Raises:
        ValueError: for an empty input or axis, or a dim out of range.
        TypeError: for a dim that is not one int, or keepdim without dim.
    """
    return _extreme_with_indices("max", np.argmax, amax, input, dim, keepdim, aliases)


@register_function(name="min")
def min(input: Tensor | np.ndarray, dim: int | None = None, keepdim: bool = False, **aliases: Any) -> Any:  # noqa: A001
    """The minimum, as ``torch.min``: like ``max`` with the smallest element."""
    return _extreme_with_indices("min", np.argmin, amin, input, dim, keepdim, aliases)


# --- logsumexp --------------------------------------------------------------------------
def _logsumexp_forward(x, *, dim, keepdim):
    axes = normalize_dims(dim, x.ndim, "logsumexp", x.shape)
    keepdim = flag(keepdim, "keepdim", "logsumexp")
    top = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
    top = np.where(np.isfinite(top), top, 0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - top), axis=axes, keepdims=True)) + top
    return (out if keepdim else np.squeeze(out, axes)), (x, out, axes)


def _logsumexp_vjp(g, saved, needs_grad, *, dim, keepdim):
    x, out, axes = saved
    return (_expand(g, axes, keepdim) * np.exp(x - out),)


logsumexp = register_op("logsumexp", _logsumexp_forward, _logsumexp_vjp, inputs=("input",),
                        defaults={"dim": None, "keepdim": False}, samples=_reduce_samples,
                        doc="``log(sum(exp(input)))`` over ``dim``, computed stably.")


# --- sum_of_squares -------------------------------------------------------------------------
def _sum_of_squares_forward(x):
    return np.asarray(np.vdot(x, x) if x.ndim else x * x), x


def _sum_of_squares_vjp(g, x, needs_grad):
    return (2.0 * g * x,)


sum_of_squares = register_op("sum_of_squares", _sum_of_squares_forward, _sum_of_squares_vjp, inputs=("input",),
                             samples=unary_samples, doc="``sum(input**2)`` as a 0-d tensor: the seed's loss.")
