"""Losses: cross_entropy on class indices and mse_loss."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import REQUIRED, Sample, register_op
from ..tensor import Tensor
from .activations import stable_log_softmax

_REDUCTIONS = ("mean", "sum", "none")


# --- cross_entropy ---------------------------------------------------------------------
def _check_reduction(reduction: Any, op_name: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op_name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _as_target(target: Any, logits_shape: tuple[int, ...]) -> np.ndarray:
    """Class indices as an intp array of the batch shape, or a clear error naming ``target``."""
    data = target.data if isinstance(target, Tensor) else target
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as error:
        raise TypeError(f"cross_entropy: target must be an int array of class indices: {error}") from None
    if array.dtype.kind == "f" and isinstance(target, Tensor):
        # A Tensor stores floats: whole numbers are class indices, checked before any cast.
        whole = np.isfinite(array) & (array == np.round(array))
        if not np.all(whole):
            raise ValueError(f"cross_entropy: a float target Tensor must hold whole class indices, "
                             f"got {array[~whole].flat[0].item()!r} among values of shape {array.shape}")
    elif array.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must hold integer class indices, got dtype {array.dtype}")
    expected = logits_shape[:1] if len(logits_shape) == 2 else ()
    if array.shape != expected:
        raise ValueError(f"cross_entropy: target must have shape {expected} for logits {logits_shape}, got {array.shape}")
    classes = logits_shape[-1]
    if array.size and (array.min() < 0 or array.max() >= classes):
        raise ValueError(f"cross_entropy: target holds class indices outside [0, {classes}) "
                         f"(min {array.min().item()!r}, max {array.max().item()!r})")
    return array.astype(np.intp)


def _cross_entropy_forward(logits, *, target, reduction):
    if logits.ndim not in (1, 2):
        raise ValueError(f"cross_entropy: logits must be (N, C) or (C,), got logits {logits.shape}")
    reduction = _check_reduction(reduction, "cross_entropy")
    target = _as_target(target, logits.shape)
    if logits.shape[-1] == 0:
        raise ValueError(f"cross_entropy: logits {logits.shape} have no classes")
    logp = stable_log_softmax(logits, logits.ndim - 1)
    picked = np.take_along_axis(logp, target[..., None], axis=-1)[..., 0]
    losses = -picked
    count = max(losses.size, 1)
    out = losses.sum() / count if reduction == "mean" else losses.sum() if reduction == "sum" else losses
    return out, (logp, target, count)


def _cross_entropy_vjp(g, saved, needs_grad, *, target, reduction):
    logp, target_index, count = saved
    grad = np.exp(logp)  # softmax
    np.put_along_axis(grad, target_index[..., None], np.take_along_axis(grad, target_index[..., None], -1) - 1, -1)
    if reduction == "none":
        return (grad * g[..., None],)
    return (grad * (g / count if reduction == "mean" else g),)


def _cross_entropy_samples(rng: np.random.Generator) -> list[Sample]:
    logits = 2 * rng.standard_normal((4, 3))
    target = np.array([0, 2, 1, 2])
    return [
        Sample((logits,), {"target": target, "reduction": "mean"}),
        Sample((logits,), {"target": target, "reduction": "sum"}),
        Sample((logits,), {"target": target, "reduction": "none"}),
        Sample((rng.standard_normal(5),), {"target": np.array(3), "reduction": "mean"}),
    ]


cross_entropy = register_op(
    "cross_entropy", _cross_entropy_forward, _cross_entropy_vjp, inputs=("input",),
    defaults={"target": REQUIRED, "reduction": "mean"}, samples=_cross_entropy_samples,
    doc="""Softmax cross-entropy, as ``torch.nn.functional.cross_entropy`` with class-index targets.

    Args:
        input: (N, C) unnormalized scores, or (C,) for one example.
        target: class indices in [0, C): an int ndarray (or list, or Tensor of whole numbers)
            of shape (N,), or a scalar for (C,) logits. It is data, not a graph input.
        reduction: "mean" (over the batch), "sum" or "none" (one loss per example).

    Returns:
        The loss: 0-d for "mean" and "sum", (N,) for "none".

    Raises:
        TypeError: if target is not integer class indices.
        ValueError: for wrong shapes, indices out of range, or an unknown reduction.
    """,
)


# --- mse_loss --------------------------------------------------------------------------
def _mse_forward(x, target, *, reduction):
    if x.shape != target.shape:
        raise ValueError(f"mse_loss: input {x.shape} and target {target.shape} must have the same shape")
    reduction = _check_reduction(reduction, "mse_loss")
    diff = x - target
    squared = diff * diff
    out = squared.mean() if reduction == "mean" else squared.sum() if reduction == "sum" else squared
    return np.asarray(out), (diff, max(diff.size, 1))


def _mse_vjp(g, saved, needs_grad, *, reduction):
    diff, count = saved
    grad = 2.0 * diff * (g / count if reduction == "mean" else g)
    return (grad if needs_grad[0] else None), (-grad if needs_grad[1] else None)


def _mse_samples(rng: np.random.Generator) -> list[Sample]:
    r = rng.standard_normal
    return [Sample((r((3, 4)), r((3, 4))), {"reduction": name}) for name in _REDUCTIONS] + [
        Sample((r(()), r(())), {"reduction": "mean"})
    ]


mse_loss = register_op(
    "mse_loss", _mse_forward, _mse_vjp, inputs=("input", "target"), defaults={"reduction": "mean"},
    samples=_mse_samples, doc="""Squared error ``(input - target)**2``, averaged ("mean"), summed ("sum") or not ("none").

    Both arguments must have the same shape (PyTorch only warns on broadcasting; we refuse).
    The gradient flows to ``target`` too when it requires grad.

    Raises:
        ValueError: for different shapes or an unknown reduction.
    """,
)
