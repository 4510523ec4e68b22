"""conv1d: a conv2d whose inputs have height 1, on (C, L) and (N, C, L) inputs, as torch.nn.functional.conv1d."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import integer
from .conv import _conv2d_forward, _conv2d_vjp
from .registry import Sample, register_op
from .tensor import Tensor


def _one(value: Any, name: str, minimum: int) -> int:
    """An int, or a 1-tuple of one, as torch's conv1d accepts."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise TypeError(f"conv1d: {name} must be an int or a 1-tuple of ints, got {value!r}")
        value = value[0]
    return integer(value, name, minimum=minimum, where="conv1d")


def _as_2d(x_shape: tuple, w_shape: tuple, stride: Any, padding: Any, dilation: Any) -> tuple:
    """The conv2d view of a conv1d call: shapes with a height-1 axis, and (1, s)-style arguments."""
    if len(x_shape) not in (2, 3) or len(w_shape) != 3:
        raise ValueError(f"conv1d: x must be 2-D (C, L) or 3-D (N, C, L) and weight 3-D (O, C/groups, k), "
                         f"got x {x_shape}, weight {w_shape}")
    pad = padding if isinstance(padding, str) else (0, _one(padding, "padding", 0))
    return (x_shape[:-1] + (1, x_shape[-1]), w_shape[:2] + (1, w_shape[2]), (1, _one(stride, "stride", 1)), pad,
            (1, _one(dilation, "dilation", 1)))


def _forward(x, w, b, *, stride, padding, dilation, groups):
    x_shape, w_shape, stride2, pad2, dilation2 = _as_2d(x.shape, w.shape, stride, padding, dilation)
    y, saved = _conv2d_forward(x.reshape(x_shape), w.reshape(w_shape), b, stride=stride2, padding=pad2,
                               dilation=dilation2, groups=groups)
    return y.reshape(y.shape[:-2] + y.shape[-1:]), (saved, x.shape, w.shape)


def _vjp(g, saved, needs_grad, **attrs):
    saved, x_shape, w_shape = saved
    dx, dw, db = _conv2d_vjp(g.reshape(g.shape[:-1] + (1, g.shape[-1])), saved, needs_grad)
    return (None if dx is None else dx.reshape(x_shape)), (None if dw is None else dw.reshape(w_shape)), db


def _samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    attrs = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}
    return [
        Sample((r((2, 7)), r((3, 2, 3)), r((3,))), attrs),
        Sample((r((2, 4, 9)), r((4, 2, 2)), None), {**attrs, "stride": 2, "padding": 1, "groups": 2}),
        Sample((r((1, 2, 8)), r((2, 2, 3)), r((2,))), {**attrs, "padding": "same", "dilation": 2}),
    ]


conv1d = register_op(
    "conv1d", _forward, _vjp, inputs=("input", "weight", "bias"), optional=("bias",),
    defaults={"stride": 1, "padding": 0, "dilation": 1, "groups": 1}, samples=_samples, method=True,
    doc="""1-D cross-correlation, as torch.nn.functional.conv1d: conv2d on a height-1 view.

    Args:
        input: (C, L) or (N, C, L), a Tensor or array-like.
        weight: (O, C/groups, k).
        bias: optional, (O,).
        stride: an int >= 1 (or a 1-tuple).
        padding: an int >= 0 (or a 1-tuple), "valid" or "same" (stride 1 only).
        dilation: an int >= 1 (or a 1-tuple).
        groups: must divide C and O.

    Returns:
        The output Tensor, (O, L') or (N, O, L').

    Raises:
        ValueError: on bad shapes or values, naming the argument and the shapes.
        TypeError: on arguments of the wrong type.
    """,
)
