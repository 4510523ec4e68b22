"""Dropout: zero random elements (``dropout``) or whole channels (``dropout2d``) while training.

Inverted dropout, as PyTorch's: each kept value is scaled by 1 / (1 - p), so the expected
output equals the input and evaluation needs no rescaling. The random keep-mask is drawn
from ``tc.nn.init``'s shared generator (seeded by ``tc.nn.init.manual_seed``) and passed to
the one registered op, ``dropout``, as data: the op multiplies by it and so does its vjp.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import flag, real, shape_of
from ..registry import REQUIRED, Sample, register_function, register_op
from ..tensor import Tensor, as_input


def _as_mask(mask: Any, x: np.ndarray) -> np.ndarray:
    """The scaled keep-mask in x's dtype, or an error naming both shapes."""
    if not isinstance(mask, np.ndarray) or mask.dtype.kind != "f":
        raise TypeError(f"dropout: mask must be a float ndarray, got {type(mask).__name__}")
    if mask.ndim > x.ndim or any(m not in (1, s) for m, s in zip(mask.shape[::-1], x.shape[::-1])):
        raise ValueError(f"dropout: mask {mask.shape} does not broadcast to input {x.shape}")
    return mask.astype(x.dtype, copy=False)


def _dropout_forward(x, *, mask):
    return x * _as_mask(mask, x)


def _dropout_vjp(g, saved, needs_grad, *, mask):
    return (g * mask.astype(g.dtype, copy=False),)


def _dropout_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [
        Sample((r((3, 4)),), {"mask": (rng.random((3, 4)) > 0.5) * 2.0}),
        Sample((r((2, 3, 2, 2)),), {"mask": (rng.random((2, 3, 1, 1)) > 0.3) / 0.7}),
    ]


_dropout = register_op("dropout", _dropout_forward, _dropout_vjp, inputs=("input",), defaults={"mask": REQUIRED},
                       samples=_dropout_samples, method=False, doc="The dropout op (input * mask); call tc.dropout.")


def _check_p(p: Any, training: Any, op_name: str) -> float:
    p = real(p, "p", where=op_name)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op_name}: dropout probability has to be between 0 and 1, but got {p}")
    flag(training, "training", op_name)
    return p


def _drop(input: Any, p: float, mask_shape: tuple[int, ...], op_name: str) -> Tensor:
    from ..nn.init import get_rng  # nn imports the ops, so not at import time

    x = as_input(input, None, op_name, "input")
    dtype = x.dtype
    if p == 1.0:
        mask = np.zeros(mask_shape, dtype)
    else:
        mask = (get_rng().random(mask_shape, dtype=dtype) >= p).astype(dtype)
        mask *= dtype.type(1.0 / (1.0 - p))
    return _dropout(x, mask=mask)


@register_function(method=False)
def dropout(input: Tensor | np.ndarray, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p), as ``torch.nn.functional.dropout``.

    The mask comes from ``tc.nn.init``'s shared generator: ``tc.nn.init.manual_seed(s)``
    makes it reproducible. PyTorch's ``inplace=`` is not offered: the result is always new.

    Args:
        input: any tensor.
        p: the probability of zeroing an element, in [0, 1] (1 zeroes everything).
        training: drop only when True; otherwise return ``input`` unchanged.

    Returns:
        A Tensor of the input's shape (``input`` itself when not training).

    Raises:
        TypeError: if p is not a real number or training not a bool.
        ValueError: if p is outside [0, 1].
    """
    p = _check_p(p, training, "dropout")
    if not training:
        return as_input(input, None, "dropout", "input")
    return _drop(input, p, shape_of(input, "input", "dropout"), "dropout")


@register_function(method=False)
def dropout2d(input: Tensor | np.ndarray, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels with probability ``p`` and scale the rest by 1 / (1 - p), as ``torch.nn.functional.dropout2d``.

    One draw per (input.shape[0], input.shape[1]) pair: for (N, C, H, W) each example's channel
    is kept or zeroed whole. As PyTorch does today, a 3-D input is read as (N, C, L), not (C, H, W).

    Args:
        input: (N, C, H, W) (or any tensor of at least 2 dims, as above).
        p: the probability of zeroing a channel, in [0, 1].
        training: drop only when True; otherwise return ``input`` unchanged.

    Returns:
        A Tensor of the input's shape (``input`` itself when not training).

    Raises:
        TypeError: if p is not a real number or training not a bool.
        ValueError: if p is outside [0, 1] or the input has fewer than 2 dims.
    """
    p = _check_p(p, training, "dropout2d")
    shape = shape_of(input, "input", "dropout2d")
    if len(shape) < 2:
        raise ValueError(f"dropout2d: input must have at least 2 dims (N, C, ...), got input {tuple(shape)}")
    if not training:
        return as_input(input, None, "dropout2d", "input")
    return _drop(input, p, tuple(shape[:2]) + (1,) * (len(shape) - 2), "dropout2d")
