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
from .activation import ReLU, Sigmoid, Tanh
from .conv import Conv2d
from .linear import Flatten, Linear
from .module import Module, Parameter
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

__all__ = [
    "AvgPool2d", "Conv2d", "Flatten", "Linear", "MaxPool2d", "Module", "ModuleList", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "Tanh", "init", "manual_seed",
]
__all__ += ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool1d", "MaxPool1d"]
