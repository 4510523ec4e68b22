"""Optimizers with PyTorch's update rules: SGD (momentum, Nesterov, weight decay), Adam and AdamW.

The learning-rate schedulers live in ``tinygrad_conv.lr_scheduler`` and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ._checks import flag, real
from .lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR
from .tensor import Tensor


class Optimizer:
    """Holds the parameters; ``step()`` updates their ``.data`` in place from ``.grad``."""

    def __init__(self, params: Iterable[Tensor], lr: float):
        if isinstance(params, Tensor):
            raise TypeError(f"params must be an iterable of Tensors, got a Tensor of shape {params.shape}; "
                            "wrap it in a list: [w]")
        try:
            self.params = list(params)
        except TypeError:
            raise TypeError(f"params must be an iterable of Tensors, got {type(params).__name__}") from None
        if not self.params:
            raise ValueError("params is empty: the optimizer needs at least one Tensor")
        seen: dict[int, int] = {}
        for index, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"params[{index}] must be a Tensor, got {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"params[{index}] (shape {p.shape}) does not require grad")
            if not p.is_leaf:
                raise ValueError(f"params[{index}] (shape {p.shape}): can't optimize a non-leaf Tensor "
                                 "(one made by an op); pass the leaf tensors it was computed from")
            if id(p) in seen:
                raise ValueError(f"params[{index}] (shape {p.shape}) is params[{seen[id(p)]}] again: "
                                 "each parameter may appear only once")
            seen[id(p)] = index
        self.lr = lr
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradients: set each ``.grad`` to None (PyTorch's default), or to zeros in place."""
        for p in self.params:
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad[...] = 0

    @property
    def lr(self) -> float:
        """The learning rate; assigning it (as the schedulers do) checks the new value."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = real(value, "lr", minimum=0, where=type(self).__name__)

    def step(self) -> None:
        """Update every parameter that has a ``.grad``; nothing changes if any check fails.

        Raises:
            ValueError: if a ``.grad`` is not an array of the parameter's shape and dtype kind, a
                parameter's data is read-only, or a parameter changed shape since the optimizer's
                state for it was made.
        """
        for index, (p, state) in enumerate(zip(self.params, self.state)):
            if p.grad is not None:
                self._check(index, p, state)
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p, p.grad, state)

    def _check(self, index: int, p: Tensor, state: dict[str, np.ndarray]) -> None:
        grad, data = p.grad, p.data
        if (type(grad) is np.ndarray and grad.shape == data.shape and grad.dtype.kind == data.dtype.kind
                and data.flags.writeable and all(key == "step" or b.shape == data.shape for key, b in state.items())):
            return  # the common case, checked without building a message
        where = f"{type(self).__name__}.step: params[{index}]"
        if not isinstance(grad, np.ndarray) or grad.shape != p.shape or grad.dtype.kind != p.dtype.kind:
            got = (f"shape {grad.shape} and dtype {grad.dtype}" if isinstance(grad, np.ndarray)
                   else f"a {type(grad).__name__}")
            raise ValueError(f"{where}.grad must be an array of the parameter's shape {p.shape} "
                             f"and dtype kind of {p.dtype}, got {got}")
        if not p.data.flags.writeable:
            raise ValueError(f"{where} has read-only data (shape {p.shape}); the optimizer updates it in place: "
                             "give it a writable array, p.data = p.data.copy()")
        for key, buffer in state.items():
            if key != "step" and buffer.shape != p.shape:
                raise ValueError(f"{where} has shape {p.shape}, but its optimizer state {key!r} has shape "
                                 f"{buffer.shape}: the parameter changed shape after a step; make a new "
                                 f"{type(self).__name__} for it")

    def _update(self, p: Tensor, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's arguments and its momentum, dampening and Nesterov rules."""

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        super().__init__(params, lr)
        self.momentum = real(momentum, "momentum", minimum=0, where="SGD")
        self.dampening = real(dampening, "dampening", where="SGD")
        self.weight_decay = real(weight_decay, "weight_decay", minimum=0, where="SGD")
        flag(nesterov, "nesterov", "SGD")
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening 0")
        self.nesterov = bool(nesterov)

    def _update(self, p, grad, state):
        if self.weight_decay:
            grad = grad + self.weight_decay * p.data
        if self.momentum:
            if "momentum" in state:
                state["momentum"] *= self.momentum
                state["momentum"] += (1 - self.dampening) * grad if self.dampening else grad
            else:
                state["momentum"] = np.array(grad, copy=True)
            buf = state["momentum"]
            grad = grad + self.momentum * buf if self.nesterov else buf
        data = p.data  # in place: assigning p.data would convert it again
        data -= (self.lr * grad).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma & Ba), bias-corrected exactly as ``torch.optim.Adam``; weight decay is L2 added to the grad."""

    decoupled = False

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        where = type(self).__name__
        self.eps = real(eps, "eps", minimum=0, where=where)
        self.weight_decay = real(weight_decay, "weight_decay", minimum=0, where=where)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{where}: betas must be a pair of numbers (beta1, beta2), got {betas!r}")
        self.betas = (real(betas[0], "betas[0]", minimum=0, where=where),
                      real(betas[1], "betas[1]", minimum=0, where=where))
        if not all(b < 1 for b in self.betas):
            raise ValueError(f"{where}: betas must be two numbers in [0, 1), got {betas!r}")

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
        data = p.data  # in place: assigning p.data would convert it again
        data -= (step_size * m / denom).astype(p.dtype, copy=False)


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
