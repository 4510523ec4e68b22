"""Activation layers: each calls its functional op."""

from __future__ import annotations

from typing import Any

from ..ops.activations import relu, sigmoid, tanh
from ..tensor import Tensor
from .module import Module


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, x: Any) -> Tensor:
        return relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise, computed stably."""

    def forward(self, x: Any) -> Tensor:
        return sigmoid(x)


class Tanh(Module):
    """tanh(x) elementwise."""

    def forward(self, x: Any) -> Tensor:
        return tanh(x)
