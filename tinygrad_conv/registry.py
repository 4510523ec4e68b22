"""The op registry: one table that the engine, gradcheck and the graph renderer all read.

An op is data: a name, a ``forward`` and a ``vjp`` rule, the names of its tensor
inputs, its attributes with their defaults, and sample inputs for the gradient check.
One ``register_op`` declaration makes everything a user calls: the public function
(with a real signature, so ``help`` and ``inspect.signature`` show its arguments) and,
where asked, the Tensor method and operators. No op file touches ``Tensor`` itself.

- ``forward(*arrays, **attrs)`` computes the output from the inputs' arrays (None for an
  absent optional input). It returns ``(out, saved)``, where ``saved`` is whatever the vjp
  rule will need, or just ``out`` when the rule needs nothing. ``out`` is a floating ndarray.
- ``vjp(grad, saved, needs_grad, **attrs)`` returns a tuple with one entry per input: an
  array, or None where ``needs_grad[i]`` is False. A gradient may have a broadcast shape:
  the engine sums it back to the input's shape. It must not write into ``grad``: that may
  be the array the caller passed to ``backward``.
- ``samples(rng)`` gives small inputs (a list of ``Sample``) on which every op is gradchecked.

Composite functions (a function built from registered ops, such as ``flatten`` from
``reshape``) are declared with ``register_function``, which makes their Tensor
methods in the same way.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .tensor import Tensor, apply


class _Required:
    """The default of an attribute that has none: the caller must pass it."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

# Attribute names that also accept numpy's spelling, as PyTorch does (torch.sum(x, axis=0)).
ALIASES = {"dim": "axis", "keepdim": "keepdims"}


@dataclass(frozen=True)
class Sample:
    """Inputs and attributes on which an op is gradchecked.

    Attributes:
        inputs: float arrays (checked), None, or anything else passed as is (integer targets, say).
        attrs: keyword attributes.
    """

    inputs: tuple
    attrs: dict = field(default_factory=dict)


def same_value(a: Any, b: Any) -> bool:
    """``a == b`` that also works when either side is an ndarray (an array attribute, say)."""
    if a is b:
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # an elementwise comparison with no single truth value
        return False


@dataclass(frozen=True)
class Op:
    """A registered op.

    Attributes:
        name: the op's name, also its public function's.
        forward: ``forward(*arrays, **attrs) -> (out, saved)`` or ``out``.
        vjp: ``vjp(grad, saved, needs_grad, **attrs) -> tuple`` of input gradients.
        inputs: the names of its tensor arguments.
        defaults: its attributes and their defaults (``REQUIRED`` for none).
        samples: ``samples(rng) -> list[Sample]`` for the gradient check.
        doc: the public function's docstring.
        optional: inputs that may be None (conv2d's bias, say).
        variadic: the op's one input is a sequence of tensors (``cat``'s ``tensors``, say).
    """

    name: str
    forward: Callable[..., Any]
    vjp: Callable[..., Any]
    inputs: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)
    samples: Callable[[np.random.Generator], Sequence[Sample]] | None = None
    doc: str = ""
    optional: tuple[str, ...] = ()
    variadic: bool = False

    def input_name(self, index: int) -> str:
        """The name of input ``index``: ``tensors[2]`` for a variadic op."""
        return f"{self.inputs[0]}[{index}]" if self.variadic else self.inputs[index]

    def non_default_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The attributes whose value differs from the default (what a graph label shows)."""
        missing = object()
        return {k: v for k, v in attrs.items() if not same_value(self.defaults.get(k, missing), v)}

    def __call__(self, *inputs: Any, **attrs: Any) -> Tensor:
        """Apply the op to tensors (or arrays) and attributes, recording it when grad is on."""
        return apply(self, *inputs, **attrs)


# The registration tables: filled when an op module is imported (or register_op is called), emptied
# entry by entry by unregister; calls only read them, so they hold no per-call or per-shape state.
OPS: dict[str, Op] = {}
FUNCTIONS: dict[str, Callable[..., Any]] = {}  # every public function the registry made or was given
METHODS: dict[str, str] = {}  # Tensor attribute -> the function it calls


def _method_names(method: bool | str | Sequence[str] | None, name: str) -> tuple[str, ...]:
    if method is True:
        return (name,)
    if not method:
        return ()
    return (method,) if isinstance(method, str) else tuple(method)


def _check_free(names: Sequence[str], owner: str, replace: bool) -> None:
    for attr in names:
        taken = METHODS.get(attr)
        if taken is not None and taken != owner and not replace:
            raise ValueError(f"Tensor.{attr} is already the method of {taken!r}; pick another name or pass replace=True")
        if taken is None and hasattr(Tensor, attr) and not attr.startswith("__"):
            raise ValueError(f"Tensor already has an attribute {attr!r}; pick another op name or pass method=False")


def _attach(fn: Callable[..., Any], owner: str, methods: Sequence[str], reflected: Sequence[str]) -> None:
    """Make ``fn`` the Tensor method of each name, and ``fn(other, self)`` each reflected operator."""
    for attr in methods:
        setattr(Tensor, attr, fn)
        METHODS[attr] = owner
    for attr in reflected:
        def swapped(self: Tensor, other: Any, fn: Callable[..., Any] = fn) -> Any:
            return fn(other, self)

        swapped.__name__ = swapped.__qualname__ = attr
        swapped.__doc__ = f"``{owner}(other, self)``."
        setattr(Tensor, attr, swapped)
        METHODS[attr] = owner


def _make_public(op: Op) -> Callable[..., Tensor]:
    """Write the op's public function with its real signature: ``name(inputs..., attrs=defaults...)``.

    Generated source (as ``collections.namedtuple`` does) gives ``inspect.signature`` the true
    arguments and costs a single call at run time; numpy's spellings of ``dim``/``keepdim``
    are keyword-only aliases.
    """
    params: list[str] = []
    namespace = {"_apply": apply, "_op": op, "_MISSING": _MISSING, "_alias": _alias, "_sequence": _sequence, "_": _MISSING}
    for name in op.inputs:
        params.append(f"{name}=None" if name in op.optional else name)
    body, defaulted = [], any(name in op.optional for name in op.inputs)
    for index, (name, default) in enumerate(op.defaults.items()):
        if default is REQUIRED and (name in ALIASES or defaulted):  # given by its alias, or after a default
            namespace[f"_d{index}"] = _MISSING
            body.append(f"    if {name} is _MISSING and {ALIASES.get(name, '_')} is _MISSING:\n"
                        f"        raise TypeError(\"{op.name}() missing required argument '{name}'\")")
        elif default is REQUIRED:
            params.append(name)
            continue
        else:
            namespace[f"_d{index}"] = default
        params.append(f"{name}=_d{index}")
        defaulted = True
    aliases = [(name, ALIASES[name]) for name in op.defaults if name in ALIASES]
    if aliases:
        params.append("*")
        params.extend(f"{alias}=_MISSING" for _, alias in aliases)
    body += [f"    {name} = _alias({op.name!r}, {name!r}, {name}, {alias!r}, {alias}, _d{list(op.defaults).index(name)})"
             for name, alias in aliases]
    attrs = ", ".join(f"{name!r}: {name}" for name in op.defaults)
    tensors = f"*_sequence({op.name!r}, {op.inputs[0]})" if op.variadic else ", ".join(op.inputs)
    body.append(f"    return _apply(_op, {tensors}, **{{{attrs}}})")
    source = f"def {op.name}({', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(compile(source, f"<register_op {op.name}>", "exec"), namespace)  # noqa: S102 - names are identifiers
    public = namespace[op.name]
    public.__doc__ = op.doc
    public.__module__ = "tinygrad_conv"
    public.op = op
    return public


class _MissingType:
    def __repr__(self) -> str:
        return "<not given>"


_MISSING: Any = _MissingType()


def _sequence(op_name: str, tensors: Any) -> tuple:
    """The tensors of a variadic op as a tuple, or a TypeError naming the op."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{op_name}() expects a sequence (tuple or list) of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op_name}() expects a non-empty sequence of tensors")
    return tuple(tensors)


def _alias(op_name: str, name: str, value: Any, alias: str, alias_value: Any, default: Any) -> Any:
    """``value``, or the value given under numpy's spelling ``alias``; both spellings is a TypeError."""
    if alias_value is _MISSING:
        return value
    if value is not default and not same_value(value, default):
        raise TypeError(f"{op_name}() got both {name}={value!r} and its alias {alias}={alias_value!r}; give one")
    return alias_value


def register_op(
    name: str,
    forward: Callable[..., Any],
    vjp: Callable[..., Any],
    *,
    inputs: Sequence[str] = ("x",),
    defaults: dict[str, Any] | None = None,
    optional: Sequence[str] = (),
    samples: Callable[[np.random.Generator], Sequence[Sample]] | None = None,
    doc: str = "",
    method: bool | str | Sequence[str] | None = True,
    reflected: Sequence[str] = (),
    replace: bool = False,
    variadic: bool = False,
) -> Callable[..., Tensor]:
    """Register an op and return its public function ``name(*inputs, **attrs) -> Tensor``.

    Args:
        name: a Python identifier, unique among ops.
        forward: ``forward(*arrays, **attrs) -> (out, saved)`` or ``out``.
        vjp: ``vjp(grad, saved, needs_grad, **attrs) -> tuple`` with one gradient per input.
        inputs: the names of the tensor arguments, in order.
        defaults: the attributes (keyword arguments that are not tensors) with their
            defaults, in signature order; ``REQUIRED`` for one without a default.
        optional: inputs that may be None (forward then gets None); any other None is a TypeError.
        samples: ``samples(rng) -> list[Sample]``, the inputs the test suite gradchecks it on.
        doc: the public function's docstring.
        method: True makes the function the Tensor method ``name``; a string or a sequence of
            strings names the methods and operators (``("add", "__add__")``); False makes none.
        reflected: reflected operators such as ``"__radd__"``, which call ``fn(other, self)``.
        replace: allow redefining an op of the same name.
        variadic: the op takes one sequence of tensors (its one name in ``inputs``), each a graph input.

    Returns:
        The public function, with the op as its ``op`` attribute.

    Raises:
        ValueError: for a name that is not an identifier, already registered, or clashes with
            a Tensor attribute; or optional names that are not inputs.
        TypeError: if forward or vjp is not callable.
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"op name must be a Python identifier, got {name!r}")
    if name in OPS and not replace:
        raise ValueError(f"an op named {name!r} is already registered; pass replace=True to redefine it")
    if not (callable(forward) and callable(vjp)):
        raise TypeError(f"register_op({name!r}): forward and vjp must be callable")
    inputs, defaults = tuple(inputs), dict(defaults or {})
    for arg in (*inputs, *defaults):
        if not isinstance(arg, str) or not arg.isidentifier() or keyword.iskeyword(arg):
            raise ValueError(f"register_op({name!r}): argument name {arg!r} is not a Python identifier")
    if len(set(inputs) | set(defaults)) != len(inputs) + len(defaults):
        raise ValueError(f"register_op({name!r}): inputs {inputs} and attributes {tuple(defaults)} repeat a name")
    unknown = set(optional) - set(inputs)
    if unknown:
        raise ValueError(f"register_op({name!r}): optional names {sorted(unknown)} are not among the inputs {inputs}")
    order = [type(d) is _Required for d in defaults.values()]
    if any(later and not earlier for earlier, later in zip(order, order[1:])):
        raise ValueError(f"register_op({name!r}): REQUIRED attributes must come before those with defaults")
    if variadic and len(inputs) != 1:
        raise ValueError(f"register_op({name!r}): a variadic op names exactly one input, got {inputs}")
    methods = _method_names(method, name)
    _check_free((*methods, *reflected), name, replace)
    op = Op(name, forward, vjp, inputs, defaults, samples, doc or forward.__doc__ or "", tuple(optional), variadic)
    public = _make_public(op)
    OPS[name] = op
    FUNCTIONS[name] = public
    _attach(public, name, methods, reflected)
    return public


def register_function(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    method: bool | str | Sequence[str] | None = True,
    reflected: Sequence[str] = (),
    replace: bool = False,
) -> Any:
    """Declare a composite public function (built from registered ops) and its Tensor methods.

    Usable as ``@register_function`` or ``@register_function(method=("flatten",))``. A
    composite may take the name of an op that it wraps (``reshape`` turns ``x.reshape(2, 3)``
    into the op's ``shape=(2, 3)``): it then is the public function of that name.

    Args:
        fn: the function; its first argument is the tensor a method is called on.
        name: its public name (default: ``fn.__name__``).
        method: as in ``register_op``.
        reflected: as in ``register_op``.
        replace: allow redefining a function of the same name.

    Returns:
        ``fn`` itself (or a decorator that registers and returns it).
    """
    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        public = name or fn.__name__
        existing = FUNCTIONS.get(public)
        wraps_op = getattr(existing, "op", None) is OPS.get(public)  # the composite wraps the op of its name
        if existing is not None and existing is not fn and not wraps_op and not replace:
            raise ValueError(f"a function named {public!r} is already registered; pass replace=True to redefine it")
        methods = _method_names(method, public)
        _check_free((*methods, *reflected), public, replace)
        FUNCTIONS[public] = fn
        _attach(fn, public, methods, reflected)
        return fn

    return declare if fn is None else declare(fn)


def unregister(name: str) -> None:
    """Remove an op or composite function, its public function and its Tensor methods (for tests and notebooks).

    Raises:
        ValueError: if nothing of that name is registered.
    """
    if name not in OPS and name not in FUNCTIONS:
        raise ValueError(f"nothing named {name!r} is registered")
    OPS.pop(name, None)
    FUNCTIONS.pop(name, None)
    for attr in [attr for attr, owner in METHODS.items() if owner == name]:
        del METHODS[attr]
        if attr in vars(Tensor):
            delattr(Tensor, attr)


def get_op(name: str) -> Op:
    """The registered op called ``name``.

    Raises:
        ValueError: if no op of that name is registered.
    """
    try:
        return OPS[name]
    except (KeyError, TypeError):
        raise ValueError(f"no op named {name!r} is registered; known ops: {sorted(OPS)}") from None
