"""BatchNorm1d, BatchNorm2d, LayerNorm and GroupNorm, with PyTorch's arguments, state and defaults.

Each affine layer starts with ``weight`` ones and ``bias`` zeros. BatchNorm's running
statistics are buffers, so ``state_dict()`` has PyTorch's keys in PyTorch's order
(``weight``, ``bias``, ``running_mean``, ``running_var``, ``num_batches_tracked``):
``running_mean`` and ``running_var`` are Tensors that require no grad, and
``num_batches_tracked`` is a 0-d int64 numpy array (Tensors hold floats).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import flag, integer, matching_dtype, real, shape_of
from ..ops.normalization import batch_norm, group_norm, layer_norm, normalized_dims
from ..tensor import Tensor, floating_dtype, get_default_dtype
from .module import Module, Parameter


def _dtype(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else floating_dtype(dtype)


class _BatchNorm(Module):
    """The BatchNorm layers' shared state and forward; subclasses say which input ranks they take."""

    _ranks: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *, bias: bool = True, dtype: Any = None):
        super().__init__()
        where = type(self).__name__
        self.num_features = integer(num_features, "num_features", minimum=1, where=where)
        self.eps = real(eps, "eps", minimum=0.0, where=where)
        self.momentum = None if momentum is None else real(momentum, "momentum", where=where)
        self.affine = flag(affine, "affine", where)
        self.track_running_stats = flag(track_running_stats, "track_running_stats", where)
        dtype = _dtype(dtype)
        self.weight = Parameter(np.ones(self.num_features, dtype)) if self.affine else None
        self.bias = Parameter(np.zeros(self.num_features, dtype)) if self.affine and bias else None
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dtype)))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1 and no batches tracked (in place)."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked[...] = 0

    def reset_parameters(self) -> None:
        """Reset the running statistics, and weight to ones and bias to zeros (in place)."""
        self.reset_running_stats()
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        shape = shape_of(x, "input", type(self).__name__)
        if len(shape) not in self._ranks:
            expected = " or ".join(f"{rank}D" for rank in self._ranks)
            raise ValueError(f"{type(self).__name__}: expected {expected} input (got {len(shape)}D input of shape "
                             f"{tuple(shape)})")
        if self.weight is not None:
            matching_dtype(x, self.weight, type(self).__name__)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:  # a cumulative average of every batch so far
                factor = 1.0 / float(self.num_batches_tracked)
        # Batch statistics in training, and in evaluation too when no running ones are kept.
        use_batch = self.training or self.running_mean is None
        tracked = not self.training or self.track_running_stats
        return batch_norm(x, self.running_mean if tracked else None, self.running_var if tracked else None,
                          self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs, as ``torch.nn.BatchNorm1d``.

    In training mode each channel is standardized with the batch's statistics, which also
    update the running ones (``momentum`` weights the new batch; None averages every batch
    so far); in evaluation mode (``.eval()``) the running statistics are used.

    Args:
        num_features: C, an int >= 1.
        eps: added to the variance before its square root.
        momentum: the running statistics' update weight, or None for a cumulative average.
        affine: learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
        track_running_stats: keep running statistics; without them batch statistics are used in both modes.
        bias: with ``affine``, learn the bias too.
        dtype: the parameters' and running statistics' floating dtype (None: the default dtype).
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, as ``torch.nn.BatchNorm2d``; arguments as for BatchNorm1d."""

    _ranks = (4,)


class LayerNorm(Module):
    """Standardize over the last dims, as ``torch.nn.LayerNorm``.

    Args:
        normalized_shape: an int or a sequence of ints: the trailing dims to standardize over.
        eps: added to the variance before its square root.
        elementwise_affine: learn a ``weight`` (ones) and ``bias`` (zeros) of shape ``normalized_shape``.
        bias: with ``elementwise_affine``, learn the bias too.
        dtype: the parameters' floating dtype (None: the default dtype).
    """

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 *, dtype: Any = None):
        super().__init__()
        self.normalized_shape = normalized_dims(normalized_shape, "LayerNorm")
        self.eps = real(eps, "eps", minimum=0.0, where="LayerNorm")
        self.elementwise_affine = flag(elementwise_affine, "elementwise_affine", "LayerNorm")
        dtype = _dtype(dtype)
        affine = self.elementwise_affine
        self.weight = Parameter(np.ones(self.normalized_shape, dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype)) if affine and bias else None

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        if self.weight is not None:
            matching_dtype(x, self.weight, "LayerNorm")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Standardize each example's channels in groups, as ``torch.nn.GroupNorm``.

    Args:
        num_groups: how many groups the channels are split into; it must divide num_channels.
        num_channels: C, an int >= 1.
        eps: added to the variance before its square root.
        affine: learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
        bias: with ``affine``, learn the bias too.
        dtype: the parameters' floating dtype (None: the default dtype).

    Raises:
        ValueError: if num_groups does not divide num_channels.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, *,
                 bias: bool = True, dtype: Any = None):
        super().__init__()
        self.num_groups = integer(num_groups, "num_groups", minimum=1, where="GroupNorm")
        self.num_channels = integer(num_channels, "num_channels", minimum=1, where="GroupNorm")
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels ({self.num_channels}) must be divisible by num_groups "
                             f"({self.num_groups})")
        self.eps = real(eps, "eps", minimum=0.0, where="GroupNorm")
        self.affine = flag(affine, "affine", "GroupNorm")
        dtype = _dtype(dtype)
        self.weight = Parameter(np.ones(self.num_channels, dtype)) if self.affine else None
        self.bias = Parameter(np.zeros(self.num_channels, dtype)) if self.affine and bias else None

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        shape = shape_of(x, "input", "GroupNorm")
        if len(shape) < 2 or shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input (N, {self.num_channels}, ...), got input {tuple(shape)}")
        if self.weight is not None:
            matching_dtype(x, self.weight, "GroupNorm")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"
