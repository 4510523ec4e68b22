"""pad: torch.nn.functional.pad's constant, reflect, replicate and circular padding; negative pads crop.

``pad`` lists (left, right) pairs from the last dim backwards. Constant padding writes the
(cropped) input into a block of ``value``; its gradient is the matching block of the error.
The other modes copy input elements into the border, so each padded axis gets an index
vector ``idx`` (output position -> input position) and the forward is ``np.take`` along that
axis. The gradient goes back axis by axis: the run of outputs that copy the input straight
through is one slice, and the border's error is scatter-added with ``np.add.at``, so an input
element copied into the border collects the error of every copy.

Per axis of size n, output position j sits at input coordinate t = j - left:

- reflect: t itself inside, -t before the start, 2(n-1) - t past the end (pad < n);
- replicate: t clamped to [0, n-1];
- circular: torch crops first, then wraps the cropped range (each pad <= its length).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._checks import real
from ..registry import REQUIRED, Sample, register_op

MODES = ("constant", "reflect", "replicate", "circular")
Pads = list[tuple[int, int, int]]  # (axis, left, right) for each padded axis


def check_pad(shape: tuple[int, ...], pad: Any, mode: Any, value: Any) -> Pads:
    """Check a pad call as torch.nn.functional.pad does; return (axis, left, right) per padded axis.

    Raises:
        TypeError: if pad is not a tuple or list of ints, mode not a string, value not a number.
        ValueError: for an odd length, too many pairs, an unknown mode, a value with a
            non-constant mode, an input whose dims the mode does not support, or pads out of
            range, naming the argument and the shapes.
    """
    if not isinstance(pad, (tuple, list)) or not all(
            isinstance(p, numbers.Integral) and not isinstance(p, (bool, np.bool_)) for p in pad):
        raise TypeError(f"pad: pad must be a tuple or list of ints (left, right pairs from the last dim "
                        f"backwards), got {pad!r}")
    if not isinstance(mode, str):
        raise TypeError(f"pad: mode must be a string, one of {MODES}, got {mode!r}")
    if mode not in MODES:
        raise ValueError(f"pad: mode must be one of {MODES}, got {mode!r}")
    if value is not None:
        value = real(value, "value", where="pad", finite=False)
    pad, ndim = [int(p) for p in pad], len(shape)
    if len(pad) % 2:
        raise ValueError(f"pad: pad must have an even length, (left, right) pairs from the last dim backwards, "
                         f"got pad {tuple(pad)}")
    k = len(pad) // 2
    if k > ndim:
        raise ValueError(f"pad: pad {tuple(pad)} pads {k} dims but the input {shape} has only {ndim}")
    pads = [(ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(k)][::-1]  # in axis order
    if mode != "constant":
        _check_copying_modes(shape, pads, mode, value, tuple(pad))
    for axis, left, right in pads:
        n = shape[axis]
        if n + left + right < 0 or (mode in ("constant", "circular") and max(-left, 0) + max(-right, 0) > n):
            raise ValueError(f"pad: pad ({left}, {right}) at dim {axis} crops more than the {n} elements of the "
                             f"input {shape} (mode {mode!r})")
    if mode in ("reflect", "replicate") and all(shape[axis] + left + right == 0 for axis, left, right in pads):
        raise ValueError(f"pad: pad {tuple(pad)} leaves an empty output for the input {shape} (mode {mode!r})")
    return pads


def _check_copying_modes(shape: tuple[int, ...], pads: Pads, mode: str, value: float | None, pad: tuple) -> None:
    """torch's rules for reflect, replicate and circular: the dims they support and the sizes they copy from."""
    ndim, k = len(shape), len(pads)
    if value is not None and value != 0:
        raise ValueError(f"pad: mode {mode!r} takes no value (only 'constant' does), got value={value!r}")
    if k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
        raise ValueError(f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of an input with one or two leading "
                         f"(batch, channel) dims; pad {pad} of length {2 * k} needs a {k + 1}-D or {k + 2}-D input, "
                         f"got input {shape}")
    for axis, left, right in pads:
        n = shape[axis]
        if mode != "circular" and 0 in shape[ndim - k - 1:]:
            raise ValueError(f"pad: mode {mode!r} needs non-empty dims (but the batch) to copy from, got input {shape}")
        if mode == "reflect" and (left >= n or right >= n):
            raise ValueError(f"pad: reflect padding must be smaller than the padded dim: pad ({left}, {right}) "
                             f"at dim {axis} of input {shape}")
        if mode == "circular":
            kept = n - max(-left, 0) - max(-right, 0)
            if left > kept or right > kept:
                raise ValueError(f"pad: circular padding wraps around more than once: pad ({left}, {right}) at dim "
                                 f"{axis} of input {shape}, whose {kept} kept elements can give at most {kept} "
                                 f"on each side")


def _index(mode: str, n: int, left: int, right: int) -> np.ndarray:
    """For each output position along one axis, the input position it copies."""
    if mode == "circular":
        kept = np.arange(max(-left, 0), n - max(-right, 0))
        return kept[(np.arange(n + left + right) - max(left, 0)) % len(kept)] if len(kept) else kept
    t = np.arange(n + left + right) - left
    if mode == "replicate":
        return np.clip(t, 0, n - 1)
    return np.where(t < 0, -t, np.where(t > n - 1, 2 * (n - 1) - t, t))  # reflect


def _pad_forward(x, *, pad, mode, value):
    pads = check_pad(x.shape, pad, mode, value)
    if mode == "constant":
        out_shape, src, dst = _constant_blocks(x.shape, pads)
        out = np.full(out_shape, 0.0 if value is None else value, dtype=x.dtype)
        out[dst] = x[src]
        return out, ("constant", x.shape, src, dst)
    indices = [(axis, left, _index(mode, x.shape[axis], left, right)) for axis, left, right in pads]
    out = x
    for axis, _, index in indices:
        out = np.take(out, index, axis=axis)
    return (out.copy() if out is x else out), ("copy", x.shape, indices, None)


def _constant_blocks(shape: tuple[int, ...], pads: Pads) -> tuple[tuple[int, ...], tuple, tuple]:
    """The output shape, and the input block (src) that lands at the output block (dst)."""
    out_shape, src, dst = list(shape), [slice(None)] * len(shape), [slice(None)] * len(shape)
    for axis, left, right in pads:
        n = shape[axis]
        kept = n - max(-left, 0) - max(-right, 0)
        out_shape[axis] = n + left + right
        src[axis] = slice(max(-left, 0), max(-left, 0) + kept)
        dst[axis] = slice(max(left, 0), max(left, 0) + kept)
    return tuple(out_shape), tuple(src), tuple(dst)


def _pad_vjp(g, saved, needs_grad, **attrs):
    kind, shape, first, second = saved
    if kind == "constant":
        dx = np.zeros(shape, dtype=g.dtype)
        dx[first] = g[second]
        return (dx,)
    for axis, left, index in reversed(first):
        part = np.zeros(g.shape[:axis] + (shape[axis],) + g.shape[axis + 1:], dtype=g.dtype)
        head = (slice(None),) * axis
        # Output positions j with index[j] == j - left copy the input straight through (one run): a slice.
        run = np.flatnonzero(index == np.arange(len(index)) - left)
        lo, hi = (int(run[0]), int(run[-1]) + 1) if len(run) else (0, 0)
        if hi > lo:
            part[head + (slice(lo - left, hi - left),)] = g[head + (slice(lo, hi),)]
        border = np.r_[0:lo, hi:len(index)]
        np.add.at(part, head + (index[border],), np.take(g, border, axis=axis))
        g = part
    return (g,)


def _pad_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal

    def s(shape: tuple, pad: tuple, mode: str, value: float | None = None) -> Sample:
        return Sample((r(shape),), {"pad": pad, "mode": mode, "value": value})

    return [
        s((5,), (2, 1), "constant", 0.5),
        s((2, 3, 4), (1, -1, -1, 2), "constant"),
        s((2, 3, 4), (1, 0, 0, 1, 2, -1), "constant", -1.0),
        s((2, 5), (2, 3), "reflect"),
        s((2, 3, 4), (-1, 2, 2, -1), "reflect"),
        s((1, 2, 3, 4, 3), (1, 1, 2, 0, 1, 2), "reflect"),
        s((2, 3, 4), (2, -1, 3, 1), "replicate"),
        s((3, 5), (-4, 2), "replicate"),
        s((2, 5), (2, -1), "circular"),
        s((1, 2, 3, 4), (1, 2, 2, -1), "circular"),
        s((1, 2, 2, 3, 4), (4, 4, 1, -1, 1, 2), "circular"),
    ]


pad = register_op(
    "pad", _pad_forward, _pad_vjp, inputs=("input",), defaults={"pad": REQUIRED, "mode": "constant", "value": None},
    samples=_pad_samples, method=False,
    doc="""Pad (or, with negative pads, crop) the last dims, as torch.nn.functional.pad.

    ``pad`` lists (left, right) pairs starting from the last dim: (left, right) pads the last
    dim, (left, right, top, bottom) the last two, and a third pair the dim before them.

    Args:
        input: the Tensor (or array-like) to pad.
        pad: a tuple or list of ints of even length 2*k <= 2*input.ndim; negative entries crop.
        mode: "constant" (fill with ``value``), "reflect" (mirror without repeating the edge;
            each pad smaller than its dim), "replicate" (repeat the edge) or "circular" (wrap
            around; each pad at most its dim's length after cropping). The last three pad the
            last 1, 2 or 3 dims of an input with one or two leading (batch, channel) dims.
        value: the fill of "constant" mode; None means 0.

    Returns:
        The padded Tensor.

    Raises:
        TypeError: if pad is not a tuple or list of ints.
        ValueError: for a pad of odd length or more pairs than dims, an unknown mode, a value
            with a non-constant mode, an input the mode cannot pad, or pads out of range.
    """,
)
