"""conv_transpose2d: the adjoint of conv2d, so its forward IS conv2d's input gradient.

For a conv2d with weight w (C_in, C_out/groups, kh, kw) taking (N, C_out, H, W) to
(N, C_in, H', W'), conv_transpose2d takes (N, C_in, H', W') back to (N, C_out, H, W) by the
seed's input-gradient algorithm: insert stride-1 zeros, pad by dilation*(k-1), correlate
with the kernel rotated 180 degrees, crop the padding (``conv.input_grad_stages``, the same
code as conv2d's backward). Its own gradients are conv2d's other two directions: the input
gradient is a conv2d forward of the error, the weight gradient conv2d's kernel gradient.
``output_padding`` adds rows (columns) at the bottom (right) that the conv2d never read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import kernels
from ._checks import conv_transpose2d_geometry
from .conv import _by_group, conv2d_backward_literal, correlate, crop, input_grad_stages, pad2d
from .registry import Sample, register_op
from .tensor import Tensor


def _extend(x4: np.ndarray, extra: tuple[int, int]) -> np.ndarray:
    """Zero rows and columns at the bottom and right: the conv2d's outputs past the input's (output_padding >= stride)."""
    return x4 if extra == (0, 0) else pad2d(x4, (0, extra[0], 0, extra[1]))


def _forward(x, w, b, *, stride, padding, output_padding, groups, dilation):
    geom, extra = conv_transpose2d_geometry(x.shape, w.shape, None if b is None else b.shape, stride, padding,
                                            output_padding, groups, dilation)
    g4 = _extend(x.reshape((1,) * (4 - x.ndim) + x.shape), extra)
    if kernels.get_route() == "literal":  # the seed's input-gradient stages, per group
        y = _by_group(lambda gg, wg: crop(input_grad_stages(gg, wg, geom.xp_shape[2:], geom.stride, geom.dilation)
                                          ["input_grad_padded"], geom.pads), g4, w, geom)
        literal = True
    else:
        y, literal = kernels.conv2d_input_grad(g4.reshape(geom.y4_shape), w, geom).reshape(geom.x4_shape), False
    if b is not None:
        y = y + b.reshape(-1, 1, 1)
    return y.reshape(geom.x_shape), (geom, extra, g4, w, literal)


def _vjp(gy, saved, needs_grad, **attrs):
    geom, extra, x4, w, literal = saved
    gy4, (h, wd) = gy.reshape(geom.x4_shape), x4.shape[2:]
    h, wd = h - extra[0], wd - extra[1]
    dx = dw = None
    if literal:
        if needs_grad[0]:
            dx = _by_group(lambda gg, wg: correlate(pad2d(gg, geom.pads), wg, geom.stride, geom.dilation), gy4, w, geom)
        if needs_grad[1]:
            dw = _by_group(lambda gg, wg, xg: conv2d_backward_literal(gg, wg, xg, geom.stride, geom.pads, geom.dilation),
                           gy4, w, geom, x4)[1]
    else:
        y, conv_saved = kernels.conv2d_forward(gy4.reshape(geom.x_shape), w, None, geom)
        dx = y.reshape(geom.y4_shape) if needs_grad[0] else None
        if needs_grad[1]:
            dw = kernels.conv2d_backward(x4.reshape(geom.y_shape), conv_saved, geom, (False, True, False))[1]
    if dx is not None:
        dx = dx[:, :, :h, :wd].reshape(geom.y_shape[:-2] + (h, wd))
    db = gy4.sum(axis=(0, 2, 3)) if needs_grad[2] else None
    return dx, dw, db


def _samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    attrs = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1}
    return [
        Sample((r((2, 3, 4)), r((2, 3, 3, 2)), r((3,))), attrs),
        Sample((r((2, 2, 3, 4)), r((2, 3, 3, 3)), r((3,))), {**attrs, "stride": 2, "padding": 1, "output_padding": 1}),
        Sample((r((1, 4, 3, 3)), r((4, 1, 2, 3)), None), {**attrs, "stride": (2, 1), "groups": 2, "dilation": (1, 2)}),
        Sample((r((1, 2, 3, 3)), r((2, 1, 3, 3)), r((1,))), {**attrs, "stride": 2, "output_padding": (1, 0)}),
        Sample((r((1, 1, 3, 3)), r((1, 1, 2, 2)), None), {**attrs, "dilation": 3, "output_padding": 2}),
    ]


conv_transpose2d = register_op(
    "conv_transpose2d", _forward, _vjp, inputs=("input", "weight", "bias"), optional=("bias",),
    defaults={"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1}, samples=_samples,
    method=True, doc="""Transposed 2-D convolution, as torch.nn.functional.conv_transpose2d: the input gradient of a conv2d.

    Shapes: input (C_in, H', W') or (N, C_in, H', W'), weight (C_in, C_out/groups, kh, kw),
    bias (C_out,); output (..., C_out, H, W) with H = (H'-1)*stride - 2*padding +
    dilation*(kh-1) + output_padding + 1 (W alike).

    Args:
        input: the input, a Tensor or array-like.
        weight: the kernel.
        bias: optional, (C_out,).
        stride: an int or a pair, each >= 1.
        padding: an int or a pair >= 0: the padding of the conv2d being transposed.
        output_padding: an int or a pair, each smaller than the stride or the dilation: extra
            rows and columns at the bottom and right.
        groups: must divide C_in; each group of input channels has its own C_out/groups filters.
        dilation: an int or a pair, each >= 1.

    Returns:
        The output Tensor.

    Raises:
        ValueError: on bad shapes or values, naming the argument and the shapes.
        TypeError: on arguments of the wrong type.
    """,
)
