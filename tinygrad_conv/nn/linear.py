"""Linear, LazyLinear, Identity, Flatten and Unflatten, with PyTorch's defaults and initialization."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import integer, matching_dtype, shape_of
from ..ops.linalg import matmul
from ..ops.shape import flatten, transpose, unflatten
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class Linear(Module):
    """``y = x @ weight.T + bias``, as ``torch.nn.Linear``, with its initialization (fan_in = in_features).

    Args:
        in_features: the size of each input's last axis, an int >= 1.
        out_features: the size of each output's last axis, an int >= 1.
        bias: whether to add a learned bias.
        rng: as for ``Conv2d``.
        dtype: as for ``Conv2d``.
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

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
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

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``, as ``torch.nn.Unflatten``."""

    def __init__(self, dim: int, unflattened_size: Any):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return unflatten(x, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored), as ``torch.nn.Identity``."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class LazyLinear(Linear):
    """A Linear whose ``in_features`` is read off the first input, as ``torch.nn.LazyLinear``.

    Its parameters exist after the first call: run one batch through the model before
    building the optimizer (PyTorch asks the same). It then is a plain ``Linear``.

    Args:
        out_features: the size of each output's last axis.
        bias: whether to add a learned bias.
        rng: as for ``Linear``.
        dtype: as for ``Linear``.
    """

    def __init__(self, out_features: int, bias: bool = True, *, rng: Any = None, dtype: Any = None):
        Module.__init__(self)
        self.out_features = integer(out_features, "out_features", minimum=1, where="LazyLinear")
        self.in_features = 0
        self._lazy = (bias, rng, dtype)

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        shape = shape_of(x, "x", "LazyLinear")
        if not shape:
            raise ValueError("LazyLinear: a 0-d input has no features")
        bias, rng, dtype = self._lazy
        Linear.__init__(self, shape[-1], self.out_features, bias, rng=rng,
                        dtype=dtype or (getattr(x, "dtype", None) if getattr(x, "dtype", np.dtype(int)).kind == "f" else None))
        self.__class__ = Linear
        return Linear.forward(self, x)

    def extra_repr(self) -> str:
        return f"in_features=<lazy>, out_features={self.out_features}"
