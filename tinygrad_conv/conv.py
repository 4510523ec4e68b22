r"""2-D convolution (cross-correlation) and its backward pass, built from small named pieces.

Forward. With the input zero-padded to ``xp`` (Hp x Wp), stride s, dilation d and a
k x k kernel (rows and columns alike; everything below holds per axis)::

    y[n, o, u, v] = b[o] + sum_{c, i, j} w[o, c, i, j] * xp[n, c, u*s + i*d, v*s + j*d]

    H' = floor((Hp - d*(k-1) - 1) / s) + 1

It is a GEMM: the weights as an (O, C*k*k) matrix times the im2col matrix of
``xp``, (C*k*k, N*H'*W'), one column per output pixel (see :mod:`.im2col`).

Input gradient. Input pixel ``xp[t]`` met weight ``w[i]`` in output ``u`` whenever
``u*s + i*d = t``. Scatter the error ``g = dL/dy`` onto the input grid by inserting
s-1 zeros between its elements (``z[u*s] = g[u]``, zero elsewhere); then::

    dxp[t] = sum_i z[t - i*d] * w[i]

which is a *full* correlation of ``z`` with the kernel rotated 180 degrees: pad ``z``
by d*(k-1) on each side and slide ``rotate180(w)`` over it with dilation d, with the
kernel's in/out channels swapped (the error has O channels, the input C). When s does
not divide Hp - d*(k-1) - 1, the last ``rem`` input rows were never read by the forward;
one extra row of padding per unused row at the bottom gives ``dxp`` its full height,
and those rows get exactly 0. Cropping the forward's padding gives ``dx``.

Kernel gradient. ``dw[o, c, i] = sum_{n, u} g[n, o, u] * xp[n, c, u*s + i*d]
= sum_t z[t] * xp[t + i*d]``: the padded input correlated with the zero-inserted
error, read at steps of d (so the dilation becomes the stride of this correlation),
summed over the batch (the batch plays the role of channels).

Bias gradient. ``db[o] = sum_{n, u, v} g[n, o, u, v]``: the sum of the error.

``conv2d_backward_literal`` is that algorithm, step by step. The engine's vjp runs an
equivalent fast route (``conv2d_backward_fast`` calls it too), built on the im2col
matrix ``cols`` of ``xp``:

- kernel gradient: the sum over (n, u) above is a GEMM, ``g (O, N*H'*W') @ cols.T``
  (run per image and transposed, ``cols_n @ g_n.T``);
- input gradient: ``dcols = w.T @ g`` gives every product ``w[i] * g[u]``, and col2im adds
  each one at ``t = u*s + i*d``, the same sum as the correlation above, without multiplying
  the (s^2-1)/s^2 inserted zeros. For tiny inputs, where each numpy call costs more than
  the arithmetic, it instead runs the literal insert-zeros/pad/rotate correlation itself as
  one im2col and one GEMM (fewer calls than col2im's k*k slab adds);
- bias gradient: a sum over the error.

Both directions run a few images at a time (``CHUNK``), never on the whole im2col matrix
(a single image keeps its small im2col matrix instead): the forward pads a block of
images, copies their patches into a per-core block that stays in cache and multiplies
each image's columns straight into its NCHW slice. It saves only the padded input. The
backward copies the same block of patches again (cheaper than reading a saved im2col
matrix, C*kh*kw times the input, back from memory) for the kernel gradient, then reuses
that block's memory for the patch gradients ``dcols`` (when their dtypes agree and its
rows are a phase grid apart). So the peak memory above the tensors is the padded input,
its gradient and a few blocks per core.

The tests check both paths against each other, against a direct loop and against PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .conv_plan import Padding4, Pair, Plan, make_plan
from .cores import split_images
from .im2col import col2im_wide, im2col, out_size, reusable, row_padded, widen, windows
from .registry import Sample, register_function, register_op
from .tensor import Tensor, apply

LITERAL_DX_MAX = 1 << 15  # im2col elements below which the literal input gradient beats col2im's k*k calls
CHUNK = 1 << 18  # im2col elements per block of images (about 1 MiB in float32): a block stays in cache
SPLIT_MIN_FLOPS = 1e7  # GEMM flops per direction above which the images are split across the cores


# --- the named pieces ----------------------------------------------------------
def pad(x: np.ndarray, padding: Padding4, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes by (top, bottom, left, right) with ``value``; no copy when all are 0."""
    top, bottom, left, right = padding
    if not (top or bottom or left or right):
        return x
    shape = x.shape[:-2] + (x.shape[-2] + top + bottom, x.shape[-1] + left + right)
    out = np.zeros(shape, dtype=x.dtype) if value == 0 else np.full(shape, value, dtype=x.dtype)
    out[..., top : top + x.shape[-2], left : left + x.shape[-1]] = x
    return out


def insert_zeros(error: np.ndarray, stride: Pair) -> np.ndarray:
    """Insert stride-1 zeros between neighbouring elements of the last two axes."""
    sh, sw = stride
    if (sh, sw) == (1, 1):
        return error
    h, w = error.shape[-2:]
    out = np.zeros(error.shape[:-2] + ((h - 1) * sh + 1, (w - 1) * sw + 1), dtype=error.dtype)
    out[..., ::sh, ::sw] = error
    return out


def rotate180(kernel: np.ndarray) -> np.ndarray:
    """Rotate the last two axes by 180 degrees (flip rows and columns)."""
    return kernel[..., ::-1, ::-1]


def correlate(xp: np.ndarray, w: np.ndarray, stride: Pair = (1, 1), dilation: Pair = (1, 1)) -> np.ndarray:
    """Valid cross-correlation of (N, C, Hp, Wp) with (O, C, kh, kw) as (N, O, H', W'): one im2col, one GEMM."""
    n, o = xp.shape[0], w.shape[0]
    cols = im2col(xp, w.shape[2:], stride, dilation)
    out = w.reshape(o, -1) @ cols
    return out.reshape(o, n, -1).transpose(1, 0, 2).reshape(n, o, *_out_hw(xp.shape, w.shape, stride, dilation))


def _out_hw(xp_shape: tuple, w_shape: tuple, stride: Pair, dilation: Pair) -> Pair:
    return tuple(out_size(xp_shape[2 + a], w_shape[2 + a], stride[a], dilation[a]) for a in (0, 1))


def crop(xp: np.ndarray, padding: Padding4) -> np.ndarray:
    """Undo :func:`pad`: drop (top, bottom, left, right) rows and columns of the last two axes."""
    top, bottom, left, right = padding
    return xp[..., top : xp.shape[-2] - bottom, left : xp.shape[-1] - right]


# --- backward: the seed's algorithm and the fast equivalent -------------------
def conv2d_backward_stages(
    x: np.ndarray, w: np.ndarray, g: np.ndarray, stride: Pair, padding: Padding4, dilation: Pair
) -> dict[str, Any]:
    """The seed's insert-zeros/pad/rotate algorithm, as derived above, with every stage by name.

    Args:
        x: input (N, C, H, W). w: weight (O, C, kh, kw). g: error dL/dy (N, O, H', W').
        stride, dilation: pairs. padding: (top, bottom, left, right).

    Returns:
        A dict of 4-D arrays: ``error``, ``error_inserted`` (stride-1 zeros between elements),
        ``error_padded`` (by dilation*(k-1), plus a row/column per unused trailing input
        row/column), ``kernel``, ``kernel_rotated`` (180 degrees, channels swapped to
        (C, O, kh, kw)), ``input_padded``, ``input_grad_padded``, ``input_grad`` (dL/dx),
        ``kernel_grad`` (dL/dw) and ``bias_grad`` (dL/db, (O,)); and the ints
        ``unused_rows`` and ``unused_cols``.
    """
    xp = pad(x, padding)
    (kh, kw), (dh, dw_) = w.shape[2:], dilation
    z = insert_zeros(g, stride)
    unused_rows = xp.shape[2] - (z.shape[2] + dh * (kh - 1))
    unused_cols = xp.shape[3] - (z.shape[3] + dw_ * (kw - 1))
    zp = pad(z, (dh * (kh - 1), dh * (kh - 1) + unused_rows, dw_ * (kw - 1), dw_ * (kw - 1) + unused_cols))
    w_rot = rotate180(w).transpose(1, 0, 2, 3)
    dxp = correlate(zp, w_rot, dilation=dilation)
    dw = correlate(xp.transpose(1, 0, 2, 3), z.transpose(1, 0, 2, 3), stride=dilation)[:, :, :kh, :kw]
    return {
        "error": g, "error_inserted": z, "error_padded": zp, "kernel": w, "kernel_rotated": w_rot,
        "input_padded": xp, "input_grad_padded": dxp, "input_grad": crop(dxp, padding),
        "kernel_grad": dw.transpose(1, 0, 2, 3), "bias_grad": g.sum(axis=(0, 2, 3)),
        "unused_rows": int(unused_rows), "unused_cols": int(unused_cols),
    }


def conv2d_backward_literal(
    x: np.ndarray, w: np.ndarray, g: np.ndarray, stride: Pair, padding: Padding4, dilation: Pair
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) by the seed's algorithm: :func:`conv2d_backward_stages` without the stages."""
    stages = conv2d_backward_stages(x, w, g, stride, padding, dilation)
    return stages["input_grad"], stages["kernel_grad"], stages["bias_grad"]


def conv2d_backward_fast(
    x: np.ndarray, w: np.ndarray, g: np.ndarray, stride: Pair, padding: Padding4, dilation: Pair,
    needs_grad: tuple[bool, bool, bool] = (True, True, True),
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dx, dw, db) like :func:`conv2d_backward_literal` (same arguments), by GEMMs on im2col and col2im.

    Returns None for a gradient whose ``needs_grad`` entry is False.
    """
    xp = pad(x, padding)
    plan = make_plan(xp.shape, w.shape, None, stride, 0, dilation)
    dxp, dw, db = _backward(g, xp, None, w, plan, needs_grad)
    return (None if dxp is None else crop(dxp, padding)), dw, db


def _backward(g, xp, cols, w, plan: Plan, needs_grad):
    """(dx, dw, db) from the padded input ``xp``, or from the forward's im2col matrices ``cols`` (N, C*kh*kw, H'*W').

    Without ``cols``, each block's patches are copied again from ``xp``: a copy into cache
    is cheaper than reading a saved im2col matrix, C*kh*kw times the input's size, back from memory.
    """
    n, o = plan.n, plan.o
    w_mat, g3, per_image = w.reshape(o, -1), g.reshape(n, o, -1), plan.out_hw[0] * plan.out_hw[1]
    literal_dx = plan.literal_dx_size <= LITERAL_DX_MAX
    dx_by_col2im = needs_grad[0] and not literal_dx
    dxp = reusable("dxp", plan.xp_shape, np.result_type(w, g)) if dx_by_col2im else None  # col2im overwrites it
    dw, k = None, w_mat.shape[1]
    if cols is not None and not dx_by_col2im:  # one small image: dw is one GEMM on its saved im2col matrix
        dw = cols[0] @ g3[0].T if needs_grad[1] else None
    elif dx_by_col2im or needs_grad[1]:
        step, (hq, wq) = max(1, CHUNK // (k * per_image)), plan.phase_hw
        w_taps = w_mat.reshape(o, plan.c, -1).transpose(2, 1, 0).reshape(k, o)  # rows in (i, j, c) order
        view = None if cols is not None else windows(xp, plan.kernel, plan.stride, plan.dilation).transpose(3, 0, 1, 2, 4, 5)

        def images(lo: int, hi: int) -> np.ndarray | None:  # dw transposed over these images
            part, m, dtype = None, min(step, hi - lo), np.result_type(w, g)
            block = _block_scratch(lo, m, plan, dtype if xp is None else xp.dtype)  # the forward's
            scratch = block[:, :k, :per_image]  # the patches for dw, then in the same memory the patch gradients
            if dx_by_col2im:  # per-core scratch: errors widened to the stride phases' grid, patch gradients, phases
                g_wide = reusable(f"gw{lo}:{plan.out_hw}", (m, o, hq, wq), dtype, zeros_kept=True)  # zero border
                if block.dtype == dtype and block.strides[1] == plan.phase_size * block.itemsize:
                    dcols = block[:, :k]
                else:  # another dtype, or rows padded off 4 KiB: col2im_wide needs rows a phase grid apart
                    dcols = reusable(f"dc{lo}:{plan.out_hw}:{plan.phase_hw}", (m, k, plan.phase_size), dtype, zeros_kept=True)
                phases = reusable(f"ph{lo}", (m, *plan.stride, plan.c, hq, wq), dtype) if plan.stride != (1, 1) else None
            for n0 in range(lo, hi, step):  # a few images at a time: blocks of g and dcols stay in cache
                n1 = min(hi, n0 + step)
                g_block = g3[n0:n1]  # (images, O, H'*W'): one GEMM per image, no transposed copy
                if needs_grad[1]:  # dw transposed, (C*kh*kw, O): OpenBLAS runs this orientation faster
                    if cols is None:
                        patches = scratch[: n1 - n0]
                        patches.reshape(view[n0:n1].shape)[...] = view[n0:n1]
                    else:
                        patches = cols[n0:n1]
                    products = np.matmul(patches, g_block.transpose(0, 2, 1))  # (images, C*kh*kw, O)
                    part = products.sum(0) if part is None else np.add(part, products.sum(0), out=part)
                if dx_by_col2im:  # patch gradients in the widened layout, then one contiguous add per tap
                    errors = widen(g_block, plan.out_hw, g_wide[: n1 - n0], zero_border=False)
                    dc = dcols[: n1 - n0]  # its columns past the span stay zero: nothing ever writes them
                    np.matmul(w_taps, errors[:, :, : plan.span], out=dc[:, :, : plan.span])
                    col2im_wide(dc, dxp[n0:n1], plan.kernel, plan.stride, plan.dilation, phases)
            return part

        for part in _run(images, plan):
            dw = part if dw is None else dw + part
    if needs_grad[0] and literal_dx:  # insert zeros and pad in one step, then correlate with rotate180(w)
        (sh, sw), (dh, dwl), (kh, kw) = plan.stride, plan.dilation, plan.kernel
        (ho, wo), (_, _, hp, wp) = plan.out_hw, plan.xp_shape
        z = np.zeros((n, o, hp + dh * (kh - 1), wp + dwl * (kw - 1)), dtype=g.dtype)
        z[:, :, dh * (kh - 1) :: sh, dwl * (kw - 1) :: sw][:, :, :ho, :wo] = g3.reshape(n, o, ho, wo)
        w_rot = np.ascontiguousarray(rotate180(w.reshape(o, plan.c, kh, kw)).transpose(1, 0, 2, 3))
        dxp = correlate(z, w_rot, dilation=plan.dilation)
    dx = crop(dxp, plan.pads).reshape(plan.x_shape) if needs_grad[0] else None
    db = g3.sum(axis=(0, 2)) if needs_grad[2] else None
    return dx, None if dw is None else dw.T.reshape(plan.w_shape), db


def _block_scratch(lo: int, count: int, plan: Plan, dtype: np.dtype) -> np.ndarray:
    """The block of the core whose images start at ``lo``: (count, C*kh*kw + 1, Hq*Wq).

    Room for ``count`` images' patches (and a row of ones for the bias) or their patch
    gradients, whose rows are a whole phase grid long for ``col2im_wide`` (Hq*Wq >= H'*W').
    Both write only a row's first ``plan.span`` columns (H'*W' <= span), so the rest, zero
    when the block is made, stays zero: the patch gradients' GEMM skips those columns. The
    role names the geometry that fixes the span, so no other conv writes there.
    """
    return row_padded(f"block{lo}:{plan.out_hw}:{plan.phase_hw}", count, plan.kernel_size + 1, plan.phase_size, dtype, zeros_kept=True)


def _run(images, plan: Plan) -> list:
    """Run ``images(lo, hi)`` over the batch: split across the cores for a large conv, else in one piece."""
    return split_images(images, plan.n) if plan.gemm_flops >= SPLIT_MIN_FLOPS else [images(0, plan.n)]


# --- the registered op ----------------------------------------------------------
def _conv2d_forward(x, w, b, *, stride, padding, dilation):
    plan = make_plan(x.shape, w.shape, None if b is None else b.shape, stride, padding, dilation)
    x4, w_mat = x.reshape(plan.x4_shape), w.reshape(plan.o, -1)
    if plan.n == 1:  # one image: (O, H'*W') is already the output's layout; keep its small im2col
        cols = im2col(pad(x4, plan.pads), plan.kernel, plan.stride, plan.dilation)
        y = w_mat @ cols
        return (y if b is None else y + b.reshape(-1, 1)).reshape(plan.y_shape), (None, cols[None], w, plan)
    # A few images at a time: pad them, copy their patches into a block that stays in cache, one GEMM per image.
    # Saved for the backward (a buffer of its own, so the engine need not copy x); its border stays zero.
    xp = reusable(f"xp{plan.pads}", plan.xp_shape, x.dtype, zeros_kept=True)
    view = windows(xp, plan.kernel, plan.stride, plan.dilation).transpose(3, 0, 1, 2, 4, 5)  # (N, C, kh, kw, H', W')
    k, per_image = w_mat.shape[1], plan.out_hw[0] * plan.out_hw[1]
    dtype = np.result_type(x, w) if b is None else np.result_type(x, w, b)
    y = reusable("y", (plan.n, plan.o, per_image), dtype)
    rows = k if b is None else k + 1  # a bias is one more weight column, times a row of ones in the block
    w_b, step = w_mat if b is None else np.concatenate((w_mat, b.reshape(-1, 1)), 1), max(1, CHUNK // (k * per_image))

    def images(lo: int, hi: int) -> None:
        scratch = _block_scratch(lo, min(step, hi - lo), plan, xp.dtype)[:, :rows, :per_image]  # (images, rows, H'*W')
        scratch[:, k:] = 1
        for n0 in range(lo, hi, step):  # one GEMM per image, straight into its NCHW slice of y
            n1 = min(hi, n0 + step)
            block = scratch[: n1 - n0]
            crop(xp[n0:n1], plan.pads)[...] = x4[n0:n1]  # pad: the border is already zero
            block[:, :k].reshape(view[n0:n1].shape)[...] = view[n0:n1]
            np.matmul(w_b, block, out=y[n0:n1])

    _run(images, plan)
    return y.reshape(plan.y_shape), (xp, None, w, plan)


def _conv2d_vjp(g, saved, needs_grad, **attrs):
    xp, cols, w, plan = saved
    dx, dw, db = _backward(g, xp, cols, w, plan, needs_grad)
    return dx, dw, None if db is None else db.reshape(plan.b_shape)


def _conv2d_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [
        Sample((r((6, 6)), r((3, 3)), r(())), {"stride": 1, "padding": 0, "dilation": 1}),
        Sample((r((7, 7)), r((3, 3)), r((1,))), {"stride": 2, "padding": 0, "dilation": 1}),
        Sample((r((2, 5, 6)), r((3, 2, 2, 3)), r((3,))), {"stride": (2, 1), "padding": 1, "dilation": 1}),
        Sample((r((2, 2, 7, 6)), r((2, 2, 3, 2)), None), {"stride": 1, "padding": "same", "dilation": 2}),
        Sample((r((1, 2, 8, 9)), r((2, 2, 3, 3)), r((2,))), {"stride": 3, "padding": (1, 0), "dilation": (1, 2)}),
        Sample((r((3, 2, 30, 31)), r((3, 2, 3, 2)), r((3,))), {"stride": (2, 3), "padding": 1, "dilation": 1}),
    ]


_conv2d = register_op(
    "conv2d", _conv2d_forward, _conv2d_vjp, inputs=("x", "weight", "bias"), optional=("bias",),
    defaults={"stride": 1, "padding": 0, "dilation": 1}, samples=_conv2d_samples, method=False,
    doc="2-D cross-correlation; see tinygrad_conv.conv2d.",
)
_CONV2D_OP = _conv2d.op


@register_function
def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> Tensor:
    """2-D cross-correlation, as in PyTorch's ``conv2d``.

    Shapes: x (H, W) with weight (kh, kw) and a scalar bias gives (H', W');
    x (C, H, W) with weight (O, C, kh, kw) gives (O, H', W'); x (N, C, H, W) gives
    (N, O, H', W'). For 3-D and 4-D inputs bias has shape (O,).

    Args:
        x: the input, a Tensor or array-like.
        weight: the kernel.
        bias: optional, see above.
        stride: an int or a pair, each >= 1.
        padding: an int or pair >= 0, "valid", or "same" (stride 1 only; an even
            kernel puts the extra row and column at the bottom and right).
        dilation: an int or a pair, each >= 1.

    Returns:
        The output Tensor.

    Raises:
        ValueError, TypeError: on bad shapes or arguments, naming the argument and the shapes.
    """
    return apply(_CONV2D_OP, x, weight, bias, stride=stride, padding=padding, dilation=dilation)

