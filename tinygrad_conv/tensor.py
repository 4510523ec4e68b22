"""The Tensor and the backward engine.

A ``Tensor`` wraps a numpy array. Applying an op to tensors that require
grad records one ``Node`` on the result: the op, its input tensors and
what the op's vjp rule saved. ``backward`` walks those nodes in reverse
topological order and calls each op's vjp rule.

This module knows nothing about any particular op: ops come from
``tinygrad_conv.registry``, which also attaches them to ``Tensor`` as
methods and operators.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .dtypes import _default_dtype, floating_dtype, get_default_dtype, set_default_dtype
from .grad_mode import _thread, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, swap_profiler
from .tensor_protocols import TensorProtocols

__all__ = [  # the grad-mode and dtype names are re-exported: tensor.py is where the engine's users look
    "Node", "Tensor", "apply", "enable_grad", "floating_dtype", "get_default_dtype", "is_grad_enabled", "no_grad",
    "run_backward", "set_default_dtype", "set_grad_enabled", "swap_profiler", "to_float_array",
]

def to_float_array(data: Any, dtype: Any = None, *, name: str = "data", copy: bool = True) -> np.ndarray:
    """Convert array-like ``data`` to a floating ndarray, or raise TypeError naming ``name``.

    A floating array keeps its dtype; ints, bools, Python scalars and lists become the
    default dtype (``get_default_dtype``). With ``copy=False`` an ndarray that needs no
    conversion is returned as it is, not copied.

    Raises:
        TypeError: for a non-numeric value, a non-floating ``dtype``, or a complex array.
        ValueError: for a ragged nested sequence or a number too large for a float.
    """
    if isinstance(data, Tensor):
        data = data.data
    elif data is None or isinstance(data, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be numeric array-like, got {type(data).__name__}")
    if dtype is not None:
        dtype = floating_dtype(dtype)
    else:
        kind = getattr(getattr(data, "dtype", None), "kind", None)
        if kind in ("c", "O", "U", "S", "M", "m", "V"):
            raise TypeError(f"{name} must be real numbers (bool, int or float), got dtype {data.dtype}")
        if kind != "f":  # Python numbers, lists, int and bool arrays: the default floating dtype
            dtype = _default_dtype[0]
    try:
        convert = np.array if copy else np.asarray
        array = convert(data) if dtype is None else convert(data, dtype=dtype)
    except OverflowError as error:
        raise ValueError(f"{name} holds a number too large for a float: {error}") from None
    except ValueError as error:
        if "inhomogeneous" in str(error) or "sequence" in str(error):
            raise ValueError(f"{name} is a ragged sequence, not a rectangular array: {error}") from None
        raise TypeError(f"{name} must be numeric array-like, got {type(data).__name__}: {error}") from None
    except TypeError as error:
        raise TypeError(f"{name} must be numeric array-like, got {type(data).__name__}: {error}") from None
    if array.dtype.kind != "f":
        raise TypeError(f"{name} must be numeric (bool, int or float), got dtype {array.dtype}")
    return array


class Node:
    """One op application in the graph: everything backward needs to call its vjp rule."""

    __slots__ = ("__weakref__", "attrs", "input_shapes", "inputs", "needs_grad", "op", "released", "saved")

    def __init__(self, op: Any, inputs: tuple, saved: Any, attrs: dict, needs_grad: tuple[bool, ...],
                 input_shapes: tuple):
        self.op = op
        self.inputs = inputs
        self.saved = saved
        self.attrs = attrs
        self.needs_grad = needs_grad
        self.input_shapes = input_shapes  # as in the forward, in case a tensor's data is replaced later
        self.released = False

    def __repr__(self) -> str:
        return f"<Node {self.op.name}>"


class Tensor(TensorProtocols):
    """An n-dimensional array that records the ops applied to it.

    Args:
        data: array-like. A floating ndarray keeps its dtype; ints, bools, Python
            scalars and lists become the default dtype (float64 unless changed by
            ``set_default_dtype``) unless ``dtype`` is given. The data is copied.
        requires_grad: whether ``backward`` should fill ``.grad`` for this tensor.
        dtype: a numpy floating dtype to convert to.
        name: an optional label, shown by the graph renderer.

    Besides the ops (each registered op is also a method), a Tensor speaks both numpy's and
    PyTorch's protocols: ``np.asarray(t)``, ``float(t)``, ``len(t)``, iteration, comparisons,
    ``t.size`` (numpy's element count) and ``t.size()`` (PyTorch's shape), ``t.dim()``, ``t.T``,
    ``t.tolist()``, and a PyTorch-style ``repr``. A ``torch.Tensor`` given as ``data`` is copied
    through its ``.detach().cpu().numpy()``, keeping its float32 or float64 dtype.
    """

    __slots__ = ("__weakref__", "_data", "_node", "_retains_grad", "grad", "name", "requires_grad")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operator; np.exp(t) raises TypeError

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None):
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__}")
        if type(data).__module__.startswith("torch") and hasattr(data, "detach"):  # torch.Tensor, Parameter
            data = data.detach().cpu().numpy()
        self._data: np.ndarray = to_float_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._node: Node | None = None
        self._retains_grad = False

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool = False, node: Node | None = None) -> Tensor:
        """Make a tensor around an op's output without copying or validating it."""
        tensor = cls.__new__(cls)
        tensor._data, tensor.grad, tensor.requires_grad = data, None, requires_grad
        tensor.name, tensor._node, tensor._retains_grad = None, node, False
        return tensor

    @property
    def data(self) -> np.ndarray:
        """The values, a floating ndarray. Assigning converts ints and bools to the default dtype."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = to_float_array(value, name="data", copy=False)

    shape = property(lambda self: self._data.shape, doc="The shape of ``data``.")
    ndim = property(lambda self: self._data.ndim, doc="The number of dimensions.")
    dtype = property(lambda self: self._data.dtype, doc="The numpy dtype of ``data``.")

    class _Numel(int):
        """numpy's ``x.size`` (the element count, an int) that PyTorch code may also call: ``x.size(dim=None)``."""

        def __call__(self, dim: int | None = None) -> tuple[int, ...] | int:
            """The shape as a tuple (PyTorch returns a tuple-like ``torch.Size``), or the length of axis ``dim``.

            Raises:
                TypeError: if ``dim`` is not an int.
                ValueError: if ``dim`` is out of range.
            """
            if dim is None:
                return self.shape
            if not isinstance(dim, (int, np.integer)) or isinstance(dim, (bool, np.bool_)):
                raise TypeError(f"size(): dim must be an int or None, got {dim!r}")
            if not -len(self.shape) <= dim < len(self.shape):
                raise ValueError(f"size(): dim={dim} is out of range for a tensor of shape {self.shape}")
            return self.shape[dim]

    @property
    def size(self) -> _Numel:
        """The number of elements, as numpy's ``x.size``; calling it, ``x.size()`` or ``x.size(dim)``, is PyTorch's."""
        numel = Tensor._Numel(self._data.size)
        numel.shape = self._data.shape
        return numel

    is_leaf = property(lambda self: self._node is None, doc="True unless an op recorded this tensor.")
    node = property(lambda self: self._node, doc="The ``Node`` that made this tensor, or None.")

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._wrap(self.data)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward, as leaves do."""
        self._retains_grad = True

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None, *, grad: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        Args:
            gradient: the gradient flowing into this tensor. Optional for a one-element
                tensor (it seeds with 1); required otherwise, with this tensor's shape.
            retain_graph: keep the saved buffers so that backward can run again.
            grad: another name for ``gradient``.

        Raises:
            RuntimeError: if nothing below this tensor requires grad, or the graph was freed.
            ValueError: if the gradient's shape differs from this tensor's.
            TypeError: if both ``gradient`` and ``grad`` are given.
        """
        if grad is not None:
            if gradient is not None:
                raise TypeError("backward() got both gradient= and its alias grad=; give one")
            gradient = grad
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no leaf below it requires grad")
        if gradient is None:
            if self._data.size != 1:
                raise ValueError(
                    f"backward() on a non-scalar tensor of shape {self.shape} needs gradient= of that shape"
                )
            seed = np.ones(self.shape, dtype=self.dtype)
        else:
            seed = to_float_array(gradient, self.dtype, name="gradient", copy=False)  # vjps never write into it
            if seed.shape != self.shape:
                raise ValueError(f"gradient has shape {seed.shape}, but the tensor has shape {self.shape}")
        run_backward(self, seed, bool(retain_graph))


def as_input(value: Any, like: Tensor | None, op_name: str, input_name: str) -> Tensor | None:
    """Turn an op argument into a Tensor.

    Python numbers, lists and integer arrays take the dtype of ``like`` (the op's first
    Tensor argument); a floating ndarray keeps its dtype, and numpy's promotion decides.
    """
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.number)) and like is not None:
        try:
            return Tensor._wrap(np.asarray(value, dtype=like.dtype))
        except OverflowError:
            raise ValueError(f"{op_name}() argument '{input_name}' is too large for a float: {value!r}") from None
    if isinstance(value, (bool, int, float, np.number, np.ndarray, list, tuple)):
        dtype = like.dtype if like is not None and getattr(value, "dtype", np.dtype(int)).kind != "f" else None
        return Tensor._wrap(to_float_array(value, dtype, name=f"{op_name}() argument '{input_name}'", copy=False))
    raise TypeError(f"{op_name}() argument '{input_name}' must be a Tensor, ndarray or number, got {type(value).__name__}")


def _protect(saved: Any, unsafe: tuple[np.ndarray, ...]) -> Any:
    """Copy saved arrays (alone or inside tuples, lists and dicts) that share memory with a tensor's data.

    The user may change ``tensor.data`` in place after the forward; backward must still see
    the values the forward used. Ops keep this cheap by saving what aliases nothing (a mask,
    a fresh buffer) where they can.
    """
    kind = type(saved)
    if kind is np.ndarray:
        for array in unsafe:
            if saved is array or np.may_share_memory(saved, array):
                return saved.copy()
        return saved
    if kind is tuple or kind is list:
        return kind(_protect(item, unsafe) for item in saved)
    if kind is dict:
        return {key: _protect(item, unsafe) for key, item in saved.items()}
    if isinstance(saved, np.ndarray):  # an ndarray subclass
        return _protect(np.asarray(saved), unsafe)
    return saved


def _forward_result(op: Any, result: Any) -> tuple[np.ndarray, Any]:
    """Split what ``op.forward`` returned into (out, saved), or raise naming the op."""
    if type(result) is tuple:
        if len(result) != 2:
            raise TypeError(f"op '{op.name}': forward must return (out, saved) or out, got a tuple of {len(result)}")
        out, saved = result
    else:
        out, saved = result, None
    if type(out) is not np.ndarray:
        if not isinstance(out, (np.ndarray, np.floating)):
            raise TypeError(f"op '{op.name}': forward must return a floating ndarray, got {type(out).__name__}")
        out = np.asarray(out)
    if out.dtype.kind != "f":
        raise TypeError(f"op '{op.name}': forward must return a floating ndarray, got dtype {out.dtype}")
    return out, saved


def apply(op: Any, *inputs: Any, **attrs: Any) -> Tensor:
    """Run ``op.forward`` on the inputs' data and, when grad is on, record a Node."""
    tensors = inputs
    if not all(type(x) is Tensor for x in inputs):  # numbers, arrays or None among them: convert first
        like = next((x for x in inputs if isinstance(x, Tensor)), None)
        converted = []
        for index, x in enumerate(inputs):
            if x is None:
                if op.variadic or op.inputs[index] not in op.optional:
                    raise TypeError(f"{op.name}() argument '{op.input_name(index)}' must be a Tensor, ndarray or "
                                    "number, got None")
            elif not isinstance(x, Tensor):
                x = as_input(x, like, op.name, op.input_name(index))
            converted.append(x)
        tensors = tuple(converted)
    arrays = [None if x is None else x._data for x in tensors]
    profiler = _thread.profiler
    if profiler is None:
        out, saved = _forward_result(op, op.forward(*arrays, **attrs))
    else:
        start = profiler.clock()
        out, saved = _forward_result(op, op.forward(*arrays, **attrs))
        seconds = profiler.clock() - start
    needs_grad = tuple(x is not None and x.requires_grad for x in tensors)
    if not (_thread.grad_enabled and True in needs_grad):
        if profiler is not None:
            profiler.record_forward(op, None, seconds)
        return Tensor._wrap(out)
    if saved is not None:
        saved = _protect(saved, (*(a for a in arrays if a is not None), out))
    shapes = tuple(None if a is None else a.shape for a in arrays)
    node = Node(op, tensors, saved, attrs, needs_grad, shapes)
    if profiler is not None:
        profiler.record_forward(op, node, seconds)
    return Tensor._wrap(out, requires_grad=True, node=node)


def topological_order(roots: Sequence[Tensor], requires_grad_only: bool = False) -> list[Tensor]:
    """Tensors reachable from ``roots`` through recorded nodes, inputs before outputs.

    Iterative depth-first search, so deep graphs never hit Python's recursion limit.
    With ``requires_grad_only`` it does not enter tensors that need no gradient.
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        tensor, children_done = stack.pop()
        if children_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._node is not None:
            for parent in tensor._node.inputs:
                if parent is not None and id(parent) not in visited and (parent.requires_grad or not requires_grad_only):
                    stack.append((parent, False))
    return order


def reduce_to_shape(grad: np.ndarray, shape: tuple[int, ...], op_name: str, input_name: str) -> np.ndarray:
    """Sum a broadcast gradient back to an input's ``shape``: the one place broadcasting is undone.

    Raises:
        ValueError: if ``grad``'s shape does not broadcast to ``shape``, naming the op and input.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(g != s and s != 1 for g, s in zip(grad.shape[extra:], shape)):
        raise ValueError(
            f"op '{op_name}': its vjp returned a gradient of shape {grad.shape} for input "
            f"'{input_name}' of shape {shape}; it must have the input's shape (or one that broadcasts to it)"
        )
    axes = tuple(range(extra)) + tuple(extra + i for i, s in enumerate(shape) if s == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


def _accumulate_grad(tensor: Tensor, grad: np.ndarray) -> None:
    """Add ``grad`` into ``tensor.grad``: a fresh array the first time (two leaves never share one), then in place."""
    existing = tensor.grad
    if existing is None:
        tensor.grad = np.array(grad)  # a copy: grad may be a view of another tensor's gradient
    elif existing.shape != grad.shape:
        raise RuntimeError(
            f"cannot accumulate a gradient of shape {grad.shape} into the existing .grad of shape "
            f"{existing.shape}; set .grad = None (optimizer.zero_grad()) after changing the tensor's shape"
        )
    elif type(existing) is np.ndarray and existing.flags.writeable and existing.dtype == grad.dtype:
        np.add(existing, grad, out=existing)  # as PyTorch: .grad accumulates in place
    else:
        tensor.grad = np.asarray(existing + grad)


def _input_grads(node: Node, result: Any) -> tuple:
    """Check what ``node.op.vjp`` returned: a tuple with one entry per input, an array wherever one is needed."""
    op = node.op
    if type(result) is not tuple:
        raise TypeError(f"op '{op.name}': vjp must return a tuple with one gradient per input {op.inputs}, "
                        f"got {type(result).__name__}")
    if len(result) != len(node.inputs):
        raise TypeError(f"op '{op.name}': vjp returned {len(result)} gradient(s) for {len(node.inputs)} input(s) "
                        f"{op.inputs}")
    for index, grad in enumerate(result):
        if type(grad) is np.ndarray and grad.dtype.kind == "f":
            continue
        if grad is None:
            if node.needs_grad[index]:
                raise TypeError(f"op '{op.name}': vjp returned None for input '{op.input_name(index)}', "
                                "which needs a gradient")
        elif not isinstance(grad, (np.ndarray, np.floating)) or np.asarray(grad).dtype.kind != "f":
            raise TypeError(f"op '{op.name}': vjp returned {type(grad).__name__} {getattr(grad, 'dtype', '')} "
                            f"for input '{op.input_name(index)}'; expected a floating ndarray")
    return result


class _BackwardPass:
    """Marks the nodes one backward released; ``finished`` stays False if a vjp raised part-way."""

    __slots__ = ("finished",)

    def __init__(self) -> None:
        self.finished = False


def run_backward(root: Tensor, seed: np.ndarray, retain_graph: bool) -> None:
    """Back-propagate ``seed`` from ``root`` through the recorded graph."""
    order = topological_order([root], requires_grad_only=True)
    for tensor in order:
        if tensor._node is not None and tensor._node.released:
            if not tensor._node.released.finished:
                raise RuntimeError(
                    "backward through a graph whose earlier backward() raised part-way, after freeing some "
                    "saved buffers: run the forward again (and zero the grads, which may hold part of that pass)"
                )
            raise RuntimeError(
                "backward through a graph a second time: its saved buffers were freed by the first "
                "backward. Pass retain_graph=True to the first backward() call to keep them."
            )
    this_pass = _BackwardPass()
    grads: dict[int, np.ndarray] = {id(root): seed}
    summed: set[int] = set()  # the sums made here: fresh arrays, so later gradients add into them in place
    for tensor in reversed(order):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        summed.discard(id(grad))  # popped: its id may be reused by an array that is not ours
        node = tensor._node
        if node is None or tensor._retains_grad:
            _accumulate_grad(tensor, grad)
        if node is None:
            continue
        profiler = _thread.profiler
        if profiler is None:
            input_grads = _input_grads(node, node.op.vjp(grad, node.saved, node.needs_grad, **node.attrs))
        else:
            start = profiler.clock()
            input_grads = _input_grads(node, node.op.vjp(grad, node.saved, node.needs_grad, **node.attrs))
            profiler.record_backward(node.op, node, profiler.clock() - start)
        for index, (parent, parent_grad) in enumerate(zip(node.inputs, input_grads)):
            if parent_grad is None or not node.needs_grad[index]:
                continue
            if type(parent_grad) is not np.ndarray:
                parent_grad = np.asarray(parent_grad)
            data, shape = parent._data, node.input_shapes[index]
            if data.shape != shape:
                raise RuntimeError(
                    f"input '{node.op.input_name(index)}' of op '{node.op.name}' had shape {shape} in the forward, but "
                    f"its tensor's data was replaced with shape {data.shape} before backward"
                )
            if parent_grad.shape != shape:
                parent_grad = reduce_to_shape(parent_grad, shape, node.op.name, node.op.input_name(index))
            if parent_grad.dtype != data.dtype:
                parent_grad = parent_grad.astype(data.dtype)
            previous = grads.get(id(parent))
            if previous is None:
                grads[id(parent)] = parent_grad
            elif id(previous) in summed:
                np.add(previous, parent_grad, out=previous)
            else:
                total = np.asarray(previous + parent_grad)  # a 0-d sum comes back as a numpy scalar
                summed.add(id(total))
                grads[id(parent)] = total
        if not retain_graph:
            node.saved, node.released = None, this_pass
    this_pass.finished = True
