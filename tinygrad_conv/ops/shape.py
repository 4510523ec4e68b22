"""Shape ops: reshape/view, flatten, permute/transpose, squeeze, expand, repeat, cat/stack/split, and indexing.

Only ``reshape``, ``permute``, ``expand``, ``repeat``, ``cat`` and ``getitem`` are ops with
vjp rules; the rest are built from them.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .._checks import check_dim, shape_of
from ..registry import Sample, register_function, register_op
from ..tensor import Tensor


class TensorIndexError(IndexError, ValueError):
    """An index out of range. Both an IndexError (so Python's iteration protocol works) and a
    ValueError (the project's bad-argument error), as numpy's AxisError is."""


def _as_ints(values: tuple, what: str, op_name: str) -> tuple[int, ...]:
    """Varargs ``(2, 3)`` or one sequence ``((2, 3),)`` as a tuple of ints."""
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = tuple(values[0])
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        raise TypeError(f"{op_name}: {what} must be ints or a tuple of ints, got {values!r}")
    return tuple(int(v) for v in values)


# --- reshape / view -------------------------------------------------------------------
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


_reshape = register_op("reshape", _reshape_forward, _reshape_vjp, inputs=("input",), defaults={"shape": None},
                       samples=_reshape_samples, method=False, doc="The same elements in a new shape.")


@register_function(method=("reshape", "view"))
def reshape(input: Tensor | np.ndarray, *shape: Any) -> Tensor:
    """``input`` with a new shape, as ``torch.reshape``: ``reshape(x, (2, -1))`` or ``x.reshape(2, -1)``.

    ``x.view(...)`` is the same (numpy arrays have no strides to keep, so it always works).

    Raises:
        TypeError: if the shape is not made of ints.
        ValueError: if the element counts differ.
    """
    return _reshape(input, shape=_as_ints(shape, "shape", "reshape"))


@register_function
def flatten(input: Tensor | np.ndarray, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim`` .. ``end_dim`` (inclusive) into one; by default every axis, as ``torch.flatten``.

    ``nn.Flatten`` starts at 1 and keeps the batch axis.

    Raises:
        ValueError: if an axis is out of range or ``start_dim`` comes after ``end_dim``.
    """
    shape = shape_of(input, "input", "flatten")
    if not shape:
        return reshape(input, (1,))
    start = check_dim(start_dim, len(shape), "start_dim", "flatten", shape)
    end = check_dim(end_dim, len(shape), "end_dim", "flatten", shape)
    if start > end:
        raise ValueError(f"flatten: start_dim={start_dim} comes after end_dim={end_dim} for shape {shape}")
    return reshape(input, tuple(shape[:start]) + (-1,) + tuple(shape[end + 1 :]))


@register_function
def unflatten(input: Tensor | np.ndarray, dim: int, sizes: Any) -> Tensor:
    """Split axis ``dim`` into ``sizes`` (one entry may be -1), as ``torch.unflatten``.

    Raises:
        ValueError: if the sizes do not multiply to the axis's length.
    """
    shape = shape_of(input, "input", "unflatten")
    axis = check_dim(dim, len(shape), "dim", "unflatten", shape)
    sizes = _as_ints((sizes,), "sizes", "unflatten")
    known = int(np.prod([s for s in sizes if s != -1]))
    if (-1 in sizes and (known == 0 or shape[axis] % known)) or (-1 not in sizes and known != shape[axis]):
        raise ValueError(f"unflatten: sizes {sizes} do not fill dim {dim} of length {shape[axis]} (input {shape})")
    return reshape(input, tuple(shape[:axis]) + sizes + tuple(shape[axis + 1 :]))


@register_function
def squeeze(input: Tensor | np.ndarray, dim: int | tuple[int, ...] | None = None) -> Tensor:
    """Drop axes of size 1: all of them, or those among ``dim`` (others are kept), as ``torch.squeeze``."""
    shape = shape_of(input, "input", "squeeze")
    if dim is None:
        dims = {i for i, n in enumerate(shape) if n == 1}
    else:
        dims = {check_dim(d, len(shape), "dim", "squeeze", shape) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
    return reshape(input, tuple(n for i, n in enumerate(shape) if not (i in dims and n == 1)))


@register_function
def unsqueeze(input: Tensor | np.ndarray, dim: int) -> Tensor:
    """Insert an axis of size 1 at position ``dim`` (negative counts from the end of the result)."""
    shape = shape_of(input, "input", "unsqueeze")
    axis = check_dim(dim, len(shape) + 1, "dim", "unsqueeze", shape)
    return reshape(input, tuple(shape[:axis]) + (1,) + tuple(shape[axis:]))


# --- permute / transpose ----------------------------------------------------------------
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


_permute = register_op("permute", _permute_forward, _permute_vjp, inputs=("input",), defaults={"dims": None},
                       samples=_permute_samples, method=False, doc="The axes reordered.")


@register_function
def permute(input: Tensor | np.ndarray, *dims: Any) -> Tensor:
    """``input`` with its axes reordered: ``permute(x, (2, 0, 1))`` or ``x.permute(2, 0, 1)``.

    Raises:
        TypeError: if dims are not ints.
        ValueError: if dims are not a permutation of the axes.
    """
    dims = _as_ints(dims, "dims", "permute")
    shape = shape_of(input, "input", "permute")
    ndim = len(shape)
    if len(dims) != ndim or not all(-ndim <= d < ndim for d in dims):
        raise ValueError(f"permute: dims {dims} must be a permutation of the {ndim} axes of shape {shape}")
    return _permute(input, dims=tuple(d % ndim for d in dims))


@register_function
def transpose(input: Tensor | np.ndarray, dim0: int, dim1: int) -> Tensor:
    """``input`` with axes ``dim0`` and ``dim1`` swapped, as ``torch.transpose``."""
    shape = shape_of(input, "input", "transpose")
    ndim = len(shape)
    if ndim == 0:
        return reshape(input, ())
    a = check_dim(dim0, ndim, "dim0", "transpose", shape)
    b = check_dim(dim1, ndim, "dim1", "transpose", shape)
    dims = list(range(ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return _permute(input, dims=tuple(dims))


# --- expand / repeat ------------------------------------------------------------------------
def _expand_forward(x, *, size):
    if len(size) < x.ndim:
        raise ValueError(f"expand: size {size} has fewer dims than the input {x.shape}")
    lead = len(size) - x.ndim
    target = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(size))
    try:
        return np.broadcast_to(x, target).copy()
    except ValueError:
        raise ValueError(f"expand: the input {x.shape} cannot expand to size {size}: "
                         "only axes of size 1 can grow") from None


def _expand_vjp(g, saved, needs_grad, *, size):
    return (g,)  # the engine sums the broadcast gradient back to the input's shape


def _repeat_forward(x, *, repeats):
    if len(repeats) < x.ndim:
        raise ValueError(f"repeat: repeats {repeats} has fewer dims than the input {x.shape}")
    if builtins.min(repeats, default=1) < 0:
        raise ValueError(f"repeat: repeats must be >= 0, got {repeats}")
    return np.tile(x, repeats), x.shape


def _repeat_vjp(g, shape, needs_grad, *, repeats):
    full = (1,) * (len(repeats) - len(shape)) + tuple(shape)
    split = [n for pair in zip(repeats, full) for n in pair]
    grad = g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
    return (grad.reshape(shape),)


def _expand_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.standard_normal((3, 1)),), {"size": (2, 3, 4)}), Sample((rng.standard_normal((1, 4)),), {"size": (-1, 4)})]


def _repeat_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.standard_normal((2, 3)),), {"repeats": (2, 1)}), Sample((rng.standard_normal((3,)),), {"repeats": (2, 2)})]


_expand = register_op("expand", _expand_forward, _expand_vjp, inputs=("input",), defaults={"size": None},
                      samples=_expand_samples, method=False, doc="The input broadcast to a larger size.")
_repeat = register_op("repeat", _repeat_forward, _repeat_vjp, inputs=("input",), defaults={"repeats": None},
                      samples=_repeat_samples, method=False, doc="The input tiled along each axis.")


@register_function
def expand(input: Tensor | np.ndarray, *size: Any) -> Tensor:
    """``input`` broadcast to ``size``, as ``Tensor.expand``: axes of size 1 grow, -1 keeps an axis.

    Raises:
        ValueError: if an axis that is not 1 would change.
    """
    return _expand(input, size=_as_ints(size, "size", "expand"))


@register_function
def repeat(input: Tensor | np.ndarray, *repeats: Any) -> Tensor:
    """``input`` tiled ``repeats[i]`` times along axis i, as ``Tensor.repeat`` (numpy's ``tile``)."""
    return _repeat(input, repeats=_as_ints(repeats, "repeats", "repeat"))


# --- cat / stack / split / chunk -------------------------------------------------------------
def _cat_forward(*arrays, dim):
    first = arrays[0]
    if first.ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    axis = check_dim(dim, first.ndim, "dim", "cat", first.shape)
    for i, a in enumerate(arrays[1:], 1):
        if a.ndim != first.ndim or a.shape[:axis] + a.shape[axis + 1 :] != first.shape[:axis] + first.shape[axis + 1 :]:
            raise ValueError(f"cat: tensors[{i}] has shape {a.shape}, which does not match tensors[0] {first.shape} "
                             f"outside dim {dim}")
    bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
    return np.concatenate(arrays, axis=axis), (axis, bounds)


def _cat_vjp(g, saved, needs_grad, *, dim):
    axis, bounds = saved
    return tuple(np.split(g, bounds, axis=axis))


def _cat_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [Sample((r((2, 3)), r((1, 3)), r((4, 3))), {"dim": 0}), Sample((r((2, 3)), r((2, 1))), {"dim": -1})]


cat = register_op("cat", _cat_forward, _cat_vjp, inputs=("tensors",), defaults={"dim": 0}, variadic=True,
                  samples=_cat_samples, method=False,
                  doc="The tensors joined along an existing axis ``dim``; shapes must agree elsewhere.")


@register_function(method=False)
def stack(tensors: Any, dim: int = 0) -> Tensor:
    """The tensors (all of one shape) joined along a new axis ``dim``, as ``torch.stack``.

    Raises:
        ValueError: if the shapes differ.
    """
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)) or not tensors:
        raise TypeError(f"stack() expects a non-empty sequence of tensors, got {type(tensors).__name__}")
    shapes = [shape_of(t, f"tensors[{i}]", "stack") for i, t in enumerate(tensors)]
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"stack: every tensor must have the same shape, got {shapes}")
    return cat([unsqueeze(t if isinstance(t, Tensor) else Tensor(t), dim) for t in tensors], dim)


@register_function
def split(tensor: Tensor | np.ndarray, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``tensor`` along ``dim``: of ``split_size_or_sections`` each (the last may be shorter), or of the given sizes.

    Raises:
        ValueError: if the sizes do not add up to the axis's length.
    """
    shape = shape_of(tensor, "tensor", "split")
    axis = check_dim(dim, len(shape), "dim", "split", shape)
    length = shape[axis] if shape else 1
    if isinstance(split_size_or_sections, (int, np.integer)) and not isinstance(split_size_or_sections, bool):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be > 0, got {step}")
        sizes = [builtins.min(step, length - start) for start in range(0, length, step)] or [0]
    else:
        sizes = list(_as_ints((split_size_or_sections,), "split_size_or_sections", "split"))
        if builtins.sum(sizes) != length or builtins.min(sizes) < 0:
            raise ValueError(f"split: sizes {sizes} do not add up to dim {dim} of length {length} (tensor {shape})")
    starts = np.cumsum([0] + sizes)
    index = (slice(None),) * axis
    return tuple(getitem(tensor, index + (slice(int(a), int(b)),)) for a, b in zip(starts[:-1], starts[1:]))


@register_function
def chunk(input: Tensor | np.ndarray, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split ``input`` into ``chunks`` pieces of ceil(length / chunks) along ``dim`` (fewer if they run out)."""
    if not isinstance(chunks, (int, np.integer)) or isinstance(chunks, bool) or chunks < 1:
        raise ValueError(f"chunk: chunks must be an int >= 1, got {chunks!r}")
    shape = shape_of(input, "input", "chunk")
    length = shape[check_dim(dim, len(shape), "dim", "chunk", shape)]
    return split(input, builtins.max(1, -(-length // int(chunks))), dim)


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


_getitem = register_op("getitem", _getitem_forward, _getitem_vjp, inputs=("input",), defaults={"index": ()},
                       samples=_getitem_samples, method=False,
                       doc="x[index] with ints, slices, None, ... and integer arrays; the gradient scatter-adds.")


@register_function(method=("__getitem__",))
def getitem(input: Tensor | np.ndarray, index: Any) -> Tensor:
    """``input[index]`` with numpy semantics; repeated integer indices accumulate their gradients.

    Raises:
        TypeError: for an index of an unsupported type (a float array or a Tensor, say).
        TensorIndexError: (an IndexError and a ValueError) for an index out of range.
    """
    return _getitem(input, index=normalize_index(index))
