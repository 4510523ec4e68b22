"""Parameter initialization, drawn from a seedable ``np.random.Generator``.

Every layer takes ``rng=``: a Generator, an int seed, or None for this module's
default generator. ``manual_seed(seed)`` re-seeds that default, so

    tc.nn.init.manual_seed(0)
    model = tc.nn.Sequential(tc.nn.Linear(4, 3), ...)

builds the same weights every run (as ``torch.manual_seed`` does for PyTorch).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..creation import default_generator as _default
from ..creation import manual_seed  # noqa: F401 - tc.manual_seed: one generator for init, dropout and tc.rand
from ..tensor import floating_dtype, get_default_dtype


def get_rng(rng: Any = None) -> np.random.Generator:
    """``rng`` as a Generator: a Generator as is, an int as a seed, None as the module's default."""
    if rng is None:
        return _default
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a np.random.Generator, an int seed or None, got {type(rng).__name__}")


def fan_in(shape: tuple[int, ...]) -> int:
    """Inputs feeding one output unit: ``in_features`` for (out, in), ``C*kh*kw`` for (O, C, kh, kw)."""
    if len(shape) < 2:
        raise ValueError(f"fan_in needs a weight of at least 2 dims, got shape {shape}")
    return int(np.prod(shape[1:]))


def kaiming_uniform(shape: tuple[int, ...], a: float = math.sqrt(5), rng: Any = None,
                    dtype: Any = None) -> np.ndarray:
    """U(-b, b) with b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)): PyTorch's ``kaiming_uniform_``.

    With PyTorch's default a = sqrt(5) for Linear and Conv2d weights, b = 1 / sqrt(fan_in).
    """
    bound = math.sqrt(2.0 / (1 + a * a)) * math.sqrt(3.0 / fan_in(shape))
    return uniform(shape, bound, rng, dtype)


def uniform(shape: tuple[int, ...], bound: float, rng: Any = None, dtype: Any = None) -> np.ndarray:
    """U(-bound, bound) of the given shape and floating dtype (None: the default dtype).

    Raises:
        TypeError: for a dtype that is not float32 or float64 (an integer dtype would round every weight to 0).
    """
    dtype = get_default_dtype() if dtype is None else floating_dtype(dtype)
    return get_rng(rng).uniform(-bound, bound, size=shape).astype(dtype, copy=False)
