r"""2-D convolution (cross-correlation) and its backward pass, built from small named pieces.

Forward. With the input zero-padded to ``xp`` (Hp x Wp), stride s, dilation d and a k x k
kernel (rows and columns alike; everything below holds per axis):

    y[n, o, u, v] = b[o] + sum_{c, i, j} w[o, c, i, j] * xp[n, c, u*s + i*d, v*s + j*d]

    H' = floor((Hp - d*(k-1) - 1) / s) + 1

Input gradient. Input pixel ``xp[t]`` met weight ``w[i]`` in output ``u`` whenever
``u*s + i*d = t``. Scatter the error ``g = dL/dy`` onto the input grid by inserting s-1
zeros between its elements (``z[u*s] = g[u]``, zero elsewhere); then:

    dxp[t] = sum_i z[t - i*d] * w[i]

which is a *full* correlation of ``z`` with the kernel rotated 180 degrees: pad ``z`` by
d*(k-1) on each side and slide ``rotate180(w)`` over it with dilation d, with the kernel's
in/out channels swapped (the error has O channels, the input C). When s does not divide
Hp - d*(k-1) - 1, the last ``rem`` input rows were never read by the forward; one extra row
of padding per unused row at the bottom gives ``dxp`` its full height, and those rows get
exactly 0. Cropping the forward's padding gives ``dx``.

Kernel gradient. ``dw[o, c, i] = sum_{n, u} g[n, o, u] * xp[n, c, u*s + i*d]
= sum_t z[t] * xp[t + i*d]``: the padded input correlated with the zero-inserted error,
read at steps of d (the dilation becomes the stride of this correlation), summed over the
batch (the batch plays the role of channels).

Bias gradient. ``db[o] = sum_{n, u, v} g[n, o, u, v]``: the sum of the error.

This file is that algorithm: the pieces (``pad2d``, ``insert_zeros``, ``rotate180``,
``correlate``, ``crop``), the backward by stages (``conv2d_backward_stages``), and the
conv2d op. The op runs the algorithm as written under ``tc.kernels.use("literal")``;
the default route ("fast") hands the same arithmetic to ``tinygrad_conv.kernels`` in one
call, which computes it with blocked GEMMs on im2col and col2im (never multiplying the
inserted zeros). The tests check every route against a direct loop and PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import kernels
from ._checks import conv2d_geometry, integer, pair
from .kernels.im2col import im2col
from .registry import Sample, register_function, register_op
from .tensor import Tensor

Pair = tuple[int, int]
Padding4 = tuple[int, int, int, int]  # top, bottom, left, right: the seed's order


# --- the named pieces: on arrays, and on Tensors as differentiable ops ------------
def pad2d(x: Any, padding: Padding4, value: float = 0.0) -> Any:
    """Pad the last two axes by (top, bottom, left, right) with ``value``; no copy when all are 0.

    On a Tensor it is a differentiable op (its gradient is ``crop``).
    """
    padding = _four(padding, "pad2d")
    if isinstance(x, Tensor):
        return _pad2d_op(x, padding=padding, value=value)
    top, bottom, left, right = padding
    if not (top or bottom or left or right):
        return x
    shape = x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right)
    out = np.zeros(shape, dtype=x.dtype) if value == 0 else np.full(shape, value, dtype=x.dtype)
    out[..., top : top + x.shape[-2], left : left + x.shape[-1]] = x
    return out


def crop(xp: Any, padding: Padding4) -> Any:
    """Undo ``pad2d``: drop (top, bottom, left, right) rows and columns of the last two axes (a view)."""
    top, bottom, left, right = _four(padding, "crop")
    if isinstance(xp, Tensor):
        return _crop_op(xp, padding=(top, bottom, left, right))
    return xp[..., top : xp.shape[-2] - bottom, left : xp.shape[-1] - right]


def insert_zeros(error: Any, stride: Any) -> Any:
    """Insert stride-1 zeros between neighbouring elements of the last two axes."""
    sh, sw = pair(stride, "stride", minimum=1, where="insert_zeros")
    if isinstance(error, Tensor):
        return _insert_zeros_op(error, stride=(sh, sw))
    if (sh, sw) == (1, 1):
        return error
    h, w = error.shape[-2:]
    out = np.zeros(error.shape[:-2] + ((h - 1) * sh + 1, (w - 1) * sw + 1), dtype=error.dtype)
    out[..., ::sh, ::sw] = error
    return out


def rotate180(kernel: Any) -> Any:
    """Rotate the last two axes by 180 degrees (flip rows and columns)."""
    if isinstance(kernel, Tensor):
        return _rotate180_op(kernel)
    return kernel[..., ::-1, ::-1]


def correlate(xp: np.ndarray, w: np.ndarray, stride: Pair = (1, 1), dilation: Pair = (1, 1)) -> np.ndarray:
    """Valid cross-correlation of (N, C, Hp, Wp) with (O, C, kh, kw) as (N, O, H', W'): one im2col, one GEMM."""
    n, o = xp.shape[0], w.shape[0]
    ho, wo = ((xp.shape[2 + a] - dilation[a] * (w.shape[2 + a] - 1) - 1) // stride[a] + 1 for a in (0, 1))
    out = w.reshape(o, -1) @ im2col(xp, w.shape[2:], stride, dilation)  # (O, N*H'*W')
    return np.ascontiguousarray(out.reshape(o, n, ho, wo).transpose(1, 0, 2, 3))


def _four(padding: Any, where: str) -> Padding4:
    if not isinstance(padding, (tuple, list)) or len(padding) != 4:
        raise TypeError(f"{where}: padding must be 4 ints (top, bottom, left, right), got {padding!r}")
    return tuple(integer(p, "padding", minimum=0, where=where) for p in padding)  # type: ignore[return-value]


# --- the backward, stage by stage: the seed's algorithm ----------------------------
def conv2d_backward_stages(
    x: np.ndarray, w: np.ndarray, g: np.ndarray, stride: Pair, padding: Padding4, dilation: Pair
) -> dict[str, Any]:
    """The seed's insert-zeros/pad/rotate algorithm, as derived above, with every stage by name.

    Args:
        x: the input (N, C, H, W).
        w: the weight (O, C, kh, kw).
        g: the error dL/dy (N, O, H', W').
        stride: (sh, sw).
        padding: the forward's (top, bottom, left, right).
        dilation: (dh, dw).

    Returns:
        A dict of 4-D arrays: ``error``, ``error_inserted`` (stride-1 zeros between elements),
        ``error_padded`` (by dilation*(k-1), plus a row/column per unused trailing input
        row/column), ``kernel``, ``kernel_rotated`` (180 degrees, channels swapped to
        (C, O, kh, kw)), ``input_padded``, ``input_grad_padded``, ``input_grad`` (dL/dx),
        ``kernel_grad`` (dL/dw) and ``bias_grad`` (dL/db, (O,)); and the ints
        ``unused_rows`` and ``unused_cols``.
    """
    xp = pad2d(x, padding)
    kh, kw = w.shape[2:]
    stages = input_grad_stages(g, w, xp.shape[2:], stride, dilation)
    z = stages["error_inserted"]
    dw = correlate(xp.transpose(1, 0, 2, 3), z.transpose(1, 0, 2, 3), stride=dilation)[:, :, :kh, :kw]
    return {
        **stages, "error": g, "kernel": w, "input_padded": xp, "input_grad": crop(stages["input_grad_padded"], padding),
        "kernel_grad": dw.transpose(1, 0, 2, 3), "bias_grad": g.sum(axis=(0, 2, 3)),
    }


def input_grad_stages(g: np.ndarray, w: np.ndarray, xp_hw: Pair, stride: Pair, dilation: Pair) -> dict[str, Any]:
    """The input-gradient half: insert zeros, pad, correlate with the rotated kernel (also conv_transpose2d's forward).

    Args:
        g: the error (N, O, H', W').
        w: the weight (O, C, kh, kw).
        xp_hw: (Hp, Wp), the padded input's size.
        stride: (sh, sw).
        dilation: (dh, dw).

    Returns:
        ``error_inserted``, ``error_padded``, ``kernel_rotated``, ``input_grad_padded`` (N, C, Hp, Wp),
        ``unused_rows`` and ``unused_cols``.
    """
    (kh, kw), (dh, dw) = w.shape[2:], dilation
    z = insert_zeros(g, stride)
    unused_rows = xp_hw[0] - (z.shape[2] + dh * (kh - 1))
    unused_cols = xp_hw[1] - (z.shape[3] + dw * (kw - 1))
    zp = pad2d(z, (dh * (kh - 1), dh * (kh - 1) + unused_rows, dw * (kw - 1), dw * (kw - 1) + unused_cols))
    w_rot = rotate180(w).transpose(1, 0, 2, 3)
    return {"error_inserted": z, "error_padded": zp, "kernel_rotated": w_rot,
            "input_grad_padded": correlate(zp, w_rot, dilation=dilation),
            "unused_rows": int(unused_rows), "unused_cols": int(unused_cols)}


def conv2d_backward_literal(
    x: np.ndarray, w: np.ndarray, g: np.ndarray, stride: Pair, padding: Padding4, dilation: Pair
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) by the seed's algorithm: ``conv2d_backward_stages`` without the stages."""
    stages = conv2d_backward_stages(x, w, g, stride, padding, dilation)
    return stages["input_grad"], stages["kernel_grad"], stages["bias_grad"]


# --- the registered op --------------------------------------------------------------
def _conv2d_forward(x, w, b, *, stride, padding, dilation, groups):
    geom = conv2d_geometry(x.shape, w.shape, None if b is None else b.shape, stride, padding, dilation, groups)
    if kernels.get_route() != "literal":
        y, saved = kernels.conv2d_forward(x, w, b, geom)  # the same arithmetic, blocked and threaded
        return y, (geom, saved)
    x4, w4 = x.reshape(geom.x4_shape), w.reshape(geom.w4_shape)
    y = _by_group(lambda xg, wg: correlate(pad2d(xg, geom.pads), wg, geom.stride, geom.dilation), x4, w4, geom)
    if b is not None:
        y = y + b.reshape(-1, 1, 1)
    return y.reshape(geom.y_shape), (geom, ("literal", x4, w4))


def _conv2d_vjp(g, saved, needs_grad, **attrs):
    geom, saved = saved
    if saved[0] != "literal":
        return kernels.conv2d_backward(g, saved, geom, needs_grad)
    _, x4, w4 = saved
    g4 = g.reshape(geom.y4_shape)
    dx, dw, db = _by_group(lambda xg, wg, gg: conv2d_backward_literal(xg, wg, gg, geom.stride, geom.pads, geom.dilation),
                           x4, w4, geom, g4)
    return dx.reshape(geom.x_shape), dw.reshape(geom.w_shape), None if geom.b_shape is None else db.reshape(geom.b_shape)


def _by_group(fn, x4, w4, geom, g4=None):
    """``fn`` per channel group (one call when groups == 1), outputs joined along the channels."""
    if geom.groups == 1:
        return fn(x4, w4) if g4 is None else fn(x4, w4, g4)
    xs, ws = np.split(x4, geom.groups, 1), np.split(w4, geom.groups, 0)
    if g4 is None:
        return np.concatenate([fn(*a) for a in zip(xs, ws)], 1)
    parts = [fn(*a) for a in zip(xs, ws, np.split(g4, geom.groups, 1))]
    return tuple(np.concatenate([p[i] for p in parts], axis) for i, axis in ((0, 1), (1, 0), (2, 0)))


def _conv2d_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    attrs = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}
    return [
        Sample((r((6, 6)), r((3, 3)), r(())), attrs),
        Sample((r((7, 7)), r((3, 3)), r((1,))), {**attrs, "stride": 2}),
        Sample((r((2, 5, 6)), r((3, 2, 2, 3)), r((3,))), {**attrs, "stride": (2, 1), "padding": 1}),
        Sample((r((2, 2, 7, 6)), r((2, 2, 3, 2)), None), {**attrs, "padding": "same", "dilation": 2}),
        Sample((r((1, 2, 8, 9)), r((2, 2, 3, 3)), r((2,))), {**attrs, "stride": 3, "padding": (1, 0), "dilation": (1, 2)}),
        Sample((r((3, 2, 30, 31)), r((3, 2, 3, 2)), r((3,))), {**attrs, "stride": (2, 3), "padding": 1}),
        Sample((r((2, 4, 6, 5)), r((6, 2, 3, 2)), r((6,))), {**attrs, "padding": (1, 0, 2, 1), "groups": 2}),
        Sample((r((1, 3, 6, 6)), r((3, 1, 3, 3)), None), {**attrs, "stride": 2, "groups": 3}),  # depthwise
    ]


conv2d = register_op(
    "conv2d", _conv2d_forward, _conv2d_vjp, inputs=("input", "weight", "bias"), optional=("bias",),
    defaults={"stride": 1, "padding": 0, "dilation": 1, "groups": 1}, samples=_conv2d_samples,
    doc="""2-D cross-correlation, as torch.nn.functional.conv2d.

    Shapes: input (H, W) with weight (kh, kw) and a scalar bias gives (H', W'); input
    (C, H, W) with weight (O, C/groups, kh, kw) gives (O, H', W'); input (N, C, H, W) gives
    (N, O, H', W'). For 3-D and 4-D inputs bias has shape (O,).

    Args:
        input: the input, a Tensor or array-like.
        weight: the kernel.
        bias: optional, see above.
        stride: an int or a pair, each >= 1.
        padding: an int or pair >= 0, "valid", "same" (stride 1 only; an even kernel puts the
            extra row and column at the bottom and right), or a 4-tuple (left, right, top,
            bottom) in torch.nn.functional.pad's order.
        dilation: an int or a pair, each >= 1.
        groups: splits the channels into this many groups, each convolved with its own
            O/groups filters; groups == C is a depthwise conv. It must divide C and O.

    Returns:
        The output Tensor.

    Raises:
        ValueError: on bad shapes or values, naming the argument and the shapes.
        TypeError: on arguments of the wrong type.
    """,
)


# --- the pieces as ops: each one's gradient is another piece -------------------------
def _piece_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.standard_normal((2, 3, 4)),), {})]


_pad2d_op = register_op(
    "pad2d", lambda x, *, padding, value: (pad2d(x, padding, value), None),
    lambda g, _, needs, *, padding, value: (np.ascontiguousarray(crop(g, padding)),),
    defaults={"padding": (0, 0, 0, 0), "value": 0.0}, method=False, doc="pad2d on a Tensor; its vjp is crop.",
    samples=lambda rng: [Sample((rng.standard_normal((2, 3, 4)),), {"padding": (1, 0, 2, 1)})],
)
_crop_op = register_op(
    "crop", lambda x, *, padding: (np.ascontiguousarray(crop(x, padding)), None),
    lambda g, _, needs, *, padding: (pad2d(g, padding),),
    defaults={"padding": (0, 0, 0, 0)}, method=False, doc="crop on a Tensor; its vjp is pad2d.",
    samples=lambda rng: [Sample((rng.standard_normal((2, 5, 6)),), {"padding": (1, 0, 2, 1)})],
)
_insert_zeros_op = register_op(
    "insert_zeros", lambda x, *, stride: (np.array(insert_zeros(x, stride)), None),
    lambda g, _, needs, *, stride: (np.ascontiguousarray(g[..., :: stride[0], :: stride[1]]),),
    defaults={"stride": (1, 1)}, method=False, doc="insert_zeros on a Tensor; its vjp keeps every stride-th element.",
    samples=lambda rng: [Sample((rng.standard_normal((2, 3, 4)),), {"stride": (2, 3)})],
)
_rotate180_op = register_op(
    "rotate180", lambda x: (np.ascontiguousarray(rotate180(x)), None),
    lambda g, _, needs: (np.ascontiguousarray(rotate180(g)),),
    method=False, doc="rotate180 on a Tensor; its vjp is rotate180.", samples=_piece_samples,
)

for _piece in (pad2d, crop, insert_zeros, rotate180):  # on arrays and on Tensors alike: the public names
    register_function(_piece, method=False)
