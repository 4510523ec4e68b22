"""Every public function that PyTorch also has takes PyTorch's arguments, in PyTorch's order, with its defaults.

The reference is ``inspect.signature`` of ``torch.nn.functional.<name>`` or ``torch.<name>``, or,
for PyTorch's C functions, the signature lines of their docstring. Arguments that make no
sense here (``out=``, ``dtype=``, ``inplace=``, the deprecated ``size_average``/``reduce``)
are skipped; every other difference is listed in ``DIFFERENCES`` with its reason, and on the
docs page "Coming from PyTorch".
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import tinygrad_conv as tc
from tinygrad_conv.registry import FUNCTIONS

torch = pytest.importorskip("torch")
F = torch.nn.functional

# PyTorch arguments that have no meaning for numpy arrays held on the CPU.
IGNORED = {"out", "dtype", "inplace", "_stacklevel", "size_average", "reduce", "layout", "device", "pin_memory",
           "memory_format", "generator", "requires_grad", "alpha", "rounding_mode", "_random_samples"}
# PyTorch 2.13's new per-element weight= on these losses is not supported (its "mean" is not consistent across them).
SKIPPED_ARGS = {"mse_loss": {"weight"}, "l1_loss": {"weight"}, "huber_loss": {"weight"}}
# name -> why it differs (kept in step with docs/pytorch.md).
DIFFERENCES = {
    "reshape": "also takes the shape as varargs, reshape(x, 2, 3), as Tensor.reshape does",
    "permute": "also takes the dims as varargs, permute(x, 2, 0, 1), as Tensor.permute does",
    "expand": "torch.expand does not exist as a function; Tensor.expand(*sizes)",
    "repeat": "torch.repeat does not exist as a function; Tensor.repeat(*repeats)",
    "take_along_dim": "indices is an attribute (an int array) and so keyword-or-positional with a default",
}


def _torch_signatures(name: str) -> list[list[tuple[str, object]]]:
    """PyTorch's signatures of ``name`` as lists of (argument, default or inspect.Parameter.empty), positional part only."""
    for module in (F, torch):
        fn = getattr(module, name, None)
        if fn is None:
            continue
        try:
            params = inspect.signature(fn).parameters.values()
            if not any(p.kind == p.VAR_POSITIONAL for p in params):
                return [[(p.name, p.default) for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]]
        except (TypeError, ValueError):
            pass
        found = []
        for line in (fn.__doc__ or "").splitlines():
            match = re.match(rf"\s*{name}\((.*?)\)\s*(->|$)", line)
            if match:
                args = []
                for part in _top_level_split(match.group(1)):
                    part = part.strip()
                    if part == "*" or not part:
                        break
                    arg, _, default = part.partition("=")
                    arg = arg.split(":")[0].strip()
                    args.append((arg, inspect.Parameter.empty if not default else default.strip()))
                found.append(args)
        if found:
            return found
    return []


def _top_level_split(text: str) -> list[str]:
    """Split at the commas outside brackets: "a: List[int, int], b" -> ["a: List[int, int]", " b"]."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char in "[(" and 1 or 0
        depth -= char in "])" and 1 or 0
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def _ours(name: str) -> list[tuple[str, object]]:
    params = inspect.signature(FUNCTIONS[name]).parameters.values()
    return [(p.name, p.default) for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _same_default(ours: object, theirs: object) -> bool:
    if theirs is inspect.Parameter.empty:
        return True
    if isinstance(theirs, str) and not isinstance(ours, str) or isinstance(theirs, str) and theirs[:1] in "'\"":
        try:  # a default read off a docstring: "1", "'none'", "None"
            theirs = ast.literal_eval(theirs)
        except (ValueError, SyntaxError):
            return repr(ours) == theirs or str(ours) == theirs
    return ours == theirs or (ours in ((), None) and theirs in ((), None))


SHARED = sorted(name for name in FUNCTIONS if _torch_signatures(name) and name not in DIFFERENCES)
PENDING: set[str] = set()


@pytest.mark.parametrize("name", SHARED)
def test_arguments_follow_pytorch(name):
    if name in PENDING:
        pytest.xfail("being brought in line with PyTorch")
    ours = _ours(name)
    problems = []
    for theirs in _torch_signatures(name):
        skipped = IGNORED | SKIPPED_ARGS.get(name, set())
        wanted = [(arg, default) for arg, default in theirs if arg not in skipped]
        names = [arg for arg, _ in ours]
        if names[: len(wanted)] != [arg for arg, _ in wanted]:
            problems.append(f"arguments {names} vs PyTorch's {[arg for arg, _ in wanted]}")
            continue
        bad = [f"{arg}={mine!r} vs {default!r}" for (arg, mine), (_, default) in zip(ours, wanted)
               if default is not inspect.Parameter.empty and not _same_default(mine, default)]
        if not bad:
            return
        problems.append(f"defaults {bad}")
    pytest.fail(f"tc.{name} differs from PyTorch: {problems}")


def test_the_listed_differences_are_real_functions():
    assert set(DIFFERENCES) <= set(FUNCTIONS)


def test_the_differences_are_on_the_docs_page():
    """docs/pytorch.md ("Coming from PyTorch") names every listed difference and skipped argument."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "pytorch.md").read_text(encoding="utf-8")
    for name in DIFFERENCES:
        assert f"tc.{name}(" in page, f"docs/pytorch.md does not show how tc.{name} differs"
    for name, args in SKIPPED_ARGS.items():
        assert f"`{name}`" in page and all(f"`{arg}=`" in page for arg in args), name
    for arg in IGNORED - {"_stacklevel", "_random_samples", "requires_grad", "device", "dtype", "generator"}:
        assert f"`{arg}" in page, f"docs/pytorch.md does not say that {arg}= is not accepted"
