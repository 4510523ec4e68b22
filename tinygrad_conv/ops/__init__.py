"""The registered ops, grouped by meaning; each file keeps every op's forward beside its vjp rule.

- ``arithmetic``: add, sub, mul, div, neg, pow, exp, log (broadcasting binary ops and their operators);
- ``elementwise``: abs, sqrt, rsqrt, square, reciprocal, sin, cos, maximum, minimum, clamp / clip, where;
- ``activations``: relu, sigmoid, tanh, leaky_relu, elu, gelu, silu, softplus, logsigmoid, hardtanh, relu6,
  softmax and log_softmax;
- ``linalg``: matmul;
- ``reductions``: sum, mean, max, sum_of_squares;
- ``shape``: reshape, flatten, permute, transpose, indexing;
- ``pooling``: max and average pooling;
- ``losses``: cross_entropy and mse_loss.

Importing this package registers them all. The conv ops live in ``tinygrad_conv.conv``.
"""

from . import activations, arithmetic, elementwise, linalg, losses, pooling, reductions, shape  # noqa: F401
