"""The op registry: one table that the engine, gradcheck and the graph renderer all read.

An op is data: a name, a ``forward`` and a ``vjp`` rule, the names of its tensor
inputs, the defaults of its attributes, and sample inputs for the gradient check.

- ``forward(*arrays, **attrs) -> (out, saved)`` computes the output array from the
  inputs' arrays (None for an absent optional input) and returns whatever the vjp
  rule will need. Saved arrays that alias an input or the output are copied by the
  engine, so in-place edits of ``tensor.data`` after the forward cannot corrupt a gradient.
- ``vjp(grad, saved, needs_grad, **attrs) -> tuple`` returns one gradient per input
  (an array, or None where ``needs_grad[i]`` is False). A gradient may have a
  broadcast shape: the engine sums it back to the input's shape. It must not write
  into ``grad``: that may be the array the caller passed to ``backward``.
- ``samples(rng) -> list[Sample]`` gives small inputs on which every op is gradchecked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .tensor import Tensor, apply


@dataclass(frozen=True)
class Sample:
    """Inputs and attributes on which an op is gradchecked.

    ``inputs`` are float arrays (checked), None, or anything else passed as is
    (integer targets, say); ``attrs`` are keyword attributes.
    """

    inputs: tuple
    attrs: dict = field(default_factory=dict)


def _equal(a: Any, b: Any) -> bool:
    """``a == b`` that also works when either side is an ndarray (an array attribute, say)."""
    if a is b:
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # an elementwise comparison with no single truth value
        return False


@dataclass(frozen=True)
class Op:
    """A registered op. ``inputs`` names its tensor arguments, ``defaults`` its attributes."""

    name: str
    forward: Callable[..., tuple[np.ndarray, Any]]
    vjp: Callable[..., Any]
    inputs: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)
    samples: Callable[[np.random.Generator], Sequence[Sample]] | None = None
    doc: str = ""
    optional: tuple[str, ...] = ()  # inputs that may be None (conv2d's bias, say)

    def non_default_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The attributes whose value differs from the default (what a graph label shows)."""
        missing = object()
        return {k: v for k, v in attrs.items() if not _equal(self.defaults.get(k, missing), v)}

    def __call__(self, *inputs: Any, **attrs: Any) -> Tensor:
        return apply(self, *inputs, **attrs)


OPS: dict[str, Op] = {}


def register_op(
    name: str,
    forward: Callable[..., tuple[np.ndarray, Any]],
    vjp: Callable[..., Any],
    *,
    inputs: Sequence[str] = ("x",),
    defaults: dict[str, Any] | None = None,
    samples: Callable[[np.random.Generator], Sequence[Sample]] | None = None,
    doc: str = "",
    method: bool = True,
    replace: bool = False,
    optional: Sequence[str] = (),
) -> Callable[..., Tensor]:
    """Register an op and return its functional form ``fn(*tensors, **attrs) -> Tensor``.

    With ``method=True`` the op also becomes a Tensor method of the same name. The inputs named in
    ``optional`` may be None (forward then gets None); any other None input is a TypeError.
    Registering a name twice raises ValueError unless ``replace=True``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"op name must be a Python identifier, got {name!r}")
    if name in OPS and not replace:
        raise ValueError(f"an op named {name!r} is already registered; pass replace=True to redefine it")
    if method and name not in OPS and hasattr(Tensor, name):
        raise ValueError(f"Tensor already has an attribute {name!r}; pick another op name or pass method=False")
    if not (callable(forward) and callable(vjp)):
        raise TypeError("forward and vjp must be callable")
    unknown = set(optional) - set(inputs)
    if unknown:
        raise ValueError(f"optional names {sorted(unknown)} that are not among the inputs {tuple(inputs)}")
    op = Op(name, forward, vjp, tuple(inputs), dict(defaults or {}), samples, doc or forward.__doc__ or "",
            tuple(optional))
    OPS[name] = op
    arity = len(op.inputs)

    @functools.wraps(forward)
    def functional(*tensors: Any, **attrs: Any) -> Tensor:
        if len(tensors) < arity and set(op.inputs[len(tensors):]) <= set(op.optional):
            tensors += (None,) * (arity - len(tensors))  # trailing optional inputs may be left out
        if len(tensors) != arity:
            raise TypeError(f"{name}() takes {arity} tensor argument(s) {op.inputs}, got {len(tensors)}")
        unknown = set(attrs) - set(op.defaults)
        if unknown:
            raise TypeError(f"{name}() got unexpected keyword argument(s) {sorted(unknown)}")
        return apply(op, *tensors, **{**op.defaults, **attrs})

    functional.__name__ = functional.__qualname__ = name
    functional.__doc__ = op.doc
    functional.op = op  # type: ignore[attr-defined]
    if method:
        setattr(Tensor, name, functional)
    return functional


def get_op(name: str) -> Op:
    """The registered op called ``name``."""
    try:
        return OPS[name]
    except KeyError:
        raise ValueError(f"no op named {name!r} is registered; known ops: {sorted(OPS)}") from None
