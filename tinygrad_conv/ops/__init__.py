"""The registered ops, grouped by meaning; each file keeps every op's forward beside its vjp rule.

- ``arithmetic``: add, sub, mul, div, neg, pow, exp, log (broadcasting binary ops and their operators);
- ``activations``: relu, sigmoid, tanh, softmax and log_softmax;
- ``linalg``: matmul;
- ``reductions``: sum, mean, max, sum_of_squares;
- ``shape``: reshape, flatten, permute, transpose, indexing;
- ``padding``: pad (torch.nn.functional.pad: constant, reflect, replicate, circular);
- ``pooling``: max and average pooling;
- ``losses``: cross_entropy and mse_loss.

Importing this package registers them all. The conv ops live in ``tinygrad_conv.conv``.
"""

from . import activations, arithmetic, linalg, losses, padding, pooling, reductions, shape  # noqa: F401 - registers the ops
