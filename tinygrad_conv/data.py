"""A minimal mini-batch iterator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .tensor import Tensor


def batches(X: Any, y: Any, batch_size: int, shuffle: bool = True,
            rng: np.random.Generator | int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(X[i], y[i])`` mini-batches along the first axis, as numpy arrays.

    Every example appears exactly once per pass; the last batch may be smaller.
    Ops accept the arrays directly (``model(xb)``); integer labels stay integers,
    ready for ``tinygrad_conv.cross_entropy``.

    Args:
        X: inputs, an array-like or Tensor with the examples along axis 0.
        y: targets with the same length as X, or None to yield X batches alone.
        batch_size: an int >= 1.
        shuffle: visit the examples in a random order, drawn from ``rng``.
        rng: where the order comes from. A ``np.random.Generator`` advances, so each call
            (each epoch) gets a new order, reproducible from the generator's seed; an int
            seed gives the same order on every call; None draws fresh OS entropy each call.

    Raises:
        TypeError: for a batch_size that is not an int, or an rng of the wrong type.
        ValueError: for batch_size < 1, 0-d inputs, or X and y of different lengths.
    """
    X = np.asarray(X.data if isinstance(X, Tensor) else X)
    y = None if y is None else np.asarray(y.data if isinstance(y, Tensor) else y)
    if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool):
        raise TypeError(f"batch_size must be an int, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if X.ndim == 0 or (y is not None and y.ndim == 0):
        raise ValueError(f"X and y need a first (example) axis, got X {X.shape} and y {None if y is None else y.shape}")
    if y is not None and len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got X {X.shape} and y {y.shape}")
    if rng is not None and not isinstance(rng, (np.random.Generator, int, np.integer)):
        raise TypeError(f"rng must be a np.random.Generator, an int seed or None, got {type(rng).__name__}")
    return _iterate(X, y, int(batch_size), shuffle, np.random.default_rng(rng))


def _iterate(X, y, batch_size, shuffle, rng):
    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        index = order[start : start + batch_size]
        yield (X[index], y[index]) if y is not None else X[index]
