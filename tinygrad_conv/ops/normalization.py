"""Normalization: batch_norm, layer_norm and group_norm, PyTorch's semantics, each one op with its vjp.

Each op standardizes ``input`` over some axes, ``xhat = (x - mean) * inv_std`` with the
biased variance and ``inv_std = 1 / sqrt(var + eps)``, then applies the optional affine
``xhat * weight + bias``. The vjp of the standardization over m values is

    dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),   dxhat = g * weight,

and ``dweight = sum(g * xhat)``, ``dbias = sum(g)`` over the axes the affine broadcasts on.
Everything is computed in the input's dtype: a float32 input makes no float64 temporaries.

batch_norm's running statistics are data, not graph inputs: in training mode they are
updated in place (numpy arrays, or the arrays inside Tensors), as PyTorch does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import flag, integer, real
from ..registry import Sample, register_function, register_op
from ..tensor import Tensor


def _check_eps(eps: Any, op_name: str) -> float:
    return real(eps, "eps", minimum=0.0, where=op_name)


def _check_affine(param: np.ndarray | None, name: str, expected: tuple[int, ...], input_shape: tuple[int, ...],
                  op_name: str) -> None:
    if param is not None and param.shape != expected:
        raise ValueError(f"{op_name}: {name} must have shape {expected} for input {input_shape}, got {name} {param.shape}")


def _affine(xhat: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """``xhat * weight + bias`` with the parameters reshaped to ``shape``, each optional; one new array at most."""
    out = xhat if weight is None else xhat * weight.reshape(shape)
    if bias is None:
        return out
    if out is xhat or out.dtype != np.result_type(out, bias):
        return out + bias.reshape(shape)
    out += bias.reshape(shape)
    return out


def _standardize_rows(x2: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Each row of a 2-D array standardized: (xhat, inv_std of shape (rows, 1))."""
    xhat = x2 - x2.mean(axis=1, keepdims=True)
    var = np.square(xhat).mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + np.asarray(eps, var.dtype))
    xhat *= inv_std
    return xhat, inv_std


def _standardize_rows_vjp(dxhat: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    """The input gradient of ``_standardize_rows`` (all arrays (rows, m) but inv_std (rows, 1))."""
    dx = xhat * -np.einsum("ij,ij->i", dxhat, xhat)[:, None]
    dx /= max(xhat.shape[1], 1)
    dx += dxhat
    dx -= dxhat.mean(axis=1, keepdims=True)
    dx *= inv_std
    return dx


# --- batch_norm ------------------------------------------------------------------------
def _running_stat(stat: Any, name: str, channels: int, input_shape: tuple[int, ...]) -> np.ndarray | None:
    """A running statistic as the writable float array to read and update in place (None stays None)."""
    if stat is None:
        return None
    array = stat.data if isinstance(stat, Tensor) else stat
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        raise TypeError(f"batch_norm: {name} must be a float ndarray or a Tensor (it is updated in place), "
                        f"got {type(stat).__name__} of dtype {getattr(array, 'dtype', None)}")
    if array.shape != (channels,):
        raise ValueError(f"batch_norm: {name} must have shape ({channels},), one value per channel of input "
                         f"{input_shape}, got {name} {array.shape}")
    return array


def _batch_norm_forward(x, weight, bias, *, running_mean, running_var, training, momentum, eps):
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must have at least 2 dims (N, C, ...), got input {x.shape}")
    channels = x.shape[1]
    mean_stat = _running_stat(running_mean, "running_mean", channels, x.shape)
    var_stat = _running_stat(running_var, "running_var", channels, x.shape)
    _check_affine(weight, "weight", (channels,), x.shape, "batch_norm")
    _check_affine(bias, "bias", (channels,), x.shape, "batch_norm")
    flag(training, "training", "batch_norm")
    momentum = real(momentum, "momentum", where="batch_norm")
    eps = _check_eps(eps, "batch_norm")
    shape = (1, channels) + (1,) * (x.ndim - 2)
    axes = (0, *range(2, x.ndim))
    if training:
        count = x.size // max(channels, 1)
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {x.shape}")
        if any(stat is not None and not stat.flags.writeable for stat in (mean_stat, var_stat)):
            raise ValueError("batch_norm: a running statistic is a read-only array; they are updated in place")
        mean = x.mean(axis=axes, keepdims=True)
        xhat = x - mean
        var = np.square(xhat).mean(axis=axes, keepdims=True)
        for stat, batch in ((mean_stat, mean.reshape(channels)), (var_stat, var.reshape(channels) * (count / (count - 1)))):
            if stat is not None:
                stat *= 1.0 - momentum
                stat += momentum * batch
    else:
        if mean_stat is None or var_stat is None:
            raise ValueError("batch_norm: running_mean and running_var must be given in evaluation mode (training=False)")
        xhat = x - mean_stat.astype(x.dtype, copy=False).reshape(shape)
        var = var_stat.astype(x.dtype, copy=False).reshape(shape)
    inv_std = 1.0 / np.sqrt(var + np.asarray(eps, var.dtype))
    xhat *= inv_std
    return _affine(xhat, weight, bias, shape), (xhat, inv_std, weight)


def _batch_norm_vjp(g, saved, needs_grad, *, running_mean, running_var, training, momentum, eps):
    xhat, inv_std, weight = saved
    channels = xhat.shape[1]
    axes = (0, *range(2, xhat.ndim))
    shape = inv_std.shape
    batch_stats = bool(training)
    dbias = g.sum(axis=axes) if needs_grad[2] or (needs_grad[0] and batch_stats) else None
    dweight = (g * xhat).sum(axis=axes) if needs_grad[1] or (needs_grad[0] and batch_stats) else None
    dx = None
    if needs_grad[0]:
        scale = inv_std if weight is None else inv_std * weight.reshape(shape)
        if batch_stats:
            count = g.size // channels
            dx = xhat * (dweight.reshape(shape) / -count)
            dx += g
            dx -= dbias.reshape(shape) / count
            dx *= scale
        else:
            dx = g * scale
    return dx, (dweight if needs_grad[1] else None), (dbias if needs_grad[2] else None)


def _batch_norm_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal

    def stats(c: int) -> dict[str, np.ndarray]:
        return {"running_mean": r(c), "running_var": 0.5 + rng.random(c)}

    return [
        Sample((r((4, 3)), r(3), r(3)), {**stats(3), "training": True}),
        Sample((r((3, 2, 4)), None, None), {**stats(2), "training": True, "momentum": 0.3}),
        Sample((r((2, 3, 2, 3)), r(3), r(3)), {**stats(3), "training": True}),
        Sample((r((2, 3, 2, 3)), r(3), r(3)), {**stats(3), "training": False}),
        Sample((r((2, 3, 2)), r(3), None), {"running_mean": None, "running_var": None, "training": True}),
    ]


_batch_norm = register_op(
    "batch_norm", _batch_norm_forward, _batch_norm_vjp, inputs=("input", "weight", "bias"),
    optional=("weight", "bias"),
    defaults={"running_mean": None, "running_var": None, "training": False, "momentum": 0.1, "eps": 1e-5},
    samples=_batch_norm_samples, method=False, doc="The batch_norm op; call tc.batch_norm.",
)


@register_function(method=False)
def batch_norm(input: Tensor | np.ndarray, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over every axis but the channel axis 1, as ``torch.nn.functional.batch_norm``.

    In training mode the input is standardized with the batch's mean and biased variance per
    channel, and the running statistics (when given) are updated in place:
    ``running = (1 - momentum) * running + momentum * batch``, with the unbiased variance
    for ``running_var``. In evaluation mode the running statistics are used.

    Args:
        input: (N, C), (N, C, L) or (N, C, H, W) (any (N, C, ...)).
        running_mean: a float ndarray or Tensor of shape (C,), or None; data, not a graph input.
        running_var: likewise.
        weight: the (C,) scale, or None.
        bias: the (C,) shift, or None.
        training: use (and update) the batch statistics rather than the running ones.
        momentum: the weight of the new batch in the running statistics.
        eps: added to the variance before its square root.

    Returns:
        A Tensor of the input's shape.

    Raises:
        TypeError: if a running statistic is not a float ndarray or Tensor, or training is not a bool.
        ValueError: for a running statistic, weight or bias that is not (C,), an input of fewer than
            2 dims, a single value per channel in training mode, or no running statistics in evaluation mode.
    """
    stats = [stat.data if isinstance(stat, Tensor) else stat for stat in (running_mean, running_var)]
    return _batch_norm(input, weight, bias, running_mean=stats[0], running_var=stats[1], training=training,
                       momentum=momentum, eps=eps)


# --- layer_norm ------------------------------------------------------------------------
def normalized_dims(normalized_shape: Any, where: str) -> tuple[int, ...]:
    """``normalized_shape`` (an int or a sequence of ints >= 1) as a non-empty tuple.

    Raises:
        TypeError: if it is not an int or a sequence of ints.
        ValueError: if it is empty or holds a size < 1.
    """
    dims = normalized_shape if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
    dims = tuple(integer(d, "normalized_shape", where=where) for d in dims)
    if not dims or min(dims) < 1:
        raise ValueError(f"{where}: normalized_shape must be a non-empty shape of sizes >= 1, got {normalized_shape!r}")
    return dims


def _layer_norm_forward(x, weight, bias, *, normalized_shape, eps):
    dims = normalized_dims(normalized_shape, "layer_norm")
    if x.shape[x.ndim - len(dims):] != dims or x.ndim < len(dims):
        raise ValueError(f"layer_norm: normalized_shape={dims} must be the last dims of input, got input {x.shape}")
    _check_affine(weight, "weight", dims, x.shape, "layer_norm")
    _check_affine(bias, "bias", dims, x.shape, "layer_norm")
    xhat, inv_std = _standardize_rows(x.reshape(-1, math.prod(dims)), _check_eps(eps, "layer_norm"))
    xhat = xhat.reshape(x.shape)
    return _affine(xhat, weight, bias, dims), (xhat, inv_std, weight)


def _layer_norm_vjp(g, saved, needs_grad, *, normalized_shape, eps):
    xhat, inv_std, weight = saved
    dims, rows = normalized_dims(normalized_shape, "layer_norm"), inv_std.shape[0]
    dx = None
    if needs_grad[0]:
        dxhat = (g if weight is None else g * weight).reshape(rows, -1)
        dx = _standardize_rows_vjp(dxhat, xhat.reshape(rows, -1), inv_std).reshape(xhat.shape)
    dweight = (g * xhat).reshape(rows, *dims).sum(axis=0) if needs_grad[1] else None
    dbias = g.reshape(rows, *dims).sum(axis=0) if needs_grad[2] else None
    return dx, dweight, dbias


def _layer_norm_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [
        Sample((r((3, 4)), r(4), r(4)), {"normalized_shape": 4}),
        Sample((r((2, 3, 2, 2)), r((2, 2)), None), {"normalized_shape": (2, 2)}),
        Sample((r((2, 3, 4)), None, r((3, 4))), {"normalized_shape": [3, 4], "eps": 0.1}),
        Sample((r(5), None, None), {"normalized_shape": (5,)}),
    ]


_layer_norm = register_op(
    "layer_norm", _layer_norm_forward, _layer_norm_vjp, inputs=("input", "weight", "bias"), optional=("weight", "bias"),
    defaults={"normalized_shape": None, "eps": 1e-5}, samples=_layer_norm_samples, method=False,
    doc="The layer_norm op; call tc.layer_norm.",
)


@register_function(method=False)
def layer_norm(input: Tensor | np.ndarray, normalized_shape: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    """Standardize over the last dims, as ``torch.nn.functional.layer_norm``.

    Each slice ``input[..., *normalized_shape]`` is standardized with its own mean and biased
    variance, then scaled by ``weight`` and shifted by ``bias`` (both of shape ``normalized_shape``).

    Args:
        input: a tensor whose last dims are ``normalized_shape``.
        normalized_shape: an int or a sequence of ints.
        weight: the elementwise scale, or None.
        bias: the elementwise shift, or None.
        eps: added to the variance before its square root.

    Returns:
        A Tensor of the input's shape.

    Raises:
        TypeError: if normalized_shape is not an int or a sequence of ints.
        ValueError: if normalized_shape is not the input's last dims, or weight or bias has another shape.
    """
    return _layer_norm(input, weight, bias, normalized_shape=normalized_shape, eps=eps)


# --- group_norm ------------------------------------------------------------------------
def _group_norm_forward(x, weight, bias, *, num_groups, eps):
    if x.ndim < 2:
        raise ValueError(f"group_norm: input must have at least 2 dims (N, C, ...), got input {x.shape}")
    groups = integer(num_groups, "num_groups", minimum=1, where="group_norm")
    batch, channels = x.shape[:2]
    if channels % groups:
        raise ValueError(f"group_norm: the C={channels} channels of input {x.shape} are not divisible by "
                         f"num_groups={groups}")
    _check_affine(weight, "weight", (channels,), x.shape, "group_norm")
    _check_affine(bias, "bias", (channels,), x.shape, "group_norm")
    rows = batch * groups
    xhat, inv_std = _standardize_rows(x.reshape(rows, x.size // max(rows, 1)), _check_eps(eps, "group_norm"))
    xhat = xhat.reshape(x.shape)
    return _affine(xhat, weight, bias, (1, channels) + (1,) * (x.ndim - 2)), (xhat, inv_std, weight)


def _group_norm_vjp(g, saved, needs_grad, *, num_groups, eps):
    xhat, inv_std, weight = saved
    rows, channels = inv_std.shape[0], xhat.shape[1]
    shape = (1, channels) + (1,) * (xhat.ndim - 2)
    axes = (0, *range(2, xhat.ndim))
    dx = None
    if needs_grad[0]:
        dxhat = (g if weight is None else g * weight.reshape(shape)).reshape(rows, -1)
        dx = _standardize_rows_vjp(dxhat, xhat.reshape(rows, -1), inv_std).reshape(xhat.shape)
    dweight = (g * xhat).sum(axis=axes) if needs_grad[1] else None
    dbias = g.sum(axis=axes) if needs_grad[2] else None
    return dx, dweight, dbias


def _group_norm_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [
        Sample((r((2, 4, 3)), r(4), r(4)), {"num_groups": 2}),
        Sample((r((2, 6, 2, 2)), r(6), None), {"num_groups": 3}),
        Sample((r((3, 4)), None, r(4)), {"num_groups": 4, "eps": 0.1}),
        Sample((r((2, 3, 2, 2)), None, None), {"num_groups": 1}),
    ]


_group_norm = register_op(
    "group_norm", _group_norm_forward, _group_norm_vjp, inputs=("input", "weight", "bias"), optional=("weight", "bias"),
    defaults={"num_groups": None, "eps": 1e-5}, samples=_group_norm_samples, method=False,
    doc="The group_norm op; call tc.group_norm.",
)


@register_function(method=False)
def group_norm(input: Tensor | np.ndarray, num_groups: int, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    """Standardize each example's channels in groups, as ``torch.nn.functional.group_norm``.

    The C channels of each example are split into ``num_groups`` consecutive groups; each group
    (with all its positions) is standardized with its own mean and biased variance, then each
    channel is scaled by ``weight`` and shifted by ``bias``.

    Args:
        input: (N, C, ...).
        num_groups: an int >= 1 that divides C.
        weight: the (C,) scale, or None.
        bias: the (C,) shift, or None.
        eps: added to the variance before its square root.

    Returns:
        A Tensor of the input's shape.

    Raises:
        TypeError: if num_groups is not an int.
        ValueError: if num_groups does not divide C, the input has fewer than 2 dims, or weight or
            bias is not (C,).
    """
    return _group_norm(input, weight, bias, num_groups=num_groups, eps=eps)
