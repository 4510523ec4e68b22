"""A griffe extension: document the functions that ``register_op`` generates.

``relu = register_op("relu", ...)`` is, to static analysis, a module attribute without a
docstring. This extension imports each module of the package, and replaces every attribute
whose value is a registered op's public function by a function with that function's real
signature (``inspect.signature``) and docstring (the op's ``doc``), so that the API reference
lists ops like any other function.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import griffe


def _parameters(fn: Any) -> griffe.Parameters:
    kinds = {
        inspect.Parameter.POSITIONAL_ONLY: griffe.ParameterKind.positional_only,
        inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
        inspect.Parameter.VAR_POSITIONAL: griffe.ParameterKind.var_positional,
        inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
        inspect.Parameter.VAR_KEYWORD: griffe.ParameterKind.var_keyword,
    }
    return griffe.Parameters(*(
        griffe.Parameter(
            p.name,
            kind=kinds[p.kind],
            default=None if p.default is inspect.Parameter.empty else repr(p.default),
        )
        for p in inspect.signature(fn).parameters.values()
    ))


def _document_ops(module: griffe.Module) -> None:
    try:
        runtime = importlib.import_module(module.path)
    except ImportError:
        return
    for name, member in list(module.members.items()):
        if member.is_alias:
            continue
        if member.is_module:
            _document_ops(member)
            continue
        value = getattr(runtime, name, None)
        if not member.is_attribute or not callable(value) or getattr(value, "op", None) is None:
            continue
        function = griffe.Function(
            name, lineno=member.lineno, endlineno=member.endlineno, parameters=_parameters(value), returns="Tensor"
        )
        function.docstring = griffe.Docstring(inspect.getdoc(value) or "", lineno=member.lineno, parent=function)
        module.set_member(name, function)


class RegisteredOps(griffe.Extension):
    """Turn the attributes that hold a registered op's public function into documented functions."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        _document_ops(pkg)
