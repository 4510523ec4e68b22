"""Small argument validators shared by the ops, nn, optim, schedulers and serialization.

Each raises TypeError for a value of the wrong type and ValueError for one out of
range, with a message that names the argument (prefixed by ``where``, the op or
class, when given) and shows the value.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .tensor import Tensor


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def real(value: Any, name: str, *, minimum: float | None = None, where: str = "", finite: bool = True,
         hint: str = "") -> float:
    """``value`` as a float: any real number type (int, float, np.float32, ...) but bool.

    Args:
        value: the number to check.
        name: the argument's name, for the message.
        minimum: the smallest value allowed, or None.
        where: the op or class the argument belongs to.
        finite: refuse inf and NaN.
        hint: appended to the TypeError message.

    Raises:
        TypeError: if ``value`` is not a real number, or is a bool.
        ValueError: if it is below ``minimum`` or (with ``finite``) not finite.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_prefix(where)}{name} must be a real number, got {value!r} "
                        f"of type {type(value).__name__}{hint}")
    number = float(value)
    if finite and not math.isfinite(number):
        raise ValueError(f"{_prefix(where)}{name} must be finite, got {value!r}")
    if minimum is not None and not number >= minimum:
        raise ValueError(f"{_prefix(where)}{name} must be >= {minimum}, got {value!r}")
    return number


def integer(value: Any, name: str, *, minimum: int | None = None, where: str = "") -> int:
    """``value`` as an int: a Python or numpy integer, not a bool.

    Raises:
        TypeError: if ``value`` is not an integer (a float such as 2.0 included), or is a bool.
        ValueError: if it is below ``minimum``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_prefix(where)}{name} must be an int, got {value!r} of type {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{_prefix(where)}{name} must be >= {minimum}, got {value!r}")
    return int(value)


def pair(value: Any, name: str, *, minimum: int, where: str = "") -> tuple[int, int]:
    """An int or a pair of ints, each >= ``minimum``, as a pair.

    Raises:
        TypeError: if ``value`` is not an int or a pair of ints.
        ValueError: if an entry is below ``minimum``.
    """
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
                                  for v in items):
        raise TypeError(f"{_prefix(where)}{name} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        raise ValueError(f"{_prefix(where)}{name} must be >= {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def shape_of(x: Any, name: str = "x", where: str = "") -> tuple[int, ...]:
    """The shape of a Tensor, an ndarray or a (rectangular) array-like.

    Raises:
        ValueError: for a ragged nested sequence.
    """
    if isinstance(x, (Tensor, np.ndarray)):
        return x.shape
    try:
        return tuple(np.shape(x))
    except ValueError:
        raise ValueError(f"{_prefix(where)}{name} is a ragged sequence, not a rectangular array") from None


def state_array(key: Any, value: Any) -> np.ndarray:
    """A state-dict value (a Tensor or a numeric array-like) as a numpy array.

    Raises:
        TypeError: if the value's dtype is not bool, int or float.
        ValueError: if the value is a ragged sequence.
    """
    try:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
    except (ValueError, TypeError):
        raise ValueError(f"state_dict[{key!r}] is not a rectangular array (a ragged list?)") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"state_dict[{key!r}] must be numeric, got dtype {array.dtype}")
    return array


def matching_dtype(x: Any, weight: Tensor, where: str) -> None:
    """Refuse a floating input whose dtype differs from a layer's weights, as PyTorch does.

    Mixing would silently promote a float32 model's activations to float64 (or the reverse).
    Lists, ints and other non-floating inputs are converted to the weights' dtype by the op.

    Raises:
        TypeError: naming the layer and both dtypes.
    """
    dtype = getattr(x, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind == "f" and dtype != weight.dtype:
        raise TypeError(f"{where}: the input is {np.dtype(dtype)} but the layer's weights are {weight.dtype}; "
                        f"convert the input (x.astype(np.{weight.dtype})) or build the layer with dtype=np.{np.dtype(dtype)}")
