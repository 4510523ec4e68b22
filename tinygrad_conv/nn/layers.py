"""Layers: Conv2d, Linear, activations, pooling, Flatten and Sequential, with PyTorch's defaults."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..conv import as_pair, conv2d
from ..math_ops import matmul, tanh
from ..ops import relu, sigmoid
from ..pool import avg_pool2d, max_pool2d
from ..shape import flatten, transpose
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


class Conv2d(Module):
    """2-D convolution layer, as ``torch.nn.Conv2d`` (groups=1).

    weight (out_channels, in_channels, kh, kw) is kaiming-uniform with a = sqrt(5), bias
    (out_channels,) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels * kh * kw.

    Args:
        in_channels: input channels, an int >= 1.
        out_channels: output channels (the number of kernels), an int >= 1.
        kernel_size: an int or a pair.
        stride: as in :func:`tinygrad_conv.conv2d`.
        padding: as in :func:`tinygrad_conv.conv2d`.
        dilation: as in :func:`tinygrad_conv.conv2d`.
        bias: whether to add a learned bias.
        rng: a np.random.Generator, an int seed, or None for ``tc.nn.init``'s default generator.
        dtype: the parameters' dtype (float64 by default, like tc's Tensors; float32 is faster).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, bias: bool = True, *, rng: Any = None, dtype: Any = np.float64):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.kernel_size = as_pair(kernel_size, "kernel_size", 1)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        rng = init.get_rng(rng)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(init.kaiming_uniform(shape, rng=rng, dtype=dtype))
        bound = 1 / math.sqrt(init.fan_in(shape))
        self.bias = Parameter(init.uniform((self.out_channels,), bound, rng, dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, bias={self.bias is not None}")


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
                 dtype: Any = np.float64):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        rng = init.get_rng(rng)
        shape = (self.out_features, self.in_features)
        self.weight = Parameter(init.kaiming_uniform(shape, rng=rng, dtype=dtype))
        bound = 1 / math.sqrt(self.in_features)
        self.bias = Parameter(init.uniform((self.out_features,), bound, rng, dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        shape = np.shape(x.data if isinstance(x, Tensor) else x)
        if len(shape) == 0 or shape[-1] != self.in_features:
            raise ValueError(f"Linear: input of shape {tuple(shape)} must end with in_features={self.in_features}")
        out = matmul(x, transpose(self.weight, 0, 1))
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


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


class MaxPool2d(Module):
    """:func:`tinygrad_conv.max_pool2d` as a layer."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Any) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(MaxPool2d):
    """:func:`tinygrad_conv.avg_pool2d` as a layer."""

    def forward(self, x: Any) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Flatten(Module):
    """Merge axes start_dim..end_dim into one (by default everything but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Modules applied one after another; they register as "0", "1", ... as in PyTorch."""

    def __init__(self, *modules: Module):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {index} must be a Module, got {type(module).__name__}")
            setattr(self, str(index), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"Sequential indices must be ints or slices, got {type(index).__name__}")
        if not -len(modules) <= index < len(modules):
            raise IndexError(f"Sequential index {index} is out of range for {len(modules)} modules")
        return modules[index]
