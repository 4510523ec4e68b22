"""Convolution layers, with PyTorch's defaults and initialization."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import integer, matching_dtype, pair, resolve_padding, shape_of
from ..conv import conv2d
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
        dtype: the parameters' dtype, float32 or float64; None (the default) follows ``tc.get_default_dtype()``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, bias: bool = True, *, rng: Any = None, dtype: Any = None):
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
        matching_dtype(x, self.weight, "Conv2d")
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, bias={self.bias is not None}")


class LazyConv2d(Conv2d):
    """A Conv2d whose ``in_channels`` is read off the first input, as ``torch.nn.LazyConv2d``.

    Takes Conv2d's arguments without ``in_channels``. Its parameters exist after the first
    call: run one batch through the model before building the optimizer (PyTorch asks the
    same). It then is a plain ``Conv2d``.
    """

    def __init__(self, out_channels: int, kernel_size: Any, *args: Any, **kwargs: Any):
        Module.__init__(self)
        self.out_channels = integer(out_channels, "out_channels", minimum=1, where="LazyConv2d")
        self._lazy = (kernel_size, args, kwargs)

    def forward(self, x: Any) -> Tensor:
        shape = shape_of(x, "x", "LazyConv2d")
        if len(shape) not in (3, 4):
            raise ValueError(f"LazyConv2d: x must be (C, H, W) or (N, C, H, W), got {tuple(shape)}")
        kernel_size, args, kwargs = self._lazy
        if kwargs.get("dtype") is None and getattr(getattr(x, "dtype", None), "kind", "") == "f":
            kwargs = {**kwargs, "dtype": x.dtype}
        Conv2d.__init__(self, shape[-3], self.out_channels, kernel_size, *args, **kwargs)
        self.__class__ = Conv2d
        return Conv2d.forward(self, x)

    def extra_repr(self) -> str:
        return f"<lazy>, {self.out_channels}, kernel_size={self._lazy[0]}"
