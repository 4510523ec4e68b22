"""Learning-rate schedulers that set ``optimizer.lr`` once per ``step()``, with PyTorch's numbers.

Call ``scheduler.step()`` after ``optimizer.step()``, once per epoch. Both schedulers use
PyTorch's recursive ("chainable") update formulas, so their learning rates agree with
``torch.optim.lr_scheduler`` to round-off, not merely with the closed form.
"""

from __future__ import annotations

import math
from typing import Any

from ._checks import integer, real


class LRScheduler:
    """Base class: remembers the optimizer's initial ``lr`` as ``base_lr`` and counts epochs."""

    def __init__(self, optimizer: Any):
        if not hasattr(optimizer, "lr") or not hasattr(optimizer, "step"):
            raise TypeError(f"optimizer must be a tinygrad_conv optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_epoch = 0
        self._last_lr = self.base_lr

    def step(self) -> None:
        """Advance one epoch and write the new learning rate into the optimizer."""
        self.last_epoch += 1
        self.optimizer.lr = self._last_lr = float(self._next_lr(self.optimizer.lr))

    def get_last_lr(self) -> list[float]:
        """The learning rate the last ``step()`` set (the initial one before any step), as a
        one-element list: PyTorch returns one per parameter group, and we have one group."""
        return [self._last_lr]

    def _next_lr(self, lr: float) -> float:
        raise NotImplementedError


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    Args:
        optimizer: the optimizer whose ``lr`` to set.
        step_size: an int >= 1.
        gamma: the decay factor, a number >= 0.
    """

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1):
        super().__init__(optimizer)
        self.step_size = integer(step_size, "step_size", minimum=1, where="StepLR")
        self.gamma = real(gamma, "gamma", minimum=0, where="StepLR")

    def _next_lr(self, lr: float) -> float:
        return lr * self.gamma if self.last_epoch % self.step_size == 0 else lr


class CosineAnnealingLR(LRScheduler):
    """Anneal the learning rate from its initial value to ``eta_min`` along a half cosine over ``T_max`` epochs.

    lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2, computed with PyTorch's
    recursive form. Past ``T_max`` it rises again, as PyTorch's does (it is periodic in 2 * T_max).

    Args:
        optimizer: the optimizer whose ``lr`` to set.
        T_max: the number of epochs of the half period, an int >= 1.
        eta_min: the smallest learning rate, a number >= 0.
    """

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0):
        super().__init__(optimizer)
        self.T_max = integer(T_max, "T_max", minimum=1, where="CosineAnnealingLR")
        self.eta_min = real(eta_min, "eta_min", minimum=0, where="CosineAnnealingLR")

    def _next_lr(self, lr: float) -> float:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if (t - 1 - T) % (2 * T) == 0:
            return lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - eta_min) + eta_min
