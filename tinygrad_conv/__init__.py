"""tinygrad_conv: a tiny define-by-run autograd on numpy, built around conv2d and its backward.

    import tinygrad_conv as tc
    x = tc.Tensor(np.random.randn(20, 20))
    w = tc.Tensor(np.random.randn(3, 3), requires_grad=True)
    loss = tc.conv2d(x, w).relu().sum_of_squares()
    loss.backward()          # w.grad now holds dloss/dw
"""

from . import data, kernels, nn, optim, viz
from .conv import conv2d, crop, insert_zeros, pad2d, rotate180
from .conv1d import conv1d
from .conv_transpose import conv_transpose2d
from .gradcheck import GradcheckError, gradcheck, gradcheck_op
from .losses import cross_entropy, log_softmax, mse_loss
from .math_ops import div, exp, log, matmul, pow, tanh
from .ops import add, mul, neg, relu, sigmoid, sub, sum_of_squares
from .pool import avg_pool2d, max_pool2d
from .reduce import max, mean, sum
from .registry import OPS, Op, Sample, get_op, register_op
from .serialization import load, save
from .shape import TensorIndexError, flatten, getitem, permute, reshape, transpose
from .tensor import Node, Tensor, is_grad_enabled, no_grad
from .walkthrough import conv2d_backward_steps

pad = pad2d  # issue 12 turns tc.pad into torch.nn.functional.pad's; pad2d stays the seed's (top, bottom, left, right)
__version__ = "0.1.0"

__all__ = [
    "OPS", "GradcheckError", "Node", "Op", "Sample", "Tensor", "TensorIndexError", "add", "avg_pool2d",
    "conv1d", "conv2d", "conv2d_backward_steps", "conv_transpose2d", "crop", "cross_entropy",
    "data", "div", "exp", "flatten", "get_op", "getitem", "gradcheck", "gradcheck_op", "insert_zeros",
    "is_grad_enabled", "kernels", "load", "log", "log_softmax", "matmul", "max", "max_pool2d", "mean", "mse_loss", "mul",
    "neg", "nn", "no_grad", "optim", "pad", "pad2d", "permute", "pow", "register_op", "relu", "reshape", "rotate180",
    "save", "sigmoid", "sub", "sum", "sum_of_squares", "tanh", "transpose", "viz",
]
