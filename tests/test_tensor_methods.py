"""Tensor methods: each one PyTorch code calls exists, made by the registry, and agrees with torch's method.

Every case calls the same method with the same arguments on a ``tc.Tensor`` and a
``torch.Tensor`` holding the same float64 values, and compares the values and, where the
method is differentiable, the gradients that a random output gradient sends back to every
input (the tensor itself and any tensor argument).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv.registry import FUNCTIONS, METHODS, OPS
from tinygrad_conv.tensor import Tensor

torch = pytest.importorskip("torch")


@dataclass(frozen=True)
class Arg:
    """A tensor argument: becomes a tc.Tensor or a torch.Tensor (requiring grad) holding ``value``."""

    value: np.ndarray


def _values(shape: tuple[int, ...], positive: bool = False, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.abs(x) + 0.1 if positive else x


def _missing(name: str):
    """xfail a case whose method another part of the library has yet to add."""
    return pytest.mark.xfail(not hasattr(tc.Tensor, name), reason=f"Tensor.{name} is not registered yet", strict=True)


# (method, input shape, args, kwargs, positive input) -- input shapes include 0-d ones.
CASES = [
    ("view", (2, 3, 4), (6, 4), {}), ("view", (2, 3, 4), (-1,), {}), ("view", (2, 3, 4), ((4, 6),), {}),
    ("view", (2, 3, 4), (2, -1), {}), ("view", (), (1, 1), {}),
    ("reshape", (2, 3, 4), (4, -1), {}), ("reshape", (2, 3, 4), ((24,),), {}), ("reshape", (1,), ((),), {}),
    ("squeeze", (1, 3, 1), (), {}), ("squeeze", (1, 3, 1), (0,), {}), ("squeeze", (1, 3, 1), (), {"dim": -1}),
    ("squeeze", (1, 3, 1), ((0, 2),), {}), ("squeeze", (), (), {}),
    ("unsqueeze", (2, 3), (0,), {}), ("unsqueeze", (2, 3), (-1,), {}), ("unsqueeze", (), (0,), {}),
    ("unsqueeze", (2, 3), (), {"dim": 1}),
    ("flatten", (2, 3, 4), (), {}), ("flatten", (2, 3, 4), (1,), {}), ("flatten", (2, 3, 4), (0, 1), {}),
    ("flatten", (2, 3, 4), (), {"start_dim": 1, "end_dim": -1}), ("flatten", (), (), {}),
    ("permute", (2, 3, 4), (2, 0, 1), {}), ("permute", (2, 3, 4), ((1, 2, 0),), {}),
    ("permute", (2, 3, 4), (-1, 0, 1), {}),
    ("transpose", (2, 3, 4), (0, 1), {}), ("transpose", (2, 3, 4), (-1, -2), {}),
    ("transpose", (2, 3, 4), (), {"dim0": 0, "dim1": 2}),
    ("expand", (3, 1), (3, 4), {}), ("expand", (3, 1), (2, 3, 4), {}), ("expand", (3, 1), (-1, 4), {}),
    ("expand", (3, 1), ((2, 3, 5),), {}), ("expand", (), (2, 3), {}),
    ("repeat", (2, 3), (2, 3), {}), ("repeat", (2, 3), (2, 1, 1), {}), ("repeat", (2, 3), ((1, 2),), {}),
    ("repeat", (), (3,), {}),
    ("exp", (2, 3), (), {}), ("exp", (), (), {}),
    ("log", (2, 3), (), {}, True), ("log", (), (), {}, True),
    ("sqrt", (2, 3), (), {}, True),
    ("sqrt", (), (), {}, True),
    ("abs", (2, 3), (), {}),
    ("abs", (), (), {}),
    ("clamp", (3, 4), (-0.5, 0.5), {}),
    ("clamp", (3, 4), (), {"min": -0.2}),
    ("clamp", (3, 4), (), {"max": 0.3}),
    ("clamp", (), (), {"min": 0.0, "max": 1.0}),
    ("pow", (2, 3), (2,), {}), ("pow", (2, 3), (0.5,), {}, True), ("pow", (), (3.0,), {}),
    ("pow", (2, 3), (Arg(_values((3,), seed=1)),), {}, True),  # a broadcast Tensor exponent
    ("pow", (2, 1), (Arg(_values((2, 3), seed=2)),), {}, True),  # the exponent broadcasts the base
    ("softmax", (2, 3), (1,), {}), ("softmax", (2, 3), (), {"dim": 0}), ("softmax", (2, 3, 4), (-1,), {}),
    ("softmax", (), (0,), {}),
    ("log_softmax", (2, 3), (1,), {}), ("log_softmax", (2, 3, 4), (), {"dim": -2}), ("log_softmax", (), (0,), {}),
    ("relu", (3, 4), (), {}), ("relu", (), (), {}), ("sigmoid", (3, 4), (), {}), ("sigmoid", (), (), {}),
    ("tanh", (3, 4), (), {}), ("tanh", (), (), {}),
    ("matmul", (3, 4), (Arg(_values((4, 5), seed=1)),), {}), ("matmul", (3, 4), (Arg(_values((4,), seed=1)),), {}),
    ("matmul", (4,), (Arg(_values((4,), seed=1)),), {}), ("matmul", (4,), (Arg(_values((2, 4, 3), seed=1)),), {}),
    ("matmul", (2, 1, 3, 4), (Arg(_values((5, 4, 2), seed=1)),), {}),
]

REDUCTIONS = ["sum", "mean", "amax", "amin", "logsumexp"]
# (args, kwargs) for every reduction but logsumexp, whose dim PyTorch requires.
REDUCE_ARGS = [((), {}), ((0,), {}), ((1,), {}), ((-1,), {"keepdim": True}), ((), {"dim": (0, 2)}),
               (((2, 0),), {"keepdim": True}), ((), {"axis": 1}), ((), {"axis": (0, 1), "keepdims": True})]
ZERO_D_ARGS = [((), {}), ((0,), {}), ((-1,), {}), ((), {"dim": 0, "keepdim": True}), ((), {"axis": 0})]
for _name in REDUCTIONS:
    for _args, _kwargs in REDUCE_ARGS:
        if _name != "logsumexp" or _args or "dim" in _kwargs or "axis" in _kwargs:
            CASES.append((_name, (2, 3, 4), _args, _kwargs))
    for _args, _kwargs in ZERO_D_ARGS:
        if _name != "logsumexp" or _args or _kwargs:
            CASES.append((_name, (), _args, _kwargs))
for _name in ("max", "min", "argmax", "argmin"):
    for _args, _kwargs in [((), {}), ((1,), {}), ((-1,), {"keepdim": True}), ((), {"dim": 0}),
                           ((), {"axis": 2, "keepdims": True})]:
        CASES.append((_name, (2, 3, 4), _args, _kwargs))
    for _args, _kwargs in [((), {}), ((0,), {}), ((-1,), {"keepdim": True})]:
        CASES.append((_name, (), _args, _kwargs))


def _case_id(case) -> str:
    values = case.values if hasattr(case, "values") else case
    name, shape, args, kwargs = values[:4]
    shown = [f"T{a.value.shape}" if isinstance(a, Arg) else repr(a) for a in args]
    shown += [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}{shape}({', '.join(shown)})".replace(" ", "")


def _in(library, value):
    """An argument for ``library``: an Arg becomes its tensor (requiring grad); anything else is as it is."""
    if isinstance(value, Arg):
        return tc.tensor(value.value, requires_grad=True) if library is tc else torch.tensor(value.value,
                                                                                            requires_grad=True)
    return value


def _call(library, name, x, args, kwargs):
    """Call method ``name`` on a ``library`` tensor of ``x``; return (output, [tensors that require grad])."""
    tensor = (tc.tensor if library is tc else torch.tensor)(x, requires_grad=True)
    args = [_in(library, a) for a in args]
    return getattr(tensor, name)(*args, **kwargs), [tensor] + [a for a in args if hasattr(a, "requires_grad")]


def _as_numpy(value):
    return value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def check_against_torch(name, x, args, kwargs, rtol=1e-10):
    ours, our_inputs = _call(tc, name, x, args, kwargs)
    theirs, their_inputs = _call(torch, name, x, args, kwargs)
    if isinstance(theirs, tuple):  # (values, indices)
        assert isinstance(ours, tuple) and len(ours) == 2
        np.testing.assert_array_equal(ours[1], theirs[1].numpy())
        assert ours[1].dtype == np.int64 and ours[0] is ours.values and ours[1] is ours.indices
        ours, theirs = ours[0], theirs[0]
    if theirs.dtype == torch.int64:  # argmax, argmin: an int64 numpy array
        assert isinstance(ours, np.ndarray) and ours.dtype == np.int64, type(ours)
        np.testing.assert_array_equal(ours, theirs.numpy())
        return
    assert isinstance(ours, Tensor) and ours.dtype == np.float64
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), _as_numpy(theirs), rtol=rtol, atol=1e-12, equal_nan=True)
    gradient = np.random.default_rng(7).standard_normal(ours.shape)
    ours.backward(gradient)
    theirs.backward(torch.tensor(gradient))
    for mine, other in zip(our_inputs, their_inputs):
        np.testing.assert_allclose(mine.grad, other.grad.numpy(), rtol=rtol, atol=1e-12, equal_nan=True)


# Methods that other parts of the library are adding: their cases run (and must pass) once they exist.
PENDING = ("sqrt", "abs", "clamp")


@pytest.mark.parametrize("case", [pytest.param(case, marks=_missing(case[0])) if case[0] in PENDING else case
                                  for case in CASES], ids=_case_id)
def test_method_matches_torch(case):
    name, shape, args, kwargs, *positive = case
    check_against_torch(name, _values(shape, positive=bool(positive and positive[0])), args, kwargs)


@pytest.mark.parametrize("method", ["__matmul__", "__pow__", "__rpow__"])
def test_operators_match_torch(method):
    x = _values((3, 4), positive=True)
    other = {"__matmul__": Arg(_values((4, 2), seed=1)), "__pow__": Arg(_values((4,), seed=1)), "__rpow__": 2.0}
    check_against_torch(method, x, (other[method],), {})


def test_negative_base_to_an_integer_valued_exponent():
    """(-2) ** 3 is -8 with base gradient 3 * 4; the exponent's gradient is NaN (log of a negative), as in torch."""
    base, exponent = np.array([-2.0, -3.0, 1.5]), np.array([3.0, 2.0, 2.0])
    check_against_torch("pow", base, (Arg(exponent),), {})
    check_against_torch("pow", base, (3.0,), {})
    check_against_torch("pow", base, (2,), {})
    ours = tc.tensor(base) ** 3
    np.testing.assert_array_equal(ours.numpy(), [-8.0, -27.0, 3.375])


@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("dim", [0, (0, 1), None])
def test_reduction_over_an_empty_axis(name, dim):
    """A sum over an empty axis is 0 and a mean NaN, with an empty gradient, as in torch."""
    x = np.zeros((0, 3))
    check_against_torch(name, x, () if dim is None else (dim,), {})
    value = getattr(tc.tensor(x), name)(dim).numpy()
    assert np.all(value == 0) if name == "sum" else np.all(np.isnan(value))


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "logsumexp", "softmax", "log_softmax", "max",
                                  "min", "argmax", "argmin"])
def test_dim_and_axis_together_is_a_type_error(name):
    x = tc.tensor(_values((2, 3)))
    with pytest.raises(TypeError, match="axis"):
        getattr(x, name)(dim=1, axis=1)
    if name not in ("softmax", "log_softmax"):
        with pytest.raises(TypeError, match="keepdims"):
            getattr(x, name)(1, keepdim=True, keepdims=True)


def test_max_over_a_dim_returns_values_and_indices():
    x = _values((3, 4))
    result = tc.tensor(x).max(1)
    values, indices = result
    np.testing.assert_array_equal(result[0].numpy(), x.max(1))
    assert values is result[0] and indices is result[1]
    np.testing.assert_array_equal(indices, x.argmax(1))
    assert isinstance(indices, np.ndarray) and indices.dtype == np.int64
    assert isinstance(tc.tensor(x).max(), Tensor) and tc.tensor(x).max().shape == ()


def test_matmul_operator_and_method_agree():
    a, b = tc.tensor(_values((3, 4))), tc.tensor(_values((4, 2), seed=1))
    np.testing.assert_array_equal((a @ b).numpy(), a.matmul(b).numpy())
    np.testing.assert_array_equal((a.numpy() @ b).numpy(), a.matmul(b).numpy())  # ndarray @ Tensor


class TestBackward:
    def test_signature_is_pytorchs_with_grad_as_an_alias(self):
        params = inspect.signature(Tensor.backward).parameters
        assert list(params)[:3] == ["self", "gradient", "retain_graph"]
        assert params["gradient"].default is None and params["retain_graph"].default is None
        assert params["grad"].kind is inspect.Parameter.KEYWORD_ONLY
        theirs = inspect.signature(torch.Tensor.backward).parameters
        assert list(theirs)[:3] == ["self", "gradient", "retain_graph"]

    def test_gradient_retain_graph_and_the_grad_alias(self):
        x = tc.tensor(_values((2, 3)), requires_grad=True)
        y = (x * x).sum(1)
        seed = np.array([1.0, -2.0])
        y.backward(seed, True)  # positional, as torch: gradient, retain_graph
        y.backward(gradient=seed, retain_graph=True)
        y.backward(grad=seed)
        np.testing.assert_allclose(x.grad, 3 * 2 * x.numpy() * seed[:, None])
        with pytest.raises(RuntimeError, match="retain_graph"):
            y.backward(seed)
        with pytest.raises(TypeError, match="alias"):
            (x * 2).sum().backward(1.0, grad=1.0)

    def test_a_scalar_needs_no_gradient(self):
        x = tc.tensor(_values(()), requires_grad=True)
        x.exp().backward()
        np.testing.assert_allclose(x.grad, np.exp(x.numpy()))


def test_every_method_pytorch_code_calls_exists():
    """Each function that tc has and torch.Tensor has as a method is a tc.Tensor method too."""
    for name in FUNCTIONS:
        if hasattr(torch.Tensor, name) and not name.startswith("_"):
            assert METHODS.get(name) is not None, f"torch.Tensor.{name} exists; tc.Tensor.{name} does not"


def _registry_made(value) -> bool:
    """Whether a Tensor attribute is a function that the registry made or was given."""
    return (value in FUNCTIONS.values() or getattr(value, "op", None) in OPS.values()
            or getattr(value, "__module__", None) == "tinygrad_conv.registry")


def test_methods_are_made_by_the_registry_and_listed():
    """Every Tensor attribute that the registry made is in METHODS, and every METHODS entry is that attribute."""
    made = {name for name, value in vars(Tensor).items() if callable(value) and _registry_made(value)}
    assert made == set(METHODS), f"not listed: {made - set(METHODS)}, listed but missing: {set(METHODS) - made}"
    for attr, owner in METHODS.items():
        value = vars(Tensor)[attr]
        assert value is FUNCTIONS[owner] or value.__name__ == attr, f"Tensor.{attr} is not {owner}'s function"


def test_no_hand_written_method_shadows_a_registered_function():
    """A method written in tensor.py never takes a name the registry's functions have."""
    hand_written = {name for name, value in vars(Tensor).items() if callable(value) and not _registry_made(value)}
    assert not hand_written & set(FUNCTIONS), hand_written & set(FUNCTIONS)
