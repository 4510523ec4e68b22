"""tc.nn: Modules, layers and their initialization. Built on the core; the core never imports it.

Parameters: a Module's parameters are its :class:`Parameter` attributes (a Tensor
subclass that requires grad), as in PyTorch. Assigning a plain leaf Tensor that
requires grad to a Module attribute raises TypeError instead of silently leaving it
out of ``parameters()``; wrap it in ``Parameter`` (or ``.detach()`` it to keep a constant).
Likewise a plain list, tuple or dict of Modules or Parameters raises TypeError: hold
modules in a :class:`ModuleList` or :class:`Sequential`.
"""

from . import init
from .containers import ModuleDict, ModuleList, Sequential
from .init import manual_seed
from .activation import ReLU, Sigmoid, Tanh
from .conv import Conv1d, Conv2d, ConvTranspose2d, LazyConv2d
from .linear import Flatten, Identity, LazyLinear, Linear, Unflatten
from .module import Module, Parameter
from .padding import (
    CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d,
    ReplicationPad2d, ZeroPad1d, ZeroPad2d,
)
from .pooling import AvgPool2d, MaxPool2d

__all__ = [
    "AvgPool2d", "CircularPad1d", "CircularPad2d", "ConstantPad1d", "ConstantPad2d", "Conv1d", "Conv2d",
    "ConvTranspose2d", "Flatten", "Identity", "LazyConv2d", "LazyLinear", "Linear", "MaxPool2d", "Module",
    "ModuleDict", "ModuleList", "Parameter", "ReLU", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
    "ReplicationPad2d", "Sequential", "Sigmoid", "Tanh", "Unflatten", "ZeroPad1d", "ZeroPad2d", "init",
    "manual_seed",
]
