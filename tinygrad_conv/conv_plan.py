"""The geometry of one conv2d call, checked once and cached: shapes, padding, output size.

A training loop calls conv2d with the same shapes every step, so :func:`make_plan` checks
the arguments and does the shape arithmetic once per distinct call signature.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .im2col import out_size, phase_shape

Pair = tuple[int, int]
Padding4 = tuple[int, int, int, int]  # top, bottom, left, right


# --- argument checking -------------------------------------------------------
def as_pair(value: Any, name: str, minimum: int) -> Pair:
    """An int or a pair of ints, each >= ``minimum``, as a pair; else a clear error naming ``name``."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def resolve_padding(padding: Any, kernel: Pair, stride: Pair, dilation: Pair) -> Padding4:
    """Turn ``padding`` (int, pair, "valid" or "same") into (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise ValueError(f'padding must be an int >= 0, a pair, "valid" or "same", got {padding!r}')
        if stride != (1, 1):
            raise ValueError(f'padding="same" needs stride 1, got stride={stride}')
        (dh, dw), (kh, kw) = dilation, kernel
        total_h, total_w = dh * (kh - 1), dw * (kw - 1)  # an odd total puts the extra row at the bottom
        return total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2
    ph, pw = as_pair(padding, "padding", 0)
    return ph, ph, pw, pw


def output_size(size: int, pad: int, kernel: int, stride: int, dilation: int) -> int:
    """H' = floor((H + pad - dilation*(kernel-1) - 1) / stride) + 1 (``pad`` counts both sides)."""
    return out_size(size + pad, kernel, stride, dilation)


def _check_shapes(x: tuple, w: tuple, b: tuple | None) -> None:
    for name, shape in (("x", x), ("weight", w)):
        if 0 in shape:
            raise ValueError(f"conv2d: {name} has an empty dimension: x {x}, weight {w}")
    if len(x) == 2:
        if len(w) != 2:
            raise ValueError(f"conv2d: a 2-D input x {x} needs a 2-D weight (kh, kw), got weight {w}")
        if b is not None and b not in ((), (1,)):
            raise ValueError(f"conv2d: bias for a 2-D input must be a scalar (shape () or (1,)), got bias {b}")
        return
    if len(x) not in (3, 4):
        raise ValueError(f"conv2d: x must be 2-D (H, W), 3-D (C, H, W) or 4-D (N, C, H, W), got x {x}")
    if len(w) != 4:
        raise ValueError(f"conv2d: a {len(x)}-D input x {x} needs a 4-D weight (O, C, kh, kw), got weight {w}")
    if w[1] != x[-3]:
        raise ValueError(
            f"conv2d: channel mismatch: x {x} has {x[-3]} channels, weight {w} expects {w[1]}"
        )
    if b is not None and b != (w[0],):
        raise ValueError(f"conv2d: bias must have shape ({w[0]},) for weight {w}, got bias {b}")


class Plan:
    """The checked geometry of one conv2d call: shapes, padding, output size, stride phases."""

    __slots__ = ("b_shape", "c", "dilation", "gemm_flops", "kernel", "kernel_size", "literal_dx_size", "n", "o", "out_hw", "pads",
                 "phase_hw", "phase_size", "span", "stride", "w_shape", "x4_shape", "x_shape", "xp_shape", "y_shape")

    def __init__(self, x: tuple, w: tuple, b: tuple | None, stride: Any, padding: Any, dilation: Any):
        _check_shapes(x, w, b)
        self.stride, self.dilation = as_pair(stride, "stride", 1), as_pair(dilation, "dilation", 1)
        self.x_shape, self.w_shape, self.b_shape = x, w, b
        self.x4_shape = (1,) * (4 - len(x)) + x
        self.n, self.c, h, wd = self.x4_shape
        self.o = w[0] if len(w) == 4 else 1
        self.kernel = kh, kw = w[-2:]
        self.pads = top, bottom, left, right = resolve_padding(padding, self.kernel, self.stride, self.dilation)
        self.xp_shape = (self.n, self.c, h + top + bottom, wd + left + right)
        for axis, name in ((0, "height"), (1, "width")):
            if self.xp_shape[2 + axis] < self.dilation[axis] * (self.kernel[axis] - 1) + 1:
                raise ValueError(
                    f"conv2d: the kernel {self.kernel} with dilation {self.dilation} is larger than the padded "
                    f"input: x {x} padded by {self.pads} has {name} {self.xp_shape[2 + axis]}"
                )
        self.out_hw = tuple(out_size(self.xp_shape[2 + a], self.kernel[a], self.stride[a], self.dilation[a])
                            for a in (0, 1))
        self.y_shape, self.phase_hw = (self.n, self.o)[4 - len(x):] + self.out_hw, phase_shape(self.xp_shape[2:], self.stride)
        self.kernel_size = self.c * kh * kw
        self.phase_size = self.phase_hw[0] * self.phase_hw[1]
        self.span = (self.out_hw[0] - 1) * self.phase_hw[1] + self.out_hw[1]  # of a phase grid, up to the last error
        self.literal_dx_size = self.n * self.o * kh * kw * self.xp_shape[2] * self.xp_shape[3]  # its im2col elements
        self.gemm_flops = 2 * self.n * self.o * self.c * kh * kw * self.out_hw[0] * self.out_hw[1]


_plans: dict[tuple, Plan] = {}


def _cache_key(value: Any) -> Any:
    kind = type(value)
    if kind is int or kind is str or (kind is tuple and len(value) == 2 and type(value[0]) is type(value[1]) is int):
        return value
    return None


def make_plan(x: tuple, w: tuple, b: tuple | None, stride: Any, padding: Any, dilation: Any) -> Plan:
    """Check the arguments and plan the conv, reusing the plan of an identical earlier call."""
    keys = (_cache_key(stride), _cache_key(padding), _cache_key(dilation))
    if None in keys:
        return Plan(x, w, b, stride, padding, dilation)
    key = (x, w, b) + keys
    plan = _plans.get(key)
    if plan is None:
        if len(_plans) > 256:
            _plans.clear()
        plan = _plans[key] = Plan(x, w, b, stride, padding, dilation)
    return plan
