"""Containers that register their modules as children "0", "1", ...: Sequential and ModuleList."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .._checks import integer
from .module import Module


def _check_module(module: Any, where: str) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{where} must be a Module, got {type(module).__name__}")
    return module


class _Indexed(Module):
    """Children kept in order under the names "0", "1", ...; indexing, ``len`` and iteration."""

    def _set_all(self, modules: list[Module]) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for index, module in enumerate(modules):
            setattr(self, str(index), module)

    def _position(self, index: Any) -> int:
        index = integer(index, "index", where=f"{type(self).__name__}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__} index {index} is out of range for {len(self)} modules")
        return index % len(self)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index]) if isinstance(self, Sequential) else ModuleList(modules[index])
        return modules[self._position(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, str(self._position(index)), _check_module(module, f"{type(self).__name__} item"))

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._modules.values())
        del modules[index if isinstance(index, slice) else self._position(index)]
        self._set_all(modules)


class Sequential(_Indexed):
    """Modules applied one after another; they register as "0", "1", ... as in PyTorch."""

    def __init__(self, *modules: Module):
        super().__init__()
        for index, module in enumerate(modules):
            setattr(self, str(index), _check_module(module, f"Sequential: argument {index}"))

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_Indexed):
    """A list of Modules that registers them as children "0", "1", ..., as ``torch.nn.ModuleList``.

    It has no ``forward``: iterate over it in your own module's ``forward``.

    Args:
        modules: an optional iterable of Modules.
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; return self."""
        setattr(self, str(len(self)), _check_module(module, f"ModuleList item {len(self)}"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of ``modules``; return self."""
        if isinstance(modules, Module) and not isinstance(modules, _Indexed):
            raise TypeError(f"ModuleList.extend needs an iterable of Modules, got a {type(modules).__name__}")
        try:
            items = list(modules)
        except TypeError:
            raise TypeError(f"ModuleList.extend needs an iterable of Modules, got {type(modules).__name__}") from None
        for module in items:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        modules = list(self._modules.values())
        modules.insert(integer(index, "index", where="ModuleList.insert"), _check_module(module, "ModuleList item"))
        self._set_all(modules)
