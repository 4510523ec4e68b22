"""The registered ops, grouped by meaning; each file keeps every op's forward beside its vjp rule.

- ``arithmetic``: add, sub, mul, div, neg, pow, exp, log (broadcasting binary ops and their operators);
- ``elementwise``: abs, sqrt, rsqrt, square, reciprocal, sin, cos, maximum, minimum, clamp / clip, where;
- ``activations``: relu, sigmoid, tanh, leaky_relu, elu, gelu, silu, softplus, logsigmoid, hardtanh, relu6;
- ``softmax``: softmax and log_softmax;
- ``copying``: clone and the dtype cast ``to`` (``x.float()``, ``x.double()``);
- ``linalg``: matmul;
- ``reductions``: sum, mean, max, sum_of_squares;
- ``shape``: reshape, flatten, permute, transpose, indexing;
- ``padding``: pad (torch.nn.functional.pad: constant, reflect, replicate, circular);
- ``pooling``: max and average pooling;
- ``pooling_variants``: adaptive max and average pooling, 1-D max and average pooling;
- ``losses``: mse_loss, l1_loss, smooth_l1_loss, huber_loss, binary_cross_entropy(_with_logits), kl_div;
- ``classification``: cross_entropy, nll_loss and one_hot (imported by ``losses``);
- ``normalization``: batch_norm, layer_norm and group_norm;
- ``dropout``: dropout and dropout2d.

Importing this package registers them all. The conv ops live in ``tinygrad_conv.conv``.
"""

from . import (  # noqa: F401 - registers the ops
    activations, arithmetic, copying, dropout, elementwise, linalg, losses, normalization, padding, pooling,
    pooling_variants, reductions, shape, softmax,
)
