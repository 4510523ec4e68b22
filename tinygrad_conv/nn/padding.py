"""Padding layers, as torch.nn's: each holds a ``pad`` tuple in F.pad's order and calls ``tc.pad``.

The 1d layers take an int or (left, right); the 2d layers an int or (left, right, top,
bottom). Entries may be negative (they crop), as in PyTorch.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._checks import real
from ..ops.padding import pad
from ..tensor import Tensor
from .module import Module


def _padding(padding: Any, n: int, where: str) -> tuple[int, ...]:
    """An int (the same on every side) or a tuple of n ints, as a tuple of n ints."""
    items = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * n
    if len(items) != n or not all(isinstance(p, numbers.Integral) and not isinstance(p, (bool, np.bool_))
                                  for p in items):
        order = "(left, right)" if n == 2 else "(left, right, top, bottom)"
        raise TypeError(f"{where}: padding must be an int or a tuple of {n} ints {order}, got {padding!r}")
    return tuple(int(p) for p in items)


class _Pad(Module):
    """A padding layer: ``tc.pad(input, self.padding, mode)``."""

    mode = "constant"
    sides = 4

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _padding(padding, self.sides, type(self).__name__)

    def forward(self, input: Tensor | np.ndarray) -> Tensor:
        return pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad1d(_Pad):
    """Pad the last dim with a constant, as ``torch.nn.ConstantPad1d``.

    Args:
        padding: an int or (left, right).
        value: the fill, a real number.
    """

    sides = 2

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        real(value, "value", where=type(self).__name__, finite=False)
        self.value = value  # as given, so the repr reads as PyTorch's

    def forward(self, input: Tensor | np.ndarray) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dims with a constant, as ``torch.nn.ConstantPad2d``.

    Args:
        padding: an int or (left, right, top, bottom).
        value: the fill, a real number.
    """

    sides = 4


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros, as ``torch.nn.ZeroPad1d``.

    Args:
        padding: an int or (left, right).
    """

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ZeroPad1d):
    """Pad the last two dims with zeros, as ``torch.nn.ZeroPad2d``.

    Args:
        padding: an int or (left, right, top, bottom).
    """

    sides = 4


class ReflectionPad1d(_Pad):
    """Mirror the last dim at its edges (without repeating them), as ``torch.nn.ReflectionPad1d``.

    Args:
        padding: an int or (left, right), each smaller than the input's last dim.
    """

    mode, sides = "reflect", 2


class ReflectionPad2d(_Pad):
    """Mirror the last two dims at their edges, as ``torch.nn.ReflectionPad2d``.

    Args:
        padding: an int or (left, right, top, bottom), each smaller than its dim.
    """

    mode = "reflect"


class ReplicationPad1d(_Pad):
    """Repeat the edge values of the last dim, as ``torch.nn.ReplicationPad1d``.

    Args:
        padding: an int or (left, right).
    """

    mode, sides = "replicate", 2


class ReplicationPad2d(_Pad):
    """Repeat the edge values of the last two dims, as ``torch.nn.ReplicationPad2d``.

    Args:
        padding: an int or (left, right, top, bottom).
    """

    mode = "replicate"


class CircularPad1d(_Pad):
    """Wrap the last dim around, as ``torch.nn.CircularPad1d``.

    Args:
        padding: an int or (left, right), each at most the input's last dim.
    """

    mode, sides = "circular", 2


class CircularPad2d(_Pad):
    """Wrap the last two dims around (a torus), as ``torch.nn.CircularPad2d``.

    Args:
        padding: an int or (left, right, top, bottom), each at most its dim.
    """

    mode = "circular"
