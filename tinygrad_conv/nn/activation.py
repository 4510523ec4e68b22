"""Activation layers: each calls its functional op, with torch.nn's constructor arguments and repr.

``inplace`` (ReLU, LeakyReLU, ELU, SiLU, Hardtanh, ReLU6) is accepted so that PyTorch code ports
unchanged, and ignored: the layer always returns a new tensor and leaves its input as it was.
A model that only uses the layer's output (``nn.ReLU(inplace=True)`` in a Sequential) computes
the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import real
from ..ops.activations import (
    check_inplace, elu, gelu, hardtanh, leaky_relu, logsigmoid, relu, sigmoid, silu, softplus, tanh,
)
from ..ops.softmax import log_softmax, softmax, softmax_dim
from ..tensor import Tensor
from .module import Module


class _Inplace(Module):
    """A layer with PyTorch's ``inplace`` flag (accepted, ignored)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        check_inplace(inplace, type(self).__name__)
        self.inplace = bool(inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """max(x, 0) elementwise."""

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return relu(x)


class ReLU6(_Inplace):
    """min(max(x, 0), 6) elementwise."""

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return hardtanh(x, 0.0, 6.0)


class SiLU(_Inplace):
    """x * sigmoid(x) elementwise."""

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return silu(x)


class LeakyReLU(_Inplace):
    """x where positive, negative_slope * x elsewhere.

    Args:
        negative_slope: the slope for negative inputs.
        inplace: accepted, ignored.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__(inplace)
        self.negative_slope = real(negative_slope, "negative_slope", where="LeakyReLU", finite=False)

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(_Inplace):
    """x where positive, alpha * (exp(x) - 1) elsewhere.

    Args:
        alpha: the scale of the negative part.
        inplace: accepted, ignored.
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = real(alpha, "alpha", where="ELU", finite=False)

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Hardtanh(_Inplace):
    """x clamped to [min_val, max_val]; the gradient is 0 on the bounds.

    Args:
        min_val: the lower bound.
        max_val: the upper bound.
        inplace: accepted, ignored.

    Raises:
        ValueError: if ``max_val <= min_val`` (PyTorch asserts it).
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.min_val = real(min_val, "min_val", where="Hardtanh", finite=False)
        self.max_val = real(max_val, "max_val", where="Hardtanh", finite=False)
        if not self.max_val > self.min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise, computed stably."""

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return sigmoid(x)


class Tanh(Module):
    """tanh(x) elementwise."""

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return tanh(x)


class LogSigmoid(Module):
    """log(sigmoid(x)) elementwise, computed stably."""

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return logsigmoid(x)


class GELU(Module):
    """x * Phi(x), Phi the standard normal cdf.

    Args:
        approximate: ``"none"`` (exact, with erf) or ``"tanh"``.

    Raises:
        ValueError: for another ``approximate``.
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold.

    Args:
        beta: the sharpness.
        threshold: above ``beta * x > threshold`` the layer is the identity.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = real(beta, "beta", where="Softplus", finite=False)
        self.threshold = real(threshold, "threshold", where="Softplus", finite=False)

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class _SoftmaxBase(Module):
    def __init__(self, dim: int | None = None):
        super().__init__()
        if dim is not None:
            softmax_dim(dim, 64, type(self).__name__, ())  # type-checks it; the range is checked on the input
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """exp(x) normalized to sum to 1 along ``dim``.

    Args:
        dim: the axis; None picks PyTorch's implicit (deprecated) axis with its warning.
    """

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return softmax(x, self.dim)


class LogSoftmax(_SoftmaxBase):
    """log(softmax(x)) along ``dim``, computed stably.

    Args:
        dim: the axis; None picks PyTorch's implicit (deprecated) axis with its warning.
    """

    def forward(self, x: Tensor | np.ndarray) -> Tensor:
        return log_softmax(x, self.dim)
