"""numpy's and PyTorch's protocols on a Tensor: conversions, comparisons, casts, in-place fills and ``repr``.

``Tensor`` inherits them from ``TensorProtocols``, so tensor.py keeps to the graph and the
engine. Everything here works on ``self._data``, ``self.shape`` and the registered ops
(``self.to``, ``self.permute``, ...), looked up when called.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dtypes import get_default_dtype
from .grad_mode import is_grad_enabled


class TensorProtocols:
    """numpy's and PyTorch's protocols, shared by every Tensor."""

    __slots__ = ()

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
        if not isinstance(element, (TensorProtocols, bool, int, float, np.number, np.bool_)):
            raise TypeError(f"'in' on a Tensor takes a Tensor or a number, got {type(element).__name__}")
        return bool(np.any(self == element))

    def __abs__(self) -> Tensor:
        return self.abs()

    # --- comparisons: numpy bool arrays, outside the graph --------------------------------------
    # PyTorch returns bool tensors; a Tensor here holds floats and a comparison has no gradient,
    # so it returns a numpy bool ndarray: a mask for indexing and np.where, with .any()/.all()/.sum().
    __hash__ = object.__hash__  # identity, as PyTorch: tensors stay usable as dict keys and in sets

    def _compare(self, other: Any, ufunc: np.ufunc) -> Any:
        if isinstance(other, TensorProtocols):
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
        if self.requires_grad and is_grad_enabled():
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
            if not (isinstance(value, TensorProtocols) and value.ndim == 0):
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
        if data.dtype != get_default_dtype():
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
