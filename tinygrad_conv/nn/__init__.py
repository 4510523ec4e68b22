"""tc.nn: Modules, layers and their initialization. Built on the core; the core never imports it.

Parameters: a Module's parameters are its ``Parameter`` attributes (a Tensor
subclass that requires grad), as in PyTorch. Assigning a plain leaf Tensor that
requires grad to a Module attribute raises TypeError instead of silently leaving it
out of ``parameters()``; wrap it in ``Parameter`` (or ``.detach()`` it to keep a constant).
Likewise a plain list, tuple or dict of Modules or Parameters raises TypeError: hold
modules in a ``ModuleList`` or ``Sequential``.
"""

from . import init
from .activation import (
    ELU, GELU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Tanh,
)
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose2d, LazyConv2d
from .dropout import Dropout, Dropout2d
from .init import manual_seed
from .linear import Flatten, Identity, LazyLinear, Linear, Unflatten
from .loss import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss,
)
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .padding import (
    CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d,
    ReplicationPad2d, ZeroPad1d, ZeroPad2d,
)
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

# Every Module class imported above, Parameter and the init helpers.
__all__ = sorted(name for name, value in dict(globals()).items() if isinstance(value, type) and issubclass(value, Module))
__all__ += ["Parameter", "init", "manual_seed"]
