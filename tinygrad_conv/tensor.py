"""The Tensor and the backward engine.

A :class:`Tensor` wraps a numpy array. Applying an op to tensors that require
grad records one :class:`Node` on the result: the op, its input tensors and
what the op's vjp rule saved. ``backward`` walks those nodes in reverse
topological order and calls each op's vjp rule.

This module knows nothing about any particular op: ops come from
:mod:`tinygrad_conv.registry`, which also attaches them to ``Tensor`` as
methods and operators.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_grad_enabled = True


class no_grad:
    """Context manager (and decorator) in which ops record no graph."""

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack, so that one instance can be entered while active

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous.append(_grad_enabled)
        _grad_enabled = False

    def __exit__(self, *exc_info: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous.pop()

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
        return wrapper


def is_grad_enabled() -> bool:
    """Whether ops currently record the graph."""
    return _grad_enabled


def to_float_array(data: Any, dtype: Any = None, *, name: str = "data", copy: bool = True) -> np.ndarray:
    """Convert array-like ``data`` to a floating ndarray, or raise TypeError naming ``name``.

    A floating array keeps its dtype; ints, bools, Python scalars and lists become float64.
    With ``copy=False`` an ndarray that needs no conversion is returned as it is, not copied.
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        try:
            kind = np.dtype(dtype).kind
        except TypeError:
            raise TypeError(f"dtype must be a numpy floating dtype, got {dtype!r}") from None
        if kind != "f":
            raise TypeError(f"dtype must be a floating dtype (tensors hold floats), got {np.dtype(dtype)}")
    try:
        convert = np.array if copy else np.asarray
        array = convert(data) if dtype is None else convert(data, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be numeric array-like, got {type(data).__name__}: {error}") from None
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype.kind != "f":
        raise TypeError(f"{name} must be numeric (bool, int or float), got dtype {array.dtype}")
    return array


class Node:
    """One op application in the graph: everything backward needs to call its vjp rule."""

    __slots__ = ("attrs", "input_shapes", "inputs", "needs_grad", "op", "released", "saved")

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


class Tensor:
    """An n-dimensional array that records the ops applied to it.

    Args:
        data: array-like. A floating ndarray keeps its dtype; ints, bools, Python
            scalars and lists become float64 unless ``dtype`` is given. The data is copied.
        requires_grad: whether ``backward`` should fill ``.grad`` for this tensor.
        dtype: a numpy floating dtype to convert to.
        name: an optional label, shown by the graph renderer.
    """

    __slots__ = ("__weakref__", "_node", "_retains_grad", "data", "grad", "name", "requires_grad")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operator; np.exp(t) raises TypeError

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None):
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__}")
        self.data: np.ndarray = to_float_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._node: Node | None = None
        self._retains_grad = False

    @classmethod
    def _wrap(cls, data: np.ndarray, requires_grad: bool = False, node: Node | None = None) -> Tensor:
        """Make a tensor around an op's output without copying or validating it."""
        tensor = cls.__new__(cls)
        tensor.data, tensor.grad, tensor.requires_grad = data, None, requires_grad
        tensor.name, tensor._node, tensor._retains_grad = None, node, False
        return tensor

    shape = property(lambda self: self.data.shape, doc="The shape of ``data``.")
    ndim = property(lambda self: self.data.ndim, doc="The number of dimensions.")
    dtype = property(lambda self: self.data.dtype, doc="The numpy dtype of ``data``.")
    size = property(lambda self: self.data.size, doc="The number of elements.")
    is_leaf = property(lambda self: self._node is None, doc="True unless an op recorded this tensor.")
    node = property(lambda self: self._node, doc="The :class:`Node` that made this tensor, or None.")

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

    def __repr__(self) -> str:
        label = f", name={self.name!r}" if self.name else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self._node.op.name}" if self._node else ""
        return f"Tensor({np.array2string(self.data, precision=4, threshold=20)}{grad}{op}{label})"

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        Args:
            grad: the gradient flowing into this tensor. Optional for a one-element
                tensor (it seeds with 1); required otherwise, with this tensor's shape.
            retain_graph: keep the saved buffers so that backward can run again.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no leaf below it requires grad")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() on a non-scalar tensor of shape {self.shape} needs grad= of that shape"
                )
            seed = np.ones(self.shape, dtype=self.dtype)
        else:
            seed = to_float_array(grad, self.dtype, name="grad", copy=False)  # vjps never write into their g
            if seed.shape != self.shape:
                raise ValueError(f"grad has shape {seed.shape}, but the tensor has shape {self.shape}")
        run_backward(self, seed, retain_graph)


def as_input(value: Any, like: Tensor | None, op_name: str, input_name: str) -> Tensor | None:
    """Turn an op argument into a Tensor. Python scalars take the dtype of ``like``."""
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.number)) and like is not None:
        return Tensor._wrap(np.asarray(value, dtype=like.dtype))
    if isinstance(value, (bool, int, float, np.number, np.ndarray, list, tuple)):
        return Tensor._wrap(to_float_array(value, name=f"{op_name}() argument '{input_name}'"))
    raise TypeError(f"{op_name}() argument '{input_name}' must be a Tensor, ndarray or number, got {type(value).__name__}")


def _protect(saved: Any, unsafe: list[np.ndarray]) -> Any:
    """Copy saved arrays (alone or inside tuples, lists and dicts) that share memory with a tensor's data.

    The user may change ``tensor.data`` in place after the forward; backward must
    still see the values the forward used.
    """
    if isinstance(saved, np.ndarray):
        for array in unsafe:
            if np.may_share_memory(saved, array):
                return saved.copy()
        return saved
    if isinstance(saved, (tuple, list)):
        return type(saved)([_protect(item, unsafe) for item in saved])
    if isinstance(saved, dict):
        return {key: _protect(item, unsafe) for key, item in saved.items()}
    return saved


def apply(op: Any, *inputs: Any, **attrs: Any) -> Tensor:
    """Run ``op.forward`` on the inputs' data and, when grad is on, record a Node."""
    like = None
    for x in inputs:
        if isinstance(x, Tensor):
            like = x
            break
    tensors, arrays, needs_grad = [], [], []
    for index, x in enumerate(inputs):
        if x is None:
            if op.inputs[index] not in op.optional:
                raise TypeError(f"{op.name}() argument '{op.inputs[index]}' must be a Tensor, ndarray or number, got None")
        elif not isinstance(x, Tensor):
            x = as_input(x, like, op.name, op.inputs[index])
        tensors.append(x)
        arrays.append(None if x is None else x.data)
        needs_grad.append(x is not None and x.requires_grad)
    out, saved = op.forward(*arrays, **attrs)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if not (_grad_enabled and True in needs_grad):
        return Tensor._wrap(out)
    unsafe = [a for a in arrays if a is not None]
    unsafe.append(out)
    shapes = tuple(None if a is None else a.shape for a in arrays)
    node = Node(op, tuple(tensors), _protect(saved, unsafe), attrs, tuple(needs_grad), shapes)
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
    """Sum a broadcast gradient back to an input's ``shape``: the one place broadcasting is undone."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(g != s and s != 1 for g, s in zip(grad.shape[extra:], shape)):
        raise RuntimeError(
            f"the vjp of op '{op_name}' returned a gradient of shape {grad.shape} for input "
            f"'{input_name}' of shape {shape}; it cannot be reduced to that shape"
        )
    axes = tuple(range(extra)) + tuple(extra + i for i, s in enumerate(shape) if s == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


def _accumulate_grad(tensor: Tensor, grad: np.ndarray) -> None:
    """Add ``grad`` into ``tensor.grad`` (a fresh array: two leaves never share one)."""
    if tensor.grad is None:
        tensor.grad = np.array(grad)
    elif tensor.grad.shape != grad.shape:
        raise RuntimeError(
            f"cannot accumulate a gradient of shape {grad.shape} into the existing .grad of shape "
            f"{tensor.grad.shape}; set .grad = None (optimizer.zero_grad()) after changing the tensor's shape"
        )
    else:
        tensor.grad = np.asarray(tensor.grad + grad)


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
    for tensor in reversed(order):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        node = tensor._node
        if node is None or tensor._retains_grad:
            _accumulate_grad(tensor, grad)
        if node is None:
            continue
        input_grads = node.op.vjp(grad, node.saved, node.needs_grad, **node.attrs)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for index, (parent, parent_grad) in enumerate(zip(node.inputs, input_grads)):
            if parent_grad is None or not node.needs_grad[index]:
                continue
            if type(parent_grad) is not np.ndarray:
                parent_grad = np.asarray(parent_grad)
            data, shape = parent.data, node.input_shapes[index]
            if data.shape != shape:
                raise RuntimeError(
                    f"input '{node.op.inputs[index]}' of op '{node.op.name}' had shape {shape} in the forward, but "
                    f"its tensor's data was replaced with shape {data.shape} before backward"
                )
            if parent_grad.shape != shape:
                parent_grad = reduce_to_shape(parent_grad, shape, node.op.name, node.op.inputs[index])
            if parent_grad.dtype != data.dtype:
                parent_grad = parent_grad.astype(data.dtype)
            previous = grads.get(id(parent))
            grads[id(parent)] = parent_grad if previous is None else previous + parent_grad
        if not retain_graph:
            node.saved, node.released = None, this_pass
    this_pass.finished = True
