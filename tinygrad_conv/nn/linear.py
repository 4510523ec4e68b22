"""Linear and Flatten, with PyTorch's defaults and initialization."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import integer, matching_dtype, shape_of
from ..ops.linalg import matmul
from ..ops.shape import flatten, transpose
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class Linear(Module):
    """``y = x @ weight.T + bias``, as ``torch.nn.Linear``, with its initialization (fan_in = in_features).

    Args:
        in_features: the size of each input's last axis, an int >= 1.
        out_features: the size of each output's last axis, an int >= 1.
        bias: whether to add a learned bias.
        rng: as for :class:`Conv2d`.
        dtype: as for :class:`Conv2d`.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, rng: Any = None,
                 dtype: Any = None):
        super().__init__()
        self.in_features = integer(in_features, "in_features", minimum=1, where="Linear")
        self.out_features = integer(out_features, "out_features", minimum=1, where="Linear")
        rng = init.get_rng(rng)
        shape = (self.out_features, self.in_features)
        self.weight = Parameter(init.kaiming_uniform(shape, rng=rng, dtype=dtype))
        bound = 1 / math.sqrt(self.in_features)
        self.bias = Parameter(init.uniform((self.out_features,), bound, rng, dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        shape = shape_of(x, "x", "Linear")
        if len(shape) == 0 or shape[-1] != self.in_features:
            raise ValueError(f"Linear: input of shape {tuple(shape)} must end with in_features={self.in_features}")
        matching_dtype(x, self.weight, "Linear")
        out = matmul(x, transpose(self.weight, 0, 1))
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Merge axes start_dim..end_dim into one (by default everything but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
