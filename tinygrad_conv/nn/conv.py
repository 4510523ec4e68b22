"""Convolution layers with PyTorch's arguments, initialization and state-dict layout.

Conv2d and Conv1d hold weight (out_channels, in_channels/groups, *kernel_size);
ConvTranspose2d holds (in_channels, out_channels/groups, kh, kw). Every weight is
kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where fan_in is the product of the weight's dims after the
first (as torch's ``_calculate_fan_in_and_fan_out`` reads it). A ``padding_mode`` other than
"zeros" pads the input with ``tc.pad`` first and then convolves without padding, as PyTorch does.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .._checks import flag, integer, matching_dtype, pair, shape_of
from ..conv import conv2d
from ..conv1d import conv1d
from ..conv_transpose import conv_transpose2d
from ..ops.padding import pad
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ints(value: Any, n: int, name: str, minimum: int, where: str) -> tuple[int, ...]:
    """An int or a tuple of n ints (each >= minimum) as a tuple of n ints."""
    if n == 2:
        return pair(value, name, minimum=minimum, where=where)
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(items) != 1:
        raise TypeError(f"{where}: {name} must be an int or a 1-tuple of ints, got {value!r}")
    return (integer(items[0], name, minimum=minimum, where=where),)


class _ConvNd(Module):
    """The shared settings of the conv layers, checked as torch's ``_ConvNd`` checks them.

    Subclasses set ``dims`` (spatial dims) and ``transposed``, and write ``forward``.
    """

    dims = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, groups: int, bias: bool, padding_mode: str, device: Any, dtype: Any, rng: Any,
                 output_padding: Any = 0):
        super().__init__()
        self._settings(out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device,
                       output_padding)
        self._build(in_channels, dtype, rng)

    def _settings(self, out_channels: int, kernel_size: Any, stride: Any, padding: Any, dilation: Any, groups: int,
                  bias: bool, padding_mode: str, device: Any, output_padding: Any) -> None:
        """Check and store everything but in_channels (which LazyConv2d learns from its first input)."""
        where, n = type(self).__name__, self.dims
        self.out_channels = integer(out_channels, "out_channels", minimum=1, where=where)
        self.groups = integer(groups, "groups", minimum=1, where=where)
        if self.out_channels % self.groups:
            raise ValueError(f"{where}: out_channels={out_channels} must be divisible by groups={groups}")
        self.kernel_size = _ints(kernel_size, n, "kernel_size", 1, where)
        self.stride = _ints(stride, n, "stride", 1, where)
        self.dilation = _ints(dilation, n, "dilation", 1, where)
        if isinstance(padding, str) and not self.transposed:
            if padding not in ("valid", "same"):
                raise ValueError(f"{where}: padding must be an int, a tuple of {n} ints, 'valid' or 'same', "
                                 f"got {padding!r}")
            if padding == "same" and self.stride != (1,) * n:
                raise ValueError(f"{where}: padding='same' is not supported for strided convolutions, "
                                 f"got stride={self.stride}")
            self.padding = padding
        else:
            self.padding = _ints(padding, n, "padding", 0, where)
        self.output_padding = _ints(output_padding, n, "output_padding", 0, where)
        if any(p >= s and p >= d for p, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"{where}: output_padding {self.output_padding} must be smaller than the stride "
                             f"{self.stride} or the dilation {self.dilation}")
        flag(bias, "bias", where)
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{where}: padding_mode must be one of {PADDING_MODES}, got padding_mode={padding_mode!r}")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f'{where}: only "zeros" padding_mode is supported, got padding_mode={padding_mode!r}')
        if device is not None and device != "cpu":
            raise ValueError(f"{where}: device must be 'cpu' or None (the arrays live in numpy), got {device!r}")
        self.padding_mode, self._has_bias = padding_mode, bool(bias)
        self._reversed_padding_repeated_twice = self._pad_amounts()

    def _pad_amounts(self) -> tuple[int, ...]:
        """The padding in tc.pad's order (last dim first, (left, right) each), as torch keeps it."""
        if self.padding == "valid":
            return (0, 0) * self.dims
        if self.padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            return tuple(v for t in reversed(totals) for v in (t // 2, t - t // 2))
        return tuple(p for p in reversed(self.padding) for _ in range(2))

    def _build(self, in_channels: int, dtype: Any, rng: Any) -> None:
        """Check in_channels; draw the weight and the bias."""
        where = type(self).__name__
        self.in_channels = integer(in_channels, "in_channels", minimum=1, where=where)
        if self.in_channels % self.groups:
            raise ValueError(f"{where}: in_channels={in_channels} must be divisible by groups={self.groups}")
        if self.transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        rng = init.get_rng(rng)
        self.weight = Parameter(init.kaiming_uniform(shape, rng=rng, dtype=dtype))
        bound = 1 / math.sqrt(init.fan_in(shape))
        self.bias = Parameter(init.uniform((self.out_channels,), bound, rng, dtype)) if self._has_bias else None

    def _padded(self, input: Any) -> Any:
        """The input padded by a non-zeros padding_mode (with tc.pad), or as it is."""
        if self.padding_mode == "zeros":
            return input
        return pad(input, self._reversed_padding_repeated_twice, self.padding_mode)

    def _conv_padding(self) -> Any:
        return self.padding if self.padding_mode == "zeros" else 0

    def extra_repr(self) -> str:
        n = self.dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution layer, as ``torch.nn.Conv2d``.

    Args:
        in_channels: input channels, an int >= 1, divisible by groups.
        out_channels: output channels (the number of kernels), an int >= 1, divisible by groups.
        kernel_size: an int or a pair.
        stride: an int or a pair, each >= 1.
        padding: an int or a pair >= 0 (the same on both sides), "valid" or "same" (stride 1 only).
        dilation: an int or a pair, each >= 1.
        groups: split the channels into this many groups with their own filters
            (groups == in_channels is a depthwise conv).
        bias: whether to add a learned bias.
        padding_mode: "zeros", "reflect", "replicate" or "circular".
        device: "cpu" or None.
        dtype: the parameters' dtype, float32 or float64; None follows ``tc.get_default_dtype()``.
        rng: a np.random.Generator, an int seed, or None for ``tc.nn.init``'s default generator.

    Raises:
        TypeError: for arguments of the wrong type.
        ValueError: for values out of range, naming the argument.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None, *, rng: Any = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, rng)

    def forward(self, input: Tensor | np.ndarray) -> Tensor:
        matching_dtype(input, self.weight, type(self).__name__)
        return conv2d(self._padded(input), self.weight, self.bias, self.stride, self._conv_padding(), self.dilation,
                      self.groups)


class Conv1d(_ConvNd):
    """1-D convolution layer on (C, L) or (N, C, L), as ``torch.nn.Conv1d``.

    Takes Conv2d's arguments with ints (or 1-tuples) for kernel_size, stride, padding and dilation.
    """

    dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None, *, rng: Any = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, rng)

    def forward(self, input: Tensor | np.ndarray) -> Tensor:
        matching_dtype(input, self.weight, "Conv1d")
        return conv1d(self._padded(input), self.weight, self.bias, self.stride, self._conv_padding(), self.dilation,
                      self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution layer, as ``torch.nn.ConvTranspose2d``.

    Args:
        in_channels: input channels, divisible by groups.
        out_channels: output channels, divisible by groups.
        kernel_size: an int or a pair.
        stride: an int or a pair, each >= 1.
        padding: an int or a pair >= 0: the padding of the conv2d being transposed.
        output_padding: an int or a pair, each smaller than the stride or the dilation.
        groups: as in Conv2d.
        bias: whether to add a learned bias.
        dilation: an int or a pair, each >= 1.
        padding_mode: "zeros" only, as in PyTorch.
        device: "cpu" or None.
        dtype: as in Conv2d.
        rng: as in Conv2d.
    """

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None, *, rng: Any = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype, rng, output_padding)

    def forward(self, input: Tensor | np.ndarray, output_size: Any = None) -> Tensor:
        """The transposed conv; ``output_size`` (spatial, or with the batch and channel dims) picks output_padding."""
        matching_dtype(input, self.weight, "ConvTranspose2d")
        output_padding = self._output_padding(shape_of(input, "input", "ConvTranspose2d"), output_size)
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups,
                                self.dilation)

    def _output_padding(self, shape: tuple[int, ...], output_size: Any) -> tuple[int, int]:
        """torch's ``_output_padding``: the output_padding that gives ``output_size``."""
        if output_size is None:
            return self.output_padding
        where = "ConvTranspose2d"
        if not isinstance(output_size, (tuple, list)) or not all(
                isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) for v in output_size):
            raise TypeError(f"{where}: output_size must be a tuple or list of ints, got {output_size!r}")
        if len(shape) not in (3, 4):
            raise ValueError(f"{where}: input must be 3-D (C, H, W) or 4-D (N, C, H, W), got input {tuple(shape)}")
        size = tuple(int(v) for v in output_size)
        if len(size) == len(shape):
            size = size[-2:]
        if len(size) != 2:
            raise ValueError(f"{where}: for a {len(shape)}-D input, output_size must have 2 or {len(shape)} "
                             f"elements, got {output_size!r}")
        low = [(shape[a - 2] - 1) * self.stride[a] - 2 * self.padding[a] + self.dilation[a] * (self.kernel_size[a] - 1)
               + 1 for a in (0, 1)]
        high = [low[a] + self.stride[a] - 1 for a in (0, 1)]
        if any(not low[a] <= size[a] <= high[a] for a in (0, 1)):
            raise ValueError(f"{where}: requested an output size of {size}, but valid sizes range from {tuple(low)} "
                             f"to {tuple(high)} (for an input of {tuple(shape[-2:])})")
        return size[0] - low[0], size[1] - low[1]


class LazyConv2d(Conv2d):
    """A Conv2d whose ``in_channels`` is read off the first input, as ``torch.nn.LazyConv2d``.

    Takes Conv2d's arguments without ``in_channels``, checked at construction. Its parameters
    exist after the first call: run one batch through the model before building the optimizer
    (PyTorch asks the same). It then is a plain ``Conv2d``; with dtype=None the parameters take
    a floating input's dtype.
    """

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None, *, rng: Any = None):
        Module.__init__(self)
        self._settings(out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device, 0)
        self._lazy = (dtype, rng)

    def forward(self, input: Tensor | np.ndarray) -> Tensor:
        shape = shape_of(input, "input", "LazyConv2d")
        if len(shape) not in (3, 4):
            raise ValueError(f"LazyConv2d: input must be (C, H, W) or (N, C, H, W), got {tuple(shape)}")
        dtype, rng = self._lazy
        if dtype is None and getattr(getattr(input, "dtype", None), "kind", "") == "f":
            dtype = input.dtype
        self._build(shape[-3], dtype, rng)
        del self._lazy
        self.__class__ = Conv2d
        return Conv2d.forward(self, input)

    def extra_repr(self) -> str:
        return f"<lazy>, {self.out_channels}, kernel_size={self.kernel_size}"
