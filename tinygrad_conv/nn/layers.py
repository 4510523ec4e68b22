"""Layers: Conv2d, Linear, activations, pooling and Flatten, with PyTorch's defaults."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import integer, pair, shape_of
from ..conv import conv2d
from .._checks import resolve_padding
from ..math_ops import matmul, tanh
from ..ops import relu, sigmoid
from ..pool import avg_pool2d, max_pool2d, pool_arguments
from ..shape import flatten, transpose
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


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
        self.in_channels = integer(in_channels, "in_channels", minimum=1, where="Conv2d")
        self.out_channels = integer(out_channels, "out_channels", minimum=1, where="Conv2d")
        self.kernel_size = pair(kernel_size, "kernel_size", minimum=1, where="Conv2d")
        strides = pair(stride, "stride", minimum=1, where="Conv2d")
        dilations = pair(dilation, "dilation", minimum=1, where="Conv2d")
        if isinstance(padding, str):
            resolve_padding(padding, self.kernel_size, strides, dilations)
        else:
            pair(padding, "padding", minimum=0, where="Conv2d")
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


class _Pool2d(Module):
    """The pooling layers' shared settings, checked at construction."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0):
        super().__init__()
        pool_arguments(kernel_size, stride, padding, type(self).__name__)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """:func:`tinygrad_conv.max_pool2d` as a layer."""

    def forward(self, x: Any) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
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
