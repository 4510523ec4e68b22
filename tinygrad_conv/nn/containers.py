"""Containers: Sequential and ModuleList (children "0", "1", ... or named), and ModuleDict."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
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
    """Modules applied one after another, as ``torch.nn.Sequential``.

    ``Sequential(a, b)`` registers them as "0", "1", ...; ``Sequential(OrderedDict([("conv", a),
    ("relu", b)]))`` under those names, which then appear in ``state_dict`` keys ("conv.weight").
    """

    def __init__(self, *modules: Module | Mapping[str, Module]):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                if not isinstance(name, str) or not name.isidentifier():
                    raise ValueError(f"Sequential: child names must be identifiers, got {name!r}")
                setattr(self, name, _check_module(module, f"Sequential: item {name!r}"))
            return
        for index, module in enumerate(modules):
            setattr(self, str(index), _check_module(module, f"Sequential: argument {index}"))

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; return self."""
        setattr(self, str(len(self)), _check_module(module, f"Sequential item {len(self)}"))
        return self

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


class ModuleDict(Module):
    """A dict of Modules registered under their keys, as ``torch.nn.ModuleDict``.

    Args:
        modules: an optional mapping (or iterable of (name, module) pairs).
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace each (name, module)."""
        items = modules.items() if isinstance(modules, Mapping) else modules
        for name, module in items:
            self[name] = module

    def __getitem__(self, name: str) -> Module:
        if name not in self._modules:
            raise KeyError(f"ModuleDict has no module {name!r}; it has {list(self._modules)}")
        return self._modules[name]

    def __setitem__(self, name: str, module: Module) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"ModuleDict keys must be identifiers, got {name!r}")
        setattr(self, name, _check_module(module, f"ModuleDict[{name!r}]"))

    def __delitem__(self, name: str) -> None:
        self[name]  # noqa: B018 - the KeyError for an unknown name
        delattr(self, name)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def keys(self) -> list[str]:
        """The names, in insertion order."""
        return list(self._modules)

    def values(self) -> list[Module]:
        """The modules, in insertion order."""
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        """(name, module) pairs, in insertion order."""
        return list(self._modules.items())

    def pop(self, name: str) -> Module:
        """Remove and return the module called ``name``."""
        module = self[name]
        delattr(self, name)
        return module
