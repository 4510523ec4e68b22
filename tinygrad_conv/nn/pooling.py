"""Pooling layers, as torch.nn's: each checks its settings when built and calls its functional op."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import flag
from ..ops.pooling import avg_pool2d, check_divisor, max_pool2d, pool_arguments
from ..ops.pooling_variants import adaptive_avg_pool2d, adaptive_max_pool2d, adaptive_output_size, avg_pool1d, max_pool1d
from ..tensor import Tensor
from .module import Module


class _MaxPoolNd(Module):
    """Max pooling's settings, stored as torch stores them (stride None becomes kernel_size)."""

    spatial = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        name = type(self).__name__
        pool_arguments(kernel_size, stride, padding, name, dilation, self.spatial)
        self.return_indices = flag(return_indices, "return_indices", name)
        self.ceil_mode = flag(ceil_mode, "ceil_mode", name)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """``max_pool2d`` as a layer: ``MaxPool2d(kernel_size, stride=None, padding=0, dilation=1,
    return_indices=False, ceil_mode=False)``, as ``torch.nn.MaxPool2d``."""

    def forward(self, input: Tensor | np.ndarray) -> Any:
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """``max_pool1d`` as a layer on (C, L) or (N, C, L), as ``torch.nn.MaxPool1d``."""

    spatial = 1

    def forward(self, input: Tensor | np.ndarray) -> Any:
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool2d(Module):
    """``avg_pool2d`` as a layer: ``AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True, divisor_override=None)``, as ``torch.nn.AvgPool2d``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None):
        super().__init__()
        name = type(self).__name__
        pool_arguments(kernel_size, stride, padding, name)
        self.ceil_mode = flag(ceil_mode, "ceil_mode", name)
        self.count_include_pad = flag(count_include_pad, "count_include_pad", name)
        check_divisor(divisor_override, name)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.divisor_override = padding, divisor_override

    def forward(self, input: Tensor | np.ndarray) -> Any:
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                          self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """``avg_pool1d`` as a layer on (C, L) or (N, C, L), as ``torch.nn.AvgPool1d`` (sizes kept as 1-tuples)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__()
        name = type(self).__name__
        kernel, strides, pads, _ = pool_arguments(kernel_size, stride, padding, name, spatial=1)
        self.ceil_mode = flag(ceil_mode, "ceil_mode", name)
        self.count_include_pad = flag(count_include_pad, "count_include_pad", name)
        self.kernel_size, self.stride, self.padding = kernel, strides, pads

    def forward(self, input: Tensor | np.ndarray) -> Any:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """``adaptive_avg_pool2d`` as a layer, as ``torch.nn.AdaptiveAvgPool2d``."""

    def __init__(self, output_size: Any):
        super().__init__()
        adaptive_output_size((1, 1), output_size, type(self).__name__)
        self.output_size = output_size

    def forward(self, input: Tensor | np.ndarray) -> Any:
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """``adaptive_max_pool2d`` as a layer, as ``torch.nn.AdaptiveMaxPool2d``."""

    def __init__(self, output_size: Any, return_indices: bool = False):
        super().__init__()
        adaptive_output_size((1, 1), output_size, type(self).__name__)
        self.output_size = output_size
        self.return_indices = flag(return_indices, "return_indices", type(self).__name__)

    def forward(self, input: Tensor | np.ndarray) -> Any:
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
