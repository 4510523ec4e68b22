"""tc.nn: Modules, layers and their initialization. Built on the core; the core never imports it.

Parameters: a Module's parameters are its :class:`Parameter` attributes (a Tensor
subclass that requires grad), as in PyTorch. Assigning a plain leaf Tensor that
requires grad to a Module attribute raises TypeError instead of silently leaving it
out of ``parameters()``; wrap it in ``Parameter`` (or ``.detach()`` it to keep a constant).
Likewise a plain list, tuple or dict of Modules or Parameters raises TypeError: hold
modules in a :class:`ModuleList` or :class:`Sequential`.
"""

from . import init
from .containers import ModuleList, Sequential
from .init import manual_seed
from .activation import (
    ELU, GELU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Tanh,
)
from .conv import Conv2d
from .linear import Flatten, Linear
from .module import Module, Parameter
from .pooling import AvgPool2d, MaxPool2d

__all__ = [
    "AvgPool2d", "Conv2d", "ELU", "Flatten", "GELU", "Hardtanh", "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax",
    "MaxPool2d", "Module", "ModuleList", "Parameter", "ReLU", "ReLU6", "Sequential", "SiLU", "Sigmoid", "Softmax",
    "Softplus", "Tanh", "init", "manual_seed",
]
