"""Pooling layers: each calls its functional op."""

from __future__ import annotations

from typing import Any

from ..ops.pooling import avg_pool2d, max_pool2d, pool_arguments
from ..tensor import Tensor
from .module import Module


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
