"""tinygrad_conv: a tiny define-by-run autograd on numpy, built around conv2d and its backward.

    import tinygrad_conv as tc
    x = tc.Tensor(np.random.randn(20, 20))
    w = tc.Tensor(np.random.randn(3, 3), requires_grad=True)
    loss = tc.conv2d(x, w).relu().sum_of_squares()
    loss.backward()          # w.grad now holds dloss/dw
"""

from . import optim, viz
from .conv import conv2d, conv2d_backward_fast, conv2d_backward_literal, insert_zeros, pad, rotate180
from .gradcheck import GradcheckError, gradcheck, gradcheck_op
from .ops import add, mul, neg, relu, sigmoid, sub, sum_of_squares
from .registry import OPS, Op, Sample, get_op, register_op
from .tensor import Node, Tensor, is_grad_enabled, no_grad
from .walkthrough import conv2d_backward_steps

__version__ = "0.1.0"

__all__ = [
    "OPS",
    "GradcheckError",
    "Node",
    "Op",
    "Sample",
    "Tensor",
    "add",
    "conv2d",
    "conv2d_backward_fast",
    "conv2d_backward_literal",
    "conv2d_backward_steps",
    "get_op",
    "gradcheck",
    "gradcheck_op",
    "insert_zeros",
    "is_grad_enabled",
    "mul",
    "neg",
    "no_grad",
    "optim",
    "pad",
    "register_op",
    "relu",
    "rotate180",
    "sigmoid",
    "sub",
    "sum_of_squares",
    "viz",
]
