"""Sample inputs shared by several ops' gradient checks."""

from __future__ import annotations

import numpy as np

from ..registry import Sample


def binary_samples(rng: np.random.Generator) -> list[Sample]:
    """Pairs of arrays of equal and of broadcasting shapes."""
    return [
        Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))),
        Sample((rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 1)))),
        Sample((rng.standard_normal(()), rng.standard_normal((2, 2)))),
    ]


def unary_samples(rng: np.random.Generator) -> list[Sample]:
    """A matrix kept away from 0 (the kink of relu and abs, where a finite difference is no derivative) and a 0-d value."""
    x = rng.standard_normal((3, 5))
    return [Sample((np.where(np.abs(x) < 0.05, 0.3, x),)), Sample((np.array(1.5),))]


def positive_samples(rng: np.random.Generator) -> list[Sample]:
    """Positive inputs, for log and sqrt."""
    return [Sample((np.abs(rng.standard_normal((3, 4))) + 0.2,)), Sample((np.array(2.5),))]


def real_samples(rng: np.random.Generator) -> list[Sample]:
    """A matrix and a 0-d value, for smooth ops defined everywhere (exp, sin, ...)."""
    return [Sample((rng.standard_normal((3, 4)),)), Sample((np.array(0.7),))]
