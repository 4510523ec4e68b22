"""``Module``: the base class that registers parameters and sub-modules by attribute assignment."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .._checks import state_array
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as a parameter when assigned to one of its attributes.

    Args:
        data: array-like (copied; ints become float64 unless ``dtype`` is given).
        requires_grad: True by default.
        dtype: a numpy floating dtype to convert to.
        name: an optional label, as for ``Tensor``.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None, name: str | None = None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _is_trainable_leaf(value: Any) -> bool:
    return isinstance(value, Tensor) and value.requires_grad and value.is_leaf


def _to_numpy(key: str, value: Any) -> Any:
    """A torch tensor (or anything with ``.detach().cpu().numpy()``) as a numpy array; other values as they are."""
    if isinstance(value, (Tensor, np.ndarray)) or not hasattr(value, "detach"):
        return value
    try:
        return value.detach().cpu().numpy()
    except (AttributeError, TypeError, RuntimeError) as error:
        raise TypeError(f"state_dict[{key!r}]: cannot convert a {type(value).__name__} to a numpy array "
                        f"({error})") from None


def _buffer_value(where: str, name: str, value: Any) -> Any:
    """Check a buffer's value: a Tensor that requires no grad, a numeric ndarray, or None."""
    if value is None or (isinstance(value, np.ndarray) and value.dtype.kind in "biuf"):
        return value
    if isinstance(value, Tensor) and not isinstance(value, Parameter) and not value.requires_grad:
        return value
    raise TypeError(f"{where}.{name}: a buffer must be a Tensor that requires no grad, a numeric numpy array or None, "
                    f"got {type(value).__name__}")


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class for layers and models: subclass it, assign parts in ``__init__``, write ``forward``.

    Assigning a ``Parameter`` or a Module to an attribute registers it (after
    ``super().__init__()``), so ``parameters()`` finds it, however deeply nested.
    Assigning a leaf Tensor that requires grad but is not a Parameter raises
    TypeError: it would otherwise be silently missed by the optimizer. So does assigning
    a plain list, tuple or dict holding Modules or Parameters: use ``ModuleList`` or
    ``Sequential`` for those.

    Buffers (``register_buffer``) are state that is not trained, such as BatchNorm's running
    statistics: a Tensor that requires no grad, or a plain numpy array (for integer state,
    since Tensors hold floats: BatchNorm's ``num_batches_tracked`` is a 0-d int64 array).
    Persistent buffers are in ``state_dict()`` after their module's parameters, as in PyTorch.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules = self._parameters, self._modules
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            self._buffers[name] = _buffer_value(type(self).__name__, name, value)
        elif isinstance(value, Parameter):
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            modules[name] = value
        else:
            if _is_trainable_leaf(value):
                raise TypeError(
                    f"{type(self).__name__}.{name}: a leaf Tensor that requires grad is not registered as a "
                    f"parameter; wrap it in tc.nn.Parameter(...) (or .detach() it to keep a constant)"
                )
            if isinstance(value, (list, tuple, dict)) and any(
                isinstance(item, Module) or _is_trainable_leaf(item)
                for item in (value.values() if isinstance(value, dict) else value)
            ):
                raise TypeError(
                    f"{type(self).__name__}.{name}: a plain {type(value).__name__} of Modules or Parameters is not "
                    f"registered, so parameters() would miss them; use tc.nn.ModuleList([...]) or "
                    f"tc.nn.Sequential(...) for modules, and one attribute per Parameter"
                )
            params.pop(name, None)
            modules.pop(name, None)
        if isinstance(value, (Parameter, Module)):
            self._buffers.pop(name, None)
            self._non_persistent.discard(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent.discard(name)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Register state that is not a parameter (a running statistic, say) as attribute ``name``.

        Assigning to the attribute later replaces the buffer's value.

        Args:
            name: an attribute name without dots.
            tensor: a Tensor that requires no grad, a numeric numpy array, or None (listed nowhere).
            persistent: whether ``state_dict()`` includes it.

        Raises:
            TypeError: for another kind of value, or a name that is not a str.
            ValueError: for an empty or dotted name, or one that is already a parameter, module or attribute.
        """
        where = type(self).__name__
        if "_buffers" not in self.__dict__:
            raise RuntimeError(f"{where}: call super().__init__() before register_buffer()")
        if not isinstance(name, str):
            raise TypeError(f"{where}.register_buffer: name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise ValueError(f"{where}.register_buffer: name must be non-empty and have no dot, got {name!r}")
        if name not in self._buffers and (hasattr(self, name) or name in self._parameters or name in self._modules):
            raise ValueError(f"{where}.register_buffer: attribute {name!r} already exists")
        self._buffers[name] = _buffer_value(where, name, tensor)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # --- traversal ---------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names."""
        return iter(list(self._modules.items()))

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        return (module for _, module in self.named_children())

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, depth first."""
        yield self
        for child in self._modules.values():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter below this module as ("sub.name", Parameter), each shared one once."""
        seen: set[int] = set()
        for name, param in self._named_parameters(prefix):
            if id(param) not in seen:
                seen.add(id(param))
                yield name, param

    def _named_parameters(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        for name, param in self._parameters.items():
            yield prefix + name, param
        for name, child in self._modules.items():
            yield from child._named_parameters(f"{prefix}{name}.")

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter below this module, in registration order (what an optimizer takes)."""
        return (param for _, param in self.named_parameters())

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """Every buffer below this module (None ones left out) as ("sub.name", buffer), each shared one once."""
        seen: set[int] = set()
        for module_prefix, module in self._named_modules(prefix):
            for name, buffer in module._buffers.items():
                if buffer is not None and id(buffer) not in seen:
                    seen.add(id(buffer))
                    yield module_prefix + name, buffer

    def buffers(self) -> Iterator[Any]:
        """Every buffer below this module (Tensors and numpy arrays), in registration order."""
        return (buffer for _, buffer in self.named_buffers())

    def _named_modules(self, prefix: str) -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child._named_modules(f"{prefix}{name}.")

    def _named_state(self, prefix: str, seen: set[int]) -> Iterator[tuple[str, np.ndarray]]:
        """(name, array) of each parameter (shared ones once) and persistent buffer, in PyTorch's
        state_dict order: a module's parameters, then its buffers, then its children's."""
        for name, param in self._parameters.items():
            if id(param) not in seen:
                seen.add(id(param))
                yield prefix + name, param.data
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                yield prefix + name, buffer.data if isinstance(buffer, Tensor) else buffer
        for name, child in self._modules.items():
            yield from child._named_state(f"{prefix}{name}.", seen)

    # --- modes and gradients -----------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every sub-module; return self."""
        if not isinstance(mode, bool):
            raise TypeError(f"mode must be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Set every parameter's ``.grad`` to None (PyTorch's default), or to zeros in place."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad[...] = 0

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Cast the parameters and floating buffers in place, as ``torch.nn.Module.to``; return self.

        Takes what ``Tensor.to`` takes: a dtype (``tc.float32``, ``torch.float64``, "float32"), a
        device (only the CPU: ``model.to("cpu")`` changes nothing) or a tensor whose dtype to take.
        Parameters stay the same objects, so an optimizer built before the cast still holds them.

        Raises:
            TypeError: for a non-floating dtype.
            ValueError: for a device other than the CPU.
        """
        probe = Tensor(np.zeros(0, dtype=next((p.dtype for p in self.parameters()), np.float64)))
        dtype = probe.to(*args, **kwargs).dtype  # checks the arguments as Tensor.to does
        for param in self.parameters():
            if param.dtype != dtype:
                param.data = param.data.astype(dtype)
                if param.grad is not None:
                    param.grad = param.grad.astype(dtype)
        for module in self.modules():
            for name, buffer in module._buffers.items():
                if isinstance(buffer, Tensor) and buffer.dtype != dtype:
                    buffer.data = buffer.data.astype(dtype)
        return self

    def float(self) -> Module:
        """``to(float32)``: the parameters and floating buffers as float32, in place; return self."""
        return self.to(np.float32)

    def double(self) -> Module:
        """``to(float64)``: the parameters and floating buffers as float64, in place; return self."""
        return self.to(np.float64)

    def cpu(self) -> Module:
        """This module itself: its arrays already live in host memory."""
        return self

    # --- state ---------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's and persistent buffer's values, by dotted name (what ``tc.save`` writes).

        The names, shapes and layouts are PyTorch's for the same architecture (``"0.weight"`` of shape
        ``(out_channels, in_channels, kh, kw)`` for a Conv2d first in a Sequential, ``(out, in)`` for a
        Linear), so a torch model's state dict loads here and this one loads into torch.
        """
        return {name: array.copy() for name, array in self._named_state("", set())}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into the parameters and persistent buffers in place, all or nothing.

        Every value is converted and checked (names, shapes, writability) before any parameter
        changes, so on any error the module is left exactly as it was.

        Args:
            state_dict: names to arrays, as ``state_dict()`` or ``tc.load`` returns; a value may
                be a numpy array, a Tensor, a torch tensor (anything with ``.detach().cpu().numpy()``)
                or any numeric array-like. Values are cast to each parameter's dtype.
            strict: require exactly this module's names. Shapes must match either way.

        Returns:
            The missing and unexpected keys (both empty when ``strict``).

        Raises:
            TypeError: if state_dict is not a mapping, or a value is not numeric.
            ValueError: for a ragged value, a read-only parameter, or naming every missing,
                unexpected and wrongly shaped key.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a mapping of names to arrays, got {type(state_dict).__name__}")
        own = dict(self._named_state("", set()))  # name -> the array to write into
        values = {key: state_array(key, _to_numpy(key, value)) for key, value in state_dict.items()}
        missing = [k for k in own if k not in values]
        unexpected = [k for k in values if k not in own]
        wrong = [f"{k}: expected {own[k].shape}, got {values[k].shape}"
                 for k in own if k in values and values[k].shape != own[k].shape]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        if wrong:
            problems.append(f"wrongly shaped keys [{'; '.join(wrong)}]")
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__}: " + ", ".join(problems))
        updates = [(own[key], values[key].astype(own[key].dtype, copy=False)) for key in own if key in values]
        read_only = [key for key in own if key in values and not own[key].flags.writeable]
        if read_only:
            raise ValueError(f"load_state_dict for {type(self).__name__}: parameters {read_only} have read-only "
                             "data; give them a writable array (param.data = param.data.copy())")
        for array, value in updates:
            array[...] = value
        return IncompatibleKeys(missing, unexpected)

    # --- display -------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's settings, shown between its parentheses."""
        return ""

    def __repr__(self) -> str:
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"
