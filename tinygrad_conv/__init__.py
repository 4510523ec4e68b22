"""tinygrad_conv: a tiny define-by-run autograd on numpy, built around conv2d and its backward.

    import tinygrad_conv as tc
    x = tc.Tensor(np.random.randn(20, 20))
    w = tc.Tensor(np.random.randn(3, 3), requires_grad=True)
    loss = tc.conv2d(x, w).relu().sum_of_squares()
    loss.backward()          # w.grad now holds dloss/dw
"""

from . import ops  # noqa: F401 - registers every op and its Tensor methods
from .creation import (  # factories, the seed, and dtype names for ported code (tc.float is torch.float)
    arange, default_generator, empty, empty_like, eye, float32, float32 as float, float64, float64 as double, full,
    full_like, linspace, manual_seed, ones, ones_like, rand, rand_like, randn, randn_like, tensor, zeros, zeros_like,
)
from .conv import conv2d, crop, insert_zeros, pad2d, rotate180
from .conv1d import conv1d
from .conv_transpose import conv_transpose2d
from .gradcheck import GradcheckError, gradcheck, gradcheck_op
from .ops.activations import log_softmax, relu, sigmoid, softmax, tanh
from .ops.arithmetic import add, div, exp, log, mul, neg, pow, sub
from .ops.linalg import matmul
from .ops.losses import cross_entropy, mse_loss
from .ops.pooling import avg_pool2d, max_pool2d
from .ops.reductions import (
    amax, amin, argmax, argmin, logsumexp, max, mean, min, sum, sum_of_squares, take_along_dim,
)
from .ops.shape import (
    TensorIndexError, cat, chunk, expand, flatten, getitem, permute, repeat, reshape, split, squeeze, stack,
    transpose, unflatten, unsqueeze,
)
from .profiler import profile
from .registry import FUNCTIONS, OPS, REQUIRED, Op, Sample, get_op, register_function, register_op
from .serialization import load, save
from .tensor import (
    Node, Tensor, enable_grad, get_default_dtype, is_grad_enabled, no_grad, set_default_dtype, set_grad_enabled,
)
from .walkthrough import conv2d_backward_steps

from . import data, kernels, nn, optim, viz  # noqa: E402 - after the ops they build on

__version__ = "0.1.0"

# Every public function the registry knows (ops and composites) is ``tc.<name>``, including ops that files
# under ops/ add later, without listing each one twice.
globals().update({_name: _fn for _name, _fn in FUNCTIONS.items() if not _name.startswith("_")})

__all__ = [
    "OPS", "REQUIRED", "GradcheckError", "Node", "Op", "Sample", "Tensor", "TensorIndexError", "add", "amax", "amin",
    "argmax", "argmin", "avg_pool2d", "cat", "chunk", "conv1d", "conv2d", "conv2d_backward_steps", "conv_transpose2d",
    "crop", "cross_entropy", "data", "div", "enable_grad", "exp", "expand", "flatten", "get_default_dtype", "get_op",
    "getitem", "gradcheck", "gradcheck_op", "insert_zeros", "is_grad_enabled", "kernels", "load", "log",
    "log_softmax", "logsumexp", "matmul", "max", "max_pool2d", "mean", "min", "mse_loss", "mul", "neg", "nn",
    "no_grad", "optim", "pad2d", "permute", "pow", "profile", "register_function", "register_op", "relu",
    "repeat", "reshape", "rotate180", "save", "set_default_dtype", "set_grad_enabled", "sigmoid", "softmax", "split",
    "squeeze", "stack", "sub", "sum", "sum_of_squares", "take_along_dim", "tanh", "transpose", "unflatten",
    "unsqueeze", "viz",
]
__all__ += [
    "arange", "default_generator", "empty", "empty_like", "eye", "float32", "float64", "full", "full_like",
    "linspace", "manual_seed", "ones", "ones_like", "rand", "rand_like", "randn", "randn_like", "tensor", "zeros",
    "zeros_like",
]
__all__ += sorted(set(FUNCTIONS) - set(__all__))


def __getattr__(name: str) -> object:
    """``tc.<name>`` for an op or function registered after import (a user's ``register_op``)."""
    function = None if name.startswith("_") else FUNCTIONS.get(name)
    if function is None:
        raise AttributeError(f"module 'tinygrad_conv' has no attribute {name!r}")
    return function
