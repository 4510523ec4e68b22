"""The floating dtypes tensors hold, and the default for new ones (float64 unless set).

float64 is numpy's convention and keeps finite-difference gradient checks exact; float32 is
PyTorch's default, halves the memory and runs convs about twice as fast. Tensors hold
float32 or float64 only: ints and bools are converted, never computed with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Process-wide on purpose, as torch.set_default_dtype: one cell holding a dtype, set only by set_default_dtype.
_default_dtype = [np.dtype(np.float64)]


def set_default_dtype(dtype: Any) -> None:
    """Set the floating dtype that new tensors, factories and nn layers use (float64 unless set).

    float64 is numpy's convention and keeps finite-difference gradient checks exact;
    float32 is PyTorch's default, halves the memory and runs convs about twice as fast.

    Raises:
        TypeError: if ``dtype`` is not float32 or float64.
    """
    _default_dtype[0] = floating_dtype(dtype, "dtype")


def get_default_dtype() -> np.dtype:
    """The floating dtype that new tensors use when none is given (float64 unless set)."""
    return _default_dtype[0]


_FLOATING = {np.dtype(np.float32): np.dtype(np.float32), np.dtype(np.float64): np.dtype(np.float64),
             np.float32: np.dtype(np.float32), np.float64: np.dtype(np.float64)}


def floating_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """``dtype`` (a numpy dtype, its name, or a PyTorch dtype such as torch.float32) as float32 or float64.

    Raises:
        TypeError: for anything else, naming ``name``.
    """
    resolved = _FLOATING.get(dtype) if isinstance(dtype, (np.dtype, type)) else None
    if resolved is not None:  # the common case, without building a string
        return resolved
    text = str(dtype)
    if text.startswith("torch."):
        dtype = text[len("torch."):]
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a floating dtype (float32 or float64), got {dtype!r}") from None
    if resolved not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a floating dtype (float32 or float64): tensors hold floats, got {resolved}")
    return resolved
