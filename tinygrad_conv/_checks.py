"""Small argument validators shared by the ops, nn, optim, schedulers and serialization, and conv's geometry.

Each raises TypeError for a value of the wrong type and ValueError for one out of
range, with a message that names the argument (prefixed by ``where``, the op or
class, when given) and shows the value.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Any

import numpy as np

from .kernels.geometry import Geometry
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


def flag(value: Any, name: str, where: str = "") -> bool:
    """``value`` as a bool; PyTorch refuses ints for its bool flags too.

    Raises:
        TypeError: if ``value`` is not a bool, naming the argument.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{_prefix(where)}{name} must be a bool, got {value!r} of type {type(value).__name__}")
    return bool(value)


REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: Any, op_name: str) -> str:
    """A loss's ``reduction`` if it is "mean", "sum" or "none".

    Raises:
        ValueError: for anything else, naming the op.
    """
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"{op_name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_dim(dim: Any, ndim: int, name: str, op_name: str, shape: tuple[int, ...]) -> int:
    """``dim`` as a non-negative axis of a tensor with ``ndim`` axes (a 0-d tensor takes 0 and -1).

    Args:
        dim: the axis, negative counting from the end.
        ndim: the number of axes it indexes (one more than the input's for unsqueeze).
        name: the argument's name, for the message.
        op_name: the op, for the message.
        shape: the input's shape, for the message.

    Returns:
        The axis in range(max(ndim, 1)).

    Raises:
        TypeError: if it is not an int.
        ValueError: if it is out of range, naming the argument and the shape.
    """
    if not _is_int(dim):
        raise TypeError(f"{op_name}: {name} must be an int, got {dim!r}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise ValueError(f"{op_name}: {name}={dim} is out of range for a tensor of shape {tuple(shape)}")
    return int(dim) % bound


def normalize_dims(dim: Any, ndim: int, op_name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``dim`` (None, an int or a sequence of ints) as a sorted tuple of non-negative axes.

    A 0-d tensor accepts dim 0 and -1, as in PyTorch, and reduces over no axis.

    Raises:
        TypeError: if dim is not None, an int or a sequence of ints.
        ValueError: if an axis is out of range for ``shape`` or repeated.
    """
    if dim is None:
        return tuple(range(ndim))
    items = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if not all(_is_int(a) for a in items):
        raise TypeError(f"{op_name}: dim must be None, an int or a tuple of ints, got {dim!r}")
    bound = max(ndim, 1)
    if any(not -bound <= a < bound for a in items):
        raise ValueError(f"{op_name}: dim {dim!r} is out of range for a tensor of shape {tuple(shape)}")
    axes = tuple(sorted(int(a) % bound for a in items)) if ndim else ()
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op_name}: dim {dim!r} repeats an axis")
    return axes


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


# --- convolution arguments ----------------------------------------------------
def resolve_padding(padding: Any, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
                    where: str = "conv2d") -> tuple[int, int, int, int]:
    """A conv's ``padding`` as (top, bottom, left, right).

    Args:
        padding: an int or pair >= 0 (the same on both sides), "valid" (none), "same" (stride 1
            only; an odd total puts the extra row and column at the bottom and right), or a
            4-tuple (left, right, top, bottom) in torch.nn.functional.pad's order.
        kernel: (kh, kw).
        stride: (sh, sw), checked.
        dilation: (dh, dw), checked.
        where: the op's name, for messages.

    Raises:
        TypeError: for a padding of the wrong type.
        ValueError: for an unknown string, a negative entry or "same" with a stride.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise ValueError(f'{where}: padding must be an int >= 0, a pair, a 4-tuple, "valid" or "same", '
                             f'got {padding!r}')
        if stride != (1, 1):
            raise ValueError(f'{where}: padding="same" needs stride 1, got stride={stride}')
        total_h, total_w = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        left, right = pair(padding[:2], "padding", minimum=0, where=where)
        top, bottom = pair(padding[2:], "padding", minimum=0, where=where)
        return top, bottom, left, right
    ph, pw = pair(padding, "padding", minimum=0, where=where)
    return ph, ph, pw, pw


def output_size(size: int, pad: int, kernel: int, stride: int, dilation: int) -> int:
    """H' = floor((H + pad - dilation*(kernel-1) - 1) / stride) + 1 (``pad`` counts both sides)."""
    return (size + pad - dilation * (kernel - 1) - 1) // stride + 1


def _conv_shapes(x: tuple, w: tuple, b: tuple | None, groups: int, where: str) -> None:
    for name, shape in (("x", x), ("weight", w)):
        if 0 in shape:
            raise ValueError(f"{where}: {name} has an empty dimension: x {x}, weight {w}")
    if len(x) == 2:
        if len(w) != 2:
            raise ValueError(f"{where}: a 2-D input x {x} needs a 2-D weight (kh, kw), got weight {w}")
        if b is not None and b not in ((), (1,)):
            raise ValueError(f"{where}: bias for a 2-D input must be a scalar (shape () or (1,)), got bias {b}")
        if groups != 1:
            raise ValueError(f"{where}: groups={groups} needs a 3-D or 4-D input with channels, got x {x}")
        return
    if len(x) not in (3, 4):
        raise ValueError(f"{where}: x must be 2-D (H, W), 3-D (C, H, W) or 4-D (N, C, H, W), got x {x}")
    if len(w) != 4:
        raise ValueError(f"{where}: a {len(x)}-D input x {x} needs a 4-D weight (O, C, kh, kw), got weight {w}")
    if x[-3] % groups or w[0] % groups:
        raise ValueError(f"{where}: groups={groups} must divide both the input channels ({x[-3]}, x {x}) "
                         f"and the output channels ({w[0]}, weight {w})")
    if w[1] * groups != x[-3]:
        raise ValueError(f"{where}: channel mismatch: x {x} has {x[-3]} channels, weight {w} expects "
                         f"{w[1]}{f' per group times groups={groups}' if groups > 1 else ''}")
    if b is not None and b != (w[0],):
        raise ValueError(f"{where}: bias must have shape ({w[0]},) for weight {w}, got bias {b}")


def conv2d_geometry(x: tuple, w: tuple, b: tuple | None, stride: Any, padding: Any, dilation: Any,
                    groups: Any = 1) -> Geometry:
    """Check a conv2d call's shapes and arguments; return its geometry (cached per distinct call).

    Raises:
        TypeError: for stride, padding, dilation or groups of the wrong type.
        ValueError: for shapes or values out of range, naming the argument and the shapes.
    """
    keys = (_cache_key(stride), _cache_key(padding), _cache_key(dilation), _cache_key(groups))
    if None in keys:
        return _geometry(x, w, b, stride, padding, dilation, groups)
    return _cached_geometry(x, w, b, *keys)


def _cache_key(value: Any) -> Any:
    kind = type(value)
    if kind is int or kind is str or (kind is tuple and len(value) in (2, 4) and all(type(v) is int for v in value)):
        return value
    return None


def _geometry(x: tuple, w: tuple, b: tuple | None, stride: Any, padding: Any, dilation: Any, groups: Any) -> Geometry:
    groups = integer(groups, "groups", minimum=1, where="conv2d")
    _conv_shapes(x, w, b, groups, "conv2d")
    stride, dilation = pair(stride, "stride", minimum=1, where="conv2d"), pair(dilation, "dilation", minimum=1, where="conv2d")
    pads = resolve_padding(padding, w[-2:], stride, dilation)
    for axis, name in ((0, "height"), (1, "width")):
        padded = x[axis - 2] + pads[2 * axis] + pads[2 * axis + 1]
        if padded < dilation[axis] * (w[axis - 2] - 1) + 1:
            raise ValueError(f"conv2d: the kernel {w[-2:]} with dilation {dilation} is larger than the padded "
                             f"input: x {x} padded by {pads} (top, bottom, left, right) has {name} {padded}")
    return Geometry(x, w, b, stride, pads, dilation, groups)


# Module-level, and safe so: bounded (256 entries), lru_cache is thread-safe, a Geometry is never
# changed after it is built (a forked child may share the entries), and cache_clear() empties it.
_cached_geometry = functools.lru_cache(maxsize=256)(_geometry)


def conv_transpose2d_geometry(x: tuple, w: tuple, b: tuple | None, stride: Any, padding: Any, output_padding: Any,
                              groups: Any, dilation: Any) -> tuple[Geometry, tuple[int, int]]:
    """Check a conv_transpose2d call; return the geometry of the conv2d it transposes, and its extra rows and columns.

    The transposed conv's output has the shape of that conv2d's input: per axis
    H = (H' - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1. The extra rows
    (columns) are output_padding // stride: that conv2d's output has them beyond the input's H'.

    Raises:
        TypeError: for arguments of the wrong type.
        ValueError: for shapes or values out of range, naming the argument and the shapes.
    """
    where = "conv_transpose2d"
    groups = integer(groups, "groups", minimum=1, where=where)
    stride, dilation = pair(stride, "stride", minimum=1, where=where), pair(dilation, "dilation", minimum=1, where=where)
    pads, extra_pads = pair(padding, "padding", minimum=0, where=where), pair(output_padding, "output_padding",
                                                                                minimum=0, where=where)
    if 0 in x or 0 in w:
        raise ValueError(f"{where}: x {x} and weight {w} must have no empty dimension")
    if len(x) not in (3, 4) or len(w) != 4:
        raise ValueError(f"{where}: x must be 3-D (C_in, H, W) or 4-D (N, C_in, H, W) and weight 4-D "
                         f"(C_in, C_out/groups, kh, kw), got x {x}, weight {w}")
    if x[-3] != w[0]:
        raise ValueError(f"{where}: channel mismatch: x {x} has {x[-3]} channels, weight {w} expects {w[0]}")
    if w[0] % groups:
        raise ValueError(f"{where}: groups={groups} must divide the input channels ({w[0]}, x {x}, weight {w})")
    c_out = w[1] * groups
    if b is not None and b != (c_out,):
        raise ValueError(f"{where}: bias must have shape ({c_out},) for weight {w} and groups={groups}, got bias {b}")
    for a in (0, 1):
        if extra_pads[a] >= stride[a] and extra_pads[a] >= dilation[a]:
            raise ValueError(f"{where}: output_padding {output_padding!r} must be smaller than the stride {stride} "
                             f"or the dilation {dilation}")
    out_hw = tuple((x[a - 2] - 1) * stride[a] - 2 * pads[a] + dilation[a] * (w[a - 2] - 1) + extra_pads[a] + 1
                   for a in (0, 1))
    if min(out_hw) < 1:
        raise ValueError(f"{where}: the output would be {out_hw}: padding {padding!r} is too large for x {x}, weight {w}")
    geom = Geometry(x[:-3] + (c_out,) + out_hw, w, None, stride, (pads[0], pads[0], pads[1], pads[1]), dilation, groups)
    return geom, (extra_pads[0] // stride[0], extra_pads[1] // stride[1])
