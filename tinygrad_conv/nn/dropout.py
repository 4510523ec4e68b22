"""Dropout and Dropout2d: drop while training (``.train()``), pass through in evaluation (``.eval()``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import real
from ..ops.dropout import dropout, dropout2d
from ..tensor import Tensor
from .module import Module


class _Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p = real(p, "p", where=type(self).__name__)
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}")
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_Dropout):
    """Zero each element with probability ``p`` while training, scaling the rest by 1 / (1 - p), as ``torch.nn.Dropout``.

    The masks come from ``tc.nn.init``'s generator (``tc.nn.manual_seed`` makes them reproducible).

    Args:
        p: the probability of zeroing an element, in [0, 1].
        inplace: accepted for PyTorch's signature; the output is always a new tensor.

    Raises:
        ValueError: if p is outside [0, 1].
    """

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return dropout(x, self.p, self.training)


class Dropout2d(_Dropout):
    """Zero whole channels of (N, C, H, W) inputs with probability ``p`` while training, as ``torch.nn.Dropout2d``.

    Args:
        p: the probability of zeroing a channel, in [0, 1].
        inplace: accepted for PyTorch's signature; the output is always a new tensor.

    Raises:
        ValueError: if p is outside [0, 1].
    """

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return dropout2d(x, self.p, self.training)
