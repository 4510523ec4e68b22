"""The conv2d backward pass, one named stage at a time, for reading rather than for speed.

`conv2d_backward_steps` runs the seed's algorithm (insert zeros, pad, rotate the
kernel, correlate) with the pieces from `tinygrad_conv.conv` and returns every
intermediate array under a name, so that a notebook can print or plot each stage.
The same algorithm runs inside training under ``tc.kernels.use("literal")``; the default
route ("fast", in `tinygrad_conv.kernels`) computes the same gradients, and the tests check that all agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .conv import conv2d, conv2d_backward_stages
from ._checks import pair, resolve_padding
from .tensor import Tensor, no_grad, to_float_array


def conv2d_backward_steps(
    x: np.ndarray | Tensor, w: np.ndarray | Tensor, grad: np.ndarray | Tensor, stride: Any = 1, padding: Any = 0,
    dilation: Any = 1,
) -> dict[str, Any]:
    """The literal conv2d backward, returning each intermediate array by name.

    Shapes follow `tinygrad_conv.conv2d`: x (H, W) with w (kh, kw); x (C, H, W) or
    (N, C, H, W) with w (O, C, kh, kw). ``grad`` is dL/dy and has the conv output's shape.
    Arrays come back in the layout of the inputs: 2-D for a 2-D input, and with the
    batch (and channel) axes for 3-D and 4-D inputs.

    The returned dict has these keys:

    - ``error``: ``grad`` itself, (…, H', W');
    - ``error_inserted``: stride-1 zeros between its elements, (…, (H'-1)s+1, (W'-1)s+1);
    - ``error_padded``: that, padded by dilation*(k-1) on every side, plus one more
      row (column) at the bottom (right) per unused trailing input row (column);
    - ``kernel``: ``w``; ``kernel_rotated``: ``w`` rotated 180 degrees, with its
      channel axes swapped to (C, O, kh, kw) for 4-D kernels;
    - ``input_padded``: x with the forward's zero padding;
    - ``input_grad_padded``: ``error_padded`` correlated with ``kernel_rotated``
      (dilation d), the gradient of ``input_padded``;
    - ``input_grad``: that, with the forward's padding cropped off: dL/dx;
    - ``kernel_grad``: ``input_padded`` correlated with ``error_inserted``: dL/dw;
    - ``bias_grad``: the sum of the error: dL/db (0-d for a 2-D input, else (O,));
    - ``unused_rows``, ``unused_cols``: how many trailing rows and columns of
      ``input_padded`` the forward never read (their gradient is exactly 0);
    - ``stride``, ``padding`` (top, bottom, left, right), ``dilation``: as resolved.

    Args:
        x: the conv input, array-like or Tensor.
        w: the kernel, array-like or Tensor.
        grad: the error dL/dy, of the output's shape.
        stride: an int or a pair, each >= 1.
        padding: an int or pair >= 0, "valid" or "same", as in ``conv2d``.
        dilation: an int or a pair, each >= 1.

    Returns:
        A dict of named stages (arrays) and the ints and tuples listed above.

    Raises:
        TypeError: for non-numeric data or ill-typed stride, padding or dilation.
        ValueError: for shapes that ``conv2d`` rejects, or a ``grad`` whose shape is not
            the conv output's.
    """
    xa, wa = to_float_array(x, name="x"), to_float_array(w, name="w")
    ga = to_float_array(grad, name="grad")
    with no_grad():
        out_shape = conv2d(Tensor._wrap(xa), Tensor._wrap(wa), None, stride, padding, dilation).shape
    if ga.shape != out_shape:
        raise ValueError(
            f"conv2d_backward_steps: grad must have the conv output's shape {out_shape} "
            f"(x {xa.shape}, w {wa.shape}), got grad {ga.shape}"
        )
    stride = pair(stride, "stride", minimum=1, where="conv2d_backward_steps")
    dilation = pair(dilation, "dilation", minimum=1, where="conv2d_backward_steps")
    pads = resolve_padding(padding, wa.shape[-2:], stride, dilation)
    dtype = np.result_type(xa, wa, ga)
    x4 = xa.astype(dtype, copy=False).reshape((1,) * (4 - xa.ndim) + xa.shape)
    w4 = wa.astype(dtype, copy=False).reshape((1, 1) * (wa.ndim == 2) + wa.shape)
    g4 = ga.astype(dtype, copy=False).reshape(x4.shape[:1] + w4.shape[:1] + ga.shape[-2:])
    stages = conv2d_backward_stages(x4, w4, g4, stride, pads, dilation)

    def like_x(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a.reshape(a.shape[4 - xa.ndim :]) if xa.ndim < 4 else a)

    def like_w(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a.reshape(a.shape[2:]) if wa.ndim == 2 else a)

    for name in ("error", "error_inserted", "error_padded", "input_padded", "input_grad_padded", "input_grad"):
        stages[name] = like_x(stages[name])
    for name in ("kernel", "kernel_rotated", "kernel_grad"):
        stages[name] = like_w(stages[name])
    if wa.ndim == 2:
        stages["bias_grad"] = stages["bias_grad"].reshape(())
    stages.update(stride=stride, padding=pads, dilation=dilation)
    return stages
