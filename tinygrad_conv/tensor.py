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

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

class _ThreadState(threading.local):
    """Per-thread engine state: each thread starts with grad mode on, as in PyTorch."""

    grad_enabled = True
    profiler: Any = None  # set by tinygrad_conv.profiler.profile while it records this thread's ops


_thread = _ThreadState()


class set_grad_enabled:
    """Turn graph recording on or off in this thread; other threads are never affected.

    Use it as a function (``set_grad_enabled(False)``), as a context manager
    (``with set_grad_enabled(False): ...`` restores the previous mode on exit), or as a
    decorator (``@set_grad_enabled(False)``).

    Args:
        mode: True to record the graph, False not to.

    Raises:
        TypeError: if ``mode`` is not a bool.
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        self._previous, self._mode = _thread.grad_enabled, bool(mode)
        _thread.grad_enabled = self._mode

    def __enter__(self) -> None:
        _thread.grad_enabled = self._mode

    def __exit__(self, *exc_info: object) -> None:
        _thread.grad_enabled = self._previous

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        _thread.grad_enabled = self._previous  # as a decorator, creating it changes nothing
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = _thread.grad_enabled
            _thread.grad_enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _thread.grad_enabled = previous

        return wrapper


class _GradMode:
    """A context manager (and decorator) that sets grad mode in this thread and restores it on exit."""

    _mode = True

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack, so that one instance can be entered while active

    def __enter__(self) -> None:
        self._previous.append(_thread.grad_enabled)
        _thread.grad_enabled = self._mode

    def __exit__(self, *exc_info: object) -> None:
        _thread.grad_enabled = self._previous.pop()

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager (and decorator) in which ops record no graph, in this thread only."""

    _mode = False


class enable_grad(_GradMode):
    """Context manager (and decorator) that turns graph recording back on, in this thread only."""

    _mode = True


def swap_profiler(profiler: Any) -> Any:
    """Make ``profiler`` record this thread's ops (None: none); return the one it replaces.

    The engine calls ``profiler.record_forward(op, node, seconds)`` after each forward and
    ``profiler.record_backward(op, node, seconds)`` after each vjp, timed with ``profiler.clock``.
    """
    previous, _thread.profiler = _thread.profiler, profiler
    return previous


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread."""
    return _thread.grad_enabled


_default_dtype = [np.dtype(np.float64)]


def set_default_dtype(dtype: Any) -> None:
    """Set the floating dtype that new tensors, factories and nn layers use (float64 unless set).

    float64 is numpy's convention and keeps finite-difference gradient checks exact;
    float32 is PyTorch's default, halves the memory and runs convs about twice as fast.

    Raises:
        TypeError: if ``dtype`` is not float32 or float64.
    """
    _default_dtype[0] = floating_dtype(dtype, "dtype")


def get_default_dtype() -> np.dtype:
    """The floating dtype that new tensors use when none is given (float64 unless set)."""
    return _default_dtype[0]


def floating_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """``dtype`` (a numpy dtype, its name, or a PyTorch dtype such as torch.float32) as float32 or float64.

    Raises:
        TypeError: for anything else, naming ``name``.
    """
    text = str(dtype)
    if text.startswith("torch."):
        dtype = text[len("torch."):]
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a floating dtype (float32 or float64), got {dtype!r}") from None
    if resolved not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a floating dtype (float32 or float64): tensors hold floats, got {resolved}")
    return resolved


def to_float_array(data: Any, dtype: Any = None, *, name: str = "data", copy: bool = True) -> np.ndarray:
    """Convert array-like ``data`` to a floating ndarray, or raise TypeError naming ``name``.

    A floating array keeps its dtype; ints, bools, Python scalars and lists become the
    default dtype (:func:`get_default_dtype`). With ``copy=False`` an ndarray that needs no
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


class Tensor:
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

    # --- numpy and Python protocols ----------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)``: the data itself (shared, as ``numpy()``), or a converted or copied array.

        Args:
            dtype: the dtype numpy asks for, or None for the tensor's own.
            copy: numpy 2's protocol: True always copies, None copies only to convert,
                False never copies.

        Raises:
            ValueError: with ``copy=False`` when ``dtype`` needs a conversion (a copy).
        """
        data = self._data
        if dtype is not None and np.dtype(dtype) != data.dtype:
            if copy is False:
                raise ValueError(f"Unable to avoid copy while creating an array from a {data.dtype} tensor as {dtype}")
            return data.astype(dtype)
        return data.copy() if copy else data

    def _scalar(self, kind: str) -> float:
        if self._data.size != 1:
            raise ValueError(f"only one element tensors can be converted to Python scalars ({kind} of a tensor of "
                             f"shape {self.shape})")
        return self._data.item()

    def __float__(self) -> float:
        return self._scalar("float")

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            count = "more than one value" if self._data.size else "no values"
            raise RuntimeError(f"Boolean value of Tensor with {count} is ambiguous (shape {self.shape}); "
                               "use .any() or .all() on a comparison")
        return bool(self._data.item())

    def __format__(self, format_spec: str) -> str:
        """``f"{loss:.3f}"`` formats a 0-d tensor's value; an empty spec gives ``str(t)`` for any shape."""
        if self.ndim == 0:
            return format(self._data.item(), format_spec)
        if not format_spec:
            return str(self)
        raise TypeError(f"unsupported format string passed to Tensor.__format__: {format_spec!r} needs a 0-d tensor, "
                        f"got shape {self.shape}; format t.item() or t.tolist()")

    def __iter__(self) -> Any:
        """The sub-tensors along the first axis, each ``self[i]``: they stay in the graph."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __contains__(self, element: Any) -> bool:
        """``element in t``: whether some entry of ``t`` equals ``element`` (a number or a tensor), as PyTorch."""
        if not isinstance(element, (Tensor, bool, int, float, np.number, np.bool_)):
            raise TypeError(f"'in' on a Tensor takes a Tensor or a number, got {type(element).__name__}")
        return bool(np.any(self == element))

    def __abs__(self) -> Tensor:
        return self.abs()

    # --- comparisons: numpy bool arrays, outside the graph --------------------------------------
    # PyTorch returns bool tensors; a Tensor here holds floats and a comparison has no gradient,
    # so it returns a numpy bool ndarray: a mask for indexing and np.where, with .any()/.all()/.sum().
    __hash__ = object.__hash__  # identity, as PyTorch: tensors stay usable as dict keys and in sets

    def _compare(self, other: Any, ufunc: np.ufunc) -> Any:
        if isinstance(other, Tensor):
            other = other._data
        elif not isinstance(other, (bool, int, float, np.number, np.bool_, np.ndarray, list, tuple)):
            return NotImplemented
        try:
            return np.asarray(ufunc(self._data, other))
        except ValueError:
            raise ValueError(f"cannot compare a tensor of shape {self.shape} with shape {np.shape(other)}: "
                             "the shapes do not broadcast") from None

    def __eq__(self, other: Any) -> Any:
        return self._compare(other, np.equal)

    def __ne__(self, other: Any) -> Any:
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Any:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Any:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Any:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Any:
        return self._compare(other, np.greater_equal)

    # --- PyTorch's tensor API ----------------------------------------------------------------------
    device = property(lambda self: "cpu", doc="Always ``\"cpu\"``: the data is a numpy array.")
    grad_fn = property(lambda self: self._node, doc="The Node that made this tensor (PyTorch's name), or None.")

    def dim(self) -> int:
        """The number of dimensions, as ``ndim``."""
        return self._data.ndim

    def numel(self) -> int:
        """The number of elements."""
        return self._data.size

    def is_floating_point(self) -> bool:
        """True: tensors hold float32 or float64."""
        return True

    def tolist(self) -> Any:
        """The values as (nested lists of) Python floats; a 0-d tensor gives one float."""
        return self._data.tolist()

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's and numpy's name
        """All axes reversed (a differentiable ``permute``); a 0-d or 1-d tensor as it is."""
        return self if self.ndim < 2 else self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two axes swapped: a batch of matrices transposed.

        Raises:
            ValueError: for a tensor with fewer than 2 dims.
        """
        if self.ndim < 2:
            raise ValueError(f"mT needs a matrix or a batch of matrices, got shape {self.shape}")
        return self.transpose(-2, -1)

    def float(self) -> Tensor:
        """This tensor as float32 (itself if it already is); the cast is differentiable."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """This tensor as float64 (itself if it already is); the cast is differentiable."""
        return self.to(np.float64)

    def astype(self, dtype: Any, copy: bool = True) -> Tensor:
        """numpy's spelling of ``to(dtype)``: a new tensor unless ``copy=False`` and the dtype already matches."""
        return self.to(dtype, copy=copy)

    def cpu(self) -> Tensor:
        """This tensor itself: it already lives in host memory."""
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return this tensor.

        Raises:
            TypeError: if ``requires_grad`` is not a bool.
            RuntimeError: when turning it off on a non-leaf tensor (use ``detach()``).
        """
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
        if not requires_grad and self._node is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables; use .detach() to get a "
                               "tensor outside the graph")
        self.requires_grad = bool(requires_grad)
        return self

    def _check_in_place(self, method: str) -> None:
        if self.requires_grad and _thread.grad_enabled:
            raise RuntimeError(f"{method}: a tensor that requires grad is being used in an in-place operation; "
                               "wrap it in tc.no_grad() (to initialize a parameter, say)")

    def zero_(self) -> Tensor:
        """Set every element to 0 in place; return this tensor.

        Raises:
            RuntimeError: on a tensor that requires grad while grad mode is on.
        """
        self._check_in_place("zero_()")
        self._data[...] = 0
        return self

    def fill_(self, value: float) -> Tensor:
        """Set every element to ``value`` in place; return this tensor.

        Raises:
            RuntimeError: on a tensor that requires grad while grad mode is on.
            TypeError: if ``value`` is not a number.
        """
        self._check_in_place("fill_()")
        if not isinstance(value, (bool, int, float, np.number, np.bool_)):
            if not (isinstance(value, Tensor) and value.ndim == 0):
                raise TypeError(f"fill_(): value must be a number or a 0-d tensor, got {type(value).__name__}")
            value = value.item()
        self._data[...] = value
        return self

    def __repr__(self) -> str:
        """PyTorch's layout: ``tensor([1.5000, 2.0000], requires_grad=True)``, ``tensor(3.)``.

        As PyTorch, floats print with 4 decimals unless all are whole numbers, in scientific
        notation when their magnitudes span more than 1000x; the dtype shows when it is not
        the default one, ``grad_fn`` names the op that made a non-leaf tensor.
        """
        data = self._data
        finite = np.abs(data[np.isfinite(data)])
        nonzero = finite[finite > 0]
        wide = nonzero.size > 0 and (nonzero.max() >= 1e8 or nonzero.max() / nonzero.min() > 1000)
        whole = bool(np.all(finite == np.round(finite))) and not wide
        # max_line_width=81 wraps where PyTorch's 80 columns do (numpy counts the closing bracket)
        text = np.array2string(data, precision=4, floatmode="maxprec" if whole else "fixed", separator=", ",
                               prefix="tensor(", max_line_width=81, threshold=1000, edgeitems=3)
        extras = [f"size={self.shape}"] if data.size == 0 and data.ndim > 1 else []
        if data.dtype != _default_dtype[0]:
            extras.append(f"dtype=tc.{data.dtype}")
        if self._node is not None:
            name = "".join(part[:1].upper() + part[1:] for part in self._node.op.name.split("_"))
            extras.append(f"grad_fn=<{name}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        out = "tensor(" + text
        width = len(out) - out.rfind("\n") + 1  # PyTorch's count, which wraps a suffix past 80 columns
        for extra in extras:
            if width + len(extra) + 2 > 80:
                out, width = out + ",\n       " + extra, 7 + len(extra)
            else:
                out, width = out + ", " + extra, width + len(extra) + 2
        return out + ")"

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
