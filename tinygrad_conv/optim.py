"""Optimizers with PyTorch's update rules: SGD (momentum, Nesterov, weight decay), Adam and AdamW.

The learning-rate schedulers live in :mod:`tinygrad_conv.lr_scheduler` and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR
from .tensor import Tensor


class Optimizer:
    """Holds the parameters; ``step()`` updates their ``.data`` in place from ``.grad``."""

    def __init__(self, params: Iterable[Tensor], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError("params is empty: the optimizer needs at least one Tensor")
        for index, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"params[{index}] must be a Tensor, got {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"params[{index}] (shape {p.shape}) does not require grad")
        _check_non_negative(lr=lr)
        self.lr = float(lr)
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget the accumulated gradients (set ``.grad`` to None, as PyTorch does by default)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p, p.grad, state)

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError


def _check_non_negative(**values: float) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, float, np.floating)) or isinstance(value, bool) or not value >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's momentum and Nesterov rules (dampening 0)."""

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False):
        super().__init__(params, lr)
        _check_non_negative(momentum=momentum, weight_decay=weight_decay)
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.momentum, self.weight_decay, self.nesterov = float(momentum), float(weight_decay), nesterov

    def _update(self, p, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data
        if self.momentum:
            if "momentum" in state:
                state["momentum"] *= self.momentum
                state["momentum"] += grad
            else:
                state["momentum"] = np.array(grad, copy=True)
            buf = state["momentum"]
            grad = grad + self.momentum * buf if self.nesterov else buf
        p.data -= (self.lr * grad).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma & Ba), bias-corrected exactly as ``torch.optim.Adam``; weight decay is L2 added to the grad."""

    decoupled = False

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        _check_non_negative(eps=eps, weight_decay=weight_decay)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        self.betas, self.eps, self.weight_decay = (float(betas[0]), float(betas[1])), float(eps), float(weight_decay)

    def _update(self, p, grad, state):
        beta1, beta2 = self.betas
        if self.weight_decay:
            if self.decoupled:
                p.data *= 1 - self.lr * self.weight_decay
            else:
                grad = grad + self.weight_decay * p.data
        if not state:
            state["step"] = np.zeros(())
            state["exp_avg"], state["exp_avg_sq"] = np.zeros_like(p.data), np.zeros_like(p.data)
        state["step"] += 1
        t = int(state["step"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (grad - m)
        v *= beta2
        v += (1 - beta2) * grad * grad
        step_size = self.lr / (1 - beta1**t)
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps
        p.data -= (step_size * m / denom).astype(p.dtype, copy=False)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    Each step first shrinks the parameter, ``p *= 1 - lr * weight_decay``, then takes the
    plain Adam step; the decay never enters the moment estimates.
    """

    decoupled = True

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)


__all__ = ["SGD", "Adam", "AdamW", "CosineAnnealingLR", "LRScheduler", "Optimizer", "StepLR"]
