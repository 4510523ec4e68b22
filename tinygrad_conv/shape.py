"""Shape ops: reshape, flatten, permute/transpose, and indexing with a scatter-add gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import shape_of
from .registry import Sample, register_op
from .tensor import Tensor


class TensorIndexError(IndexError, ValueError):
    """An index out of range. Both an IndexError (so Python's iteration protocol works) and a
    ValueError (the project's bad-argument error), as numpy's AxisError is."""


def _check_axis(axis: Any, ndim: int, name: str, op_name: str, shape: tuple[int, ...]) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op_name}: {name} must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op_name}: {name}={axis} is out of range for a tensor of shape {shape}")
    return int(axis) % ndim


# --- reshape ---------------------------------------------------------------------
def _reshape_forward(x, *, shape):
    try:
        out = x.reshape(shape)
    except (ValueError, TypeError) as error:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} into shape {shape}: {error}") from None
    return out, x.shape


def _reshape_vjp(g, input_shape, needs_grad, *, shape):
    return (g.reshape(input_shape),)


def _reshape_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((2, 3, 4))
    return [Sample((x,), {"shape": (6, 4)}), Sample((x,), {"shape": (-1,)}), Sample((x,), {"shape": (4, 1, -1)})]


_reshape = register_op("reshape", _reshape_forward, _reshape_vjp, defaults={"shape": None},
                       samples=_reshape_samples, method=False, doc="The same elements in a new shape.")


def _as_shape(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape):
        raise TypeError(f"reshape: shape must be ints or a tuple of ints, got {shape!r}")
    return tuple(int(s) for s in shape)


def reshape(x: Any, *shape: Any) -> Tensor:
    """``x`` with a new shape, as ``torch.reshape``: ``reshape(x, (2, -1))`` or ``x.reshape(2, -1)``.

    Raises:
        TypeError: if the shape is not made of ints.
        ValueError: if the element counts differ.
    """
    return _reshape(x, shape=_as_shape(shape))


def flatten(x: Any, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim`` .. ``end_dim`` (inclusive) into one; the default keeps the batch axis.

    Note that ``torch.flatten`` defaults to ``start_dim=0``; ours follows ``nn.Flatten`` (1).

    Raises:
        ValueError: if an axis is out of range or ``start_dim`` comes after ``end_dim``.
    """
    shape = shape_of(x, "x", "flatten")
    ndim = max(len(shape), 1)
    start = _check_axis(start_dim, ndim, "start_dim", "flatten", shape)
    end = _check_axis(end_dim, ndim, "end_dim", "flatten", shape)
    if start > end:
        raise ValueError(f"flatten: start_dim={start_dim} comes after end_dim={end_dim} for shape {shape}")
    return reshape(x, tuple(shape[:start]) + (-1,) + tuple(shape[end + 1 :]))


# --- permute / transpose ------------------------------------------------------------
def _permute_forward(x, *, dims):
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} must be a permutation of the {x.ndim} axes of shape {x.shape}")
    return np.transpose(x, dims), dims


def _permute_vjp(g, saved, needs_grad, *, dims):
    return (np.transpose(g, np.argsort(dims)),)


def _permute_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((2, 3, 4))
    return [Sample((x,), {"dims": (2, 0, 1)}), Sample((x,), {"dims": (0, 2, 1)}),
            Sample((rng.standard_normal((3, 2)),), {"dims": (1, 0)})]


_permute = register_op("permute", _permute_forward, _permute_vjp, defaults={"dims": None},
                       samples=_permute_samples, method=False, doc="The axes reordered.")


def permute(x: Any, *dims: Any) -> Tensor:
    """``x`` with its axes reordered: ``permute(x, (2, 0, 1))`` or ``x.permute(2, 0, 1)``.

    Raises:
        TypeError: if dims are not ints.
        ValueError: if dims are not a permutation of the axes.
    """
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"permute: dims must be ints, got {dims!r}")
    shape = shape_of(x, "x", "permute")
    ndim = len(shape)
    if len(dims) != ndim or not all(-ndim <= d < ndim for d in dims):
        raise ValueError(f"permute: dims {dims} must be a permutation of the {ndim} axes of shape {shape}")
    return _permute(x, dims=tuple(int(d) % ndim for d in dims))


def transpose(x: Any, dim0: int, dim1: int) -> Tensor:
    """``x`` with axes ``dim0`` and ``dim1`` swapped, as ``torch.transpose``."""
    shape = shape_of(x, "x", "transpose")
    ndim = len(shape)
    if ndim == 0:
        raise ValueError("transpose: a 0-d tensor has no axes to swap")
    a = _check_axis(dim0, ndim, "dim0", "transpose", shape)
    b = _check_axis(dim1, ndim, "dim1", "transpose", shape)
    dims = list(range(ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return _permute(x, dims=tuple(dims))


# --- indexing -------------------------------------------------------------------------
def _index_item(item: Any) -> Any:
    if item is None or item is Ellipsis:
        return item
    if isinstance(item, (bool, np.bool_)):
        raise TypeError(f"index: a bare bool is not a valid index, got {item!r}")
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, slice):
        for part in (item.start, item.stop, item.step):
            if part is not None and (not isinstance(part, (int, np.integer)) or isinstance(part, bool)):
                raise TypeError(f"index: slice bounds must be ints or None, got {item!r}")
        if item.step == 0:
            raise ValueError("index: slice step cannot be zero")
        return item
    if isinstance(item, Tensor):
        raise TypeError("index: a Tensor holds floats; index with an int ndarray or list instead")
    if isinstance(item, (list, tuple, np.ndarray)):
        array = np.array(item)
        if array.dtype.kind not in "iub" and not (array.size == 0 and array.dtype.kind == "f"):
            raise TypeError(f"index: arrays used as indices must be integer or bool, got dtype {array.dtype}")
        return array.astype(np.intp) if array.dtype.kind != "b" else array
    raise TypeError(f"index: only ints, slices, None, ..., and integer or bool arrays are valid, got {type(item).__name__}")


def normalize_index(index: Any) -> tuple:
    """An index as a tuple of ints, slices, None, Ellipsis and (copied) integer/bool arrays."""
    items = index if isinstance(index, tuple) else (index,)
    return tuple(_index_item(item) for item in items)


def _getitem_forward(x, *, index):
    try:
        out = x[index]
    except IndexError as error:
        raise TensorIndexError(f"index {_describe(index)} is invalid for a tensor of shape {x.shape}: {error}") from None
    basic = not any(isinstance(item, np.ndarray) for item in index)
    return np.array(out, copy=True) if basic else out, (x.shape, basic)


def _getitem_vjp(g, saved, needs_grad, *, index):
    shape, basic = saved
    grad = np.zeros(shape, dtype=g.dtype)
    if basic:
        grad[index] = g  # basic indexing never selects an element twice
    else:
        np.add.at(grad, index, g)  # integer arrays may repeat an element: scatter-add
    return (grad,)


def _describe(index: tuple) -> str:
    return "[" + ", ".join(f"array{item.shape}" if isinstance(item, np.ndarray) else repr(item) for item in index) + "]"


def _getitem_samples(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((4, 3, 5))
    return [
        Sample((x,), {"index": (1,)}),
        Sample((x,), {"index": (slice(1, None, 2), Ellipsis, slice(None, -1))}),
        Sample((x,), {"index": (np.array([0, 2, 2, 3]),)}),
        Sample((x,), {"index": (np.array([[0, 1], [3, 0]]), slice(None), np.array([4, 4]))}),
        Sample((x,), {"index": (None, 2, np.array([True, False, True]))}),
    ]


_getitem = register_op("getitem", _getitem_forward, _getitem_vjp, defaults={"index": ()},
                       samples=_getitem_samples, method=False,
                       doc="x[index] with ints, slices, None, ... and integer arrays; the gradient scatter-adds.")


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]`` with numpy semantics; repeated integer indices accumulate their gradients.

    Raises:
        TypeError: for an index of an unsupported type (a float array or a Tensor, say).
        TensorIndexError: (an IndexError and a ValueError) for an index out of range.
    """
    return _getitem(x, index=normalize_index(index))


Tensor.reshape = reshape
Tensor.flatten = flatten
Tensor.permute = permute
Tensor.transpose = transpose
Tensor.__getitem__ = getitem
