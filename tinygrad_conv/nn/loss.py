"""Loss modules, as ``torch.nn``'s: each holds its settings and calls its functional loss in ``forward``.

``CrossEntropyLoss(weight=w)(logits, target)`` is ``tc.cross_entropy(logits, target, weight=w)``.
Differences from PyTorch: the deprecated ``size_average`` and ``reduce`` arguments are not
accepted, and settings are checked when the module is built. ``weight`` and ``pos_weight`` are
buffers, as in PyTorch, so that they appear in the ``state_dict`` (when given).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_reduction, integer, real
from ..ops.classification import cross_entropy, nll_loss
from ..ops.losses import (
    binary_cross_entropy, binary_cross_entropy_with_logits, huber_loss, kl_div, l1_loss, mse_loss, smooth_l1_loss,
)
from ..tensor import Tensor
from .module import Module


def _data_tensor(value: Any) -> Tensor | None:
    """A weight as a Tensor that is data: a given Tensor detached (sharing its values), an array-like wrapped."""
    if value is None:
        return None
    return value.detach() if isinstance(value, Tensor) else Tensor(value)


class _Loss(Module):
    """A loss module: ``reduction`` is "mean", "sum" or "none"."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(reduction, type(self).__name__)


class CrossEntropyLoss(_Loss):
    """``cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)``, as torch.nn.CrossEntropyLoss.

    Args:
        weight: optional per-class weights, shape (C,): a Tensor or array-like (data).
        ignore_index: a class index that contributes nothing.
        reduction: "mean", "sum" or "none".
        label_smoothing: in [0, 1].
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.register_buffer("weight", _data_tensor(weight))
        self.ignore_index = integer(ignore_index, "ignore_index", where="CrossEntropyLoss")
        self.label_smoothing = real(label_smoothing, "label_smoothing", minimum=0.0, where="CrossEntropyLoss")
        if self.label_smoothing > 1:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing!r}")

    def forward(self, input: Tensor | np.ndarray, target: Tensor | np.ndarray) -> Tensor:
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(_Loss):
    """``nll_loss(input, target, weight, ignore_index, reduction)`` on log-probabilities, as ``torch.nn.NLLLoss``."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _data_tensor(weight))
        self.ignore_index = integer(ignore_index, "ignore_index", where="NLLLoss")

    def forward(self, input: Tensor | np.ndarray, target: Tensor | np.ndarray) -> Tensor:
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """``mse_loss(input, target, reduction)``, as ``torch.nn.MSELoss``."""

    def forward(self, input: Tensor | np.ndarray, target: Tensor | np.ndarray) -> Tensor:
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """``l1_loss(input, target, reduction)``, as ``torch.nn.L1Loss``."""

    def forward(self, input: Tensor | np.ndarray, target: Tensor | np.ndarray) -> Tensor:
        return l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """``smooth_l1_loss(input, target, reduction, beta)``, as ``torch.nn.SmoothL1Loss`` (beta >= 0)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = real(beta, "beta", minimum=0.0, where="SmoothL1Loss")

    def forward(self, input: Tensor | np.ndarray, target: Tensor | np.ndarray) -> Tensor:
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """``huber_loss(input, target, reduction, delta)``, as ``torch.nn.HuberLoss`` (delta > 0)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = real(delta, "delta", where="HuberLoss")
        if self.delta <= 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta!r}")

    def forward(self, input: Tensor | np.ndarray, target: Tensor | np.ndarray) -> Tensor:
        return huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_Loss):
    """``binary_cross_entropy(input, target, weight, reduction)`` on probabilities, as ``torch.nn.BCELoss``."""

    def __init__(self, weight: Any = None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _data_tensor(weight))

    def forward(self, input: Tensor | np.ndarray, target: Tensor | np.ndarray) -> Tensor:
        return binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """``binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)``, as in PyTorch."""

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None):
        super().__init__(reduction)
        self.register_buffer("weight", _data_tensor(weight))
        self.register_buffer("pos_weight", _data_tensor(pos_weight))

    def forward(self, input: Tensor | np.ndarray, target: Tensor | np.ndarray) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class KLDivLoss(Module):
    """``kl_div(input, target, reduction, log_target)``, as ``torch.nn.KLDivLoss`` ("batchmean" is allowed too)."""

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__()
        if reduction not in ("mean", "sum", "none", "batchmean"):
            raise ValueError(f"KLDivLoss: reduction must be one of ('mean', 'sum', 'none', 'batchmean'), "
                             f"got {reduction!r}")
        self.reduction, self.log_target = reduction, bool(log_target)

    def forward(self, input: Tensor | np.ndarray, target: Tensor | np.ndarray) -> Tensor:
        return kl_div(input, target, self.reduction, self.log_target)
