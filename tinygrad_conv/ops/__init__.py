"""The registered ops, grouped by meaning; each file keeps every op's forward beside its vjp rule.

- ``arithmetic``: add, sub, mul, div, neg, pow, exp, log (broadcasting binary ops and their operators);
- ``activations``: relu, sigmoid, tanh, softmax and log_softmax;
- ``linalg``: matmul;
- ``reductions``: sum, mean, max, sum_of_squares;
- ``shape``: reshape, flatten, permute, transpose, indexing;
- ``pooling``: max and average pooling;
- ``losses``: cross_entropy and mse_loss;
- ``normalization``: batch_norm, layer_norm and group_norm;
- ``dropout``: dropout and dropout2d.

Importing this package registers them all. The conv ops live in ``tinygrad_conv.conv``.
"""

from . import activations, arithmetic, dropout, linalg, losses, normalization, pooling, reductions, shape  # noqa: F401 - registers the ops
