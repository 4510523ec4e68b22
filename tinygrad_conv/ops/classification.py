"""Losses over class scores: cross_entropy (class indices or probabilities), nll_loss, one_hot.

The class axis is 1, as in PyTorch: input (N, C) or (N, C, d1, ..., dk), or (C,) for one
example. Inside, every layout is viewed as (N, C, R), with R the product of d1..dk, and
the targets as (N, R). ``reduction`` and its helpers are shared with ``losses.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import check_reduction, integer, real, shape_of
from ..registry import REQUIRED, Sample, register_function, register_op
from ..tensor import Tensor
from .softmax import stable_log_softmax


# --- shared by every loss -------------------------------------------------------------
def reduce_loss(losses: np.ndarray, reduction: str, denominator: Any = None) -> np.ndarray:
    """Sum the losses, divide the sum by ``denominator`` (default: their count), or keep them.

    A mean over nothing is NaN, as in PyTorch, without numpy's warning.
    """
    if reduction == "none":
        return losses
    total = losses.sum(dtype=losses.dtype)
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(total / (losses.size if denominator is None else denominator), dtype=losses.dtype)


def grad_scale(g: np.ndarray, reduction: str, denominator: Any) -> np.ndarray:
    """The output gradient seen by each loss term: ``g``, or ``g / denominator`` for "mean"."""
    if reduction != "mean":
        return g
    with np.errstate(divide="ignore", invalid="ignore"):
        return g / np.asarray(denominator, dtype=g.dtype)


def data_array(value: Any, name: str, op_name: str, dtype: Any) -> np.ndarray | None:
    """A data argument (a weight: a Tensor, ndarray, list or number, never differentiated) as an array of ``dtype``.

    Raises:
        TypeError: if it is not numeric.
    """
    if value is None:
        return None
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op_name}: {name} must be a numeric array or Tensor, got dtype {array.dtype}")
    return array.astype(dtype, copy=False)


def integer_values(value: Any, name: str, op_name: str) -> np.ndarray:
    """Class indices (an int array, a list, or a Tensor of whole numbers) as an array of whole numbers.

    A Tensor's values stay floats here, so that the caller's range check sees them as they
    are (1e20 stays 1e20); cast with ``astype(np.intp)`` after that check.

    Raises:
        TypeError: for a non-integer array.
        ValueError: for a Tensor holding a value that is not a whole number.
    """
    data = value.data if isinstance(value, Tensor) else value
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{op_name}: {name} must be an int array of class indices: {error}") from None
    if array.dtype.kind == "f" and isinstance(value, Tensor):
        whole = np.isfinite(array) & (array == np.round(array))  # a Tensor stores floats
        if not np.all(whole):
            raise ValueError(f"{op_name}: a float {name} Tensor must hold whole class indices, "
                             f"got {array[~whole].flat[0].item()!r} among values of shape {array.shape}")
    elif array.dtype.kind not in "iu":
        raise TypeError(f"{op_name}: {name} must hold integer class indices, got dtype {array.dtype}")
    return array


def _layout(shape: tuple[int, ...], op_name: str) -> tuple[int, int, int]:
    """(N, C, R) of an input of ``shape``: (C,) is one example, (N, C, d1, ..., dk) has R = d1*...*dk."""
    if len(shape) == 0:
        raise ValueError(f"{op_name}: input must be (C,), (N, C) or (N, C, d1, ...), got a 0-d input")
    if len(shape) == 1:
        return 1, shape[0], 1
    return shape[0], shape[1], math.prod(shape[2:])


# --- class-index targets: cross_entropy and nll_loss ----------------------------------
def _class_weights(weight: Any, x: np.ndarray, classes: int, op_name: str) -> np.ndarray | None:
    w = data_array(weight, "weight", op_name, x.dtype)
    if w is not None and w.shape != (classes,):
        raise ValueError(f"{op_name}: weight must have shape ({classes},), one entry per class of the input "
                         f"{x.shape}, got {w.shape}")
    return w


def _indexed(x: np.ndarray, target: Any, weight: Any, ignore_index: Any, reduction: Any, op_name: str) -> tuple:
    """Check the arguments; return the (N, C, R) view of x and the (N, R) arrays of the targets.

    Returns:
        (x3, safe, keep, w, wy): ``safe`` the class index of each position (0 where ignored),
        ``keep`` where it is not ignored, ``w`` the class weights (or None), ``wy`` each
        position's weight (0 where ignored), all in x's dtype.
    """
    check_reduction(reduction, op_name)
    ignore_index = integer(ignore_index, "ignore_index", where=op_name)
    n, classes, rest = _layout(x.shape, op_name)
    if classes == 0:
        raise ValueError(f"{op_name}: input {x.shape} has no classes (axis {min(x.ndim - 1, 1)} is empty)")
    indices = integer_values(target, "target", op_name)
    expected = _target_shape(x.shape)
    if indices.shape != expected:
        raise ValueError(f"{op_name}: target must have shape {expected} for input of shape {x.shape} "
                         f"(class axis {x.ndim > 1:d}), got {indices.shape}")
    bad = (indices < 0) | (indices >= classes)
    bad &= indices != ignore_index
    if bad.any():
        raise ValueError(f"{op_name}: target holds class indices outside [0, {classes}) that are not "
                         f"ignore_index={ignore_index}: got {indices[bad].flat[0].item()!r}")
    w = _class_weights(weight, x, classes, op_name)
    indices = indices.astype(np.intp).reshape(n, rest)
    keep = indices != ignore_index
    safe = np.where(keep, indices, 0)
    wy = keep.astype(x.dtype) if w is None else w[safe] * keep
    return x.reshape(n, classes, rest), safe, keep, w, wy


def _cross_entropy_forward(x, *, target, weight, ignore_index, reduction, label_smoothing):
    x3, safe, keep, w, wy = _indexed(x, target, weight, ignore_index, reduction, "cross_entropy")
    eps = _smoothing(label_smoothing, "cross_entropy")
    logp = stable_log_softmax(x3, 1)
    picked = np.take_along_axis(logp, safe[:, None], 1)[:, 0]
    losses = np.where(keep, picked * -wy, 0).astype(x.dtype, copy=False)
    if eps:
        classes = x3.shape[1]
        smooth = (logp.sum(1) if w is None else np.einsum("ncr,c->nr", logp, w)) * (-eps / classes)
        losses *= 1 - eps
        losses += np.where(keep, smooth, 0)
    denominator = wy.sum()
    out = reduce_loss(losses.reshape(_target_shape(x.shape)), reduction, denominator)
    return out, (logp, safe, keep, w, wy, denominator, eps, x.shape)


def _cross_entropy_vjp(g, saved, needs_grad, *, reduction, **attrs):
    logp, safe, keep, w, wy, denominator, eps, shape = saved
    classes = logp.shape[1]
    coef = _coefficients(g, reduction, denominator, keep)
    total = wy * (1 - eps) + (eps if w is None else eps / classes * w.sum())  # the target distribution's mass
    grad = np.exp(logp)
    grad *= (coef * total)[:, None]
    picked = np.take_along_axis(grad, safe[:, None], 1) - (wy * (1 - eps) * coef)[:, None]
    np.put_along_axis(grad, safe[:, None], picked, 1)
    if eps:
        grad -= (coef * (eps / classes))[:, None] * (1 if w is None else w[:, None])
    return (grad.reshape(shape),)


def _nll_loss_forward(x, *, target, weight, ignore_index, reduction):
    x3, safe, keep, _, wy = _indexed(x, target, weight, ignore_index, reduction, "nll_loss")
    picked = np.take_along_axis(x3, safe[:, None], 1)[:, 0]
    losses = np.where(keep, picked * -wy, 0).astype(x.dtype, copy=False)
    denominator = wy.sum()
    out = reduce_loss(losses.reshape(_target_shape(x.shape)), reduction, denominator)
    return out, (safe, keep, wy, denominator, x.shape)


def _nll_loss_vjp(g, saved, needs_grad, *, reduction, **attrs):
    safe, keep, wy, denominator, shape = saved
    coef = _coefficients(g, reduction, denominator, keep)
    grad = np.zeros((keep.shape[0], _layout(shape, "nll_loss")[1], keep.shape[1]), dtype=g.dtype)
    np.put_along_axis(grad, safe[:, None], (-wy * coef).astype(g.dtype, copy=False)[:, None], 1)
    return (grad.reshape(shape),)


def _coefficients(g: np.ndarray, reduction: str, denominator: Any, keep: np.ndarray) -> np.ndarray:
    """The output gradient for each (N, R) position: 0 where ignored (never inf * 0 when all are)."""
    scale = grad_scale(g, reduction, denominator)
    return np.where(keep, scale.reshape(keep.shape) if reduction == "none" else scale, 0).astype(g.dtype, copy=False)


def _target_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return () if len(shape) == 1 else shape[:1] + shape[2:]


def _smoothing(label_smoothing: Any, op_name: str) -> float:
    eps = real(label_smoothing, "label_smoothing", minimum=0.0, where=op_name)
    if eps > 1.0:
        raise ValueError(f"{op_name}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return eps


# --- probability targets ------------------------------------------------------------
def _cross_entropy_probs_forward(x, q, *, weight, reduction, label_smoothing):
    op_name = "cross_entropy"
    check_reduction(reduction, op_name)
    if q.shape != x.shape:
        raise ValueError(f"{op_name}: a probability target must have the input's shape {x.shape}, got {q.shape}")
    eps = _smoothing(label_smoothing, op_name)
    q = q.astype(x.dtype, copy=False)
    n, classes, rest = _layout(x.shape, op_name)
    w = _class_weights(weight, x, classes, op_name)
    wb = 1 if w is None else w[:, None]
    logp = stable_log_softmax(x.reshape(n, classes, rest), 1)
    q3 = q.reshape(n, classes, rest)
    mass = q3 * (1 - eps) + eps / classes if eps else q3
    mass = mass * wb  # each class's share of the loss
    losses = -np.einsum("ncr,ncr->nr", logp, mass)
    out = reduce_loss(losses.reshape(_target_shape(x.shape)), reduction, n * rest)
    return out, (logp, mass, wb, eps, n * rest, x.shape)


def _cross_entropy_probs_vjp(g, saved, needs_grad, *, reduction, **attrs):
    logp, mass, wb, eps, count, shape = saved
    scale = grad_scale(g, reduction, count)
    scale = scale.reshape(mass.shape[0], 1, mass.shape[2]) if reduction == "none" else scale
    grad_x = grad_q = None
    if needs_grad[0]:
        grad_x = np.exp(logp) * mass.sum(1, keepdims=True)
        grad_x -= mass
        grad_x = (grad_x * scale).reshape(shape)
    if needs_grad[1]:
        grad_q = (logp * (-(1 - eps) * scale * wb)).reshape(shape)
    return grad_x, grad_q


# --- samples ---------------------------------------------------------------------------
def _index_samples(rng: np.random.Generator, smoothing: bool) -> list[Sample]:
    logits = 2 * rng.standard_normal((4, 3))
    target = np.array([0, 2, 1, 2])
    weight = np.array([0.5, 2.0, 1.0])
    extra = {"label_smoothing": 0.2} if smoothing else {}
    return [
        Sample((logits,), {"target": target, "reduction": "mean"}),
        Sample((logits,), {"target": target, "reduction": "sum", **extra}),
        Sample((logits,), {"target": target, "reduction": "none", "weight": weight}),
        Sample((logits,), {"target": np.array([0, -100, 1, 2]), "weight": weight, **extra}),
        Sample((rng.standard_normal((2, 3, 2, 2)),), {"target": rng.integers(0, 3, (2, 2, 2)), "ignore_index": 1,
                                                      "reduction": "none", **extra}),
        Sample((rng.standard_normal(5),), {"target": np.array(3), "reduction": "mean", **extra}),
    ]


def _probs_samples(rng: np.random.Generator) -> list[Sample]:
    def probs(*shape: int) -> np.ndarray:
        e = np.exp(rng.standard_normal(shape))
        return e / e.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)

    return [
        Sample((rng.standard_normal((4, 3)), probs(4, 3)), {}),
        Sample((rng.standard_normal((4, 3)), probs(4, 3)), {"weight": np.array([0.5, 2.0, 1.0]), "label_smoothing": 0.3,
                                                            "reduction": "sum"}),
        Sample((rng.standard_normal((2, 3, 2)), probs(2, 3, 2)), {"reduction": "none", "label_smoothing": 0.1}),
        Sample((rng.standard_normal(4), probs(4)), {"reduction": "none"}),
    ]


_CLASS_DEFAULTS = {"target": REQUIRED, "weight": None, "ignore_index": -100, "reduction": "mean"}

_cross_entropy_indices = register_op(
    "cross_entropy", _cross_entropy_forward, _cross_entropy_vjp, inputs=("input",),
    defaults={**_CLASS_DEFAULTS, "label_smoothing": 0.0}, samples=lambda rng: _index_samples(rng, True),
    doc="The fused cross-entropy op for class-index targets (see the public cross_entropy).",
)

_cross_entropy_probs = register_op(
    "_cross_entropy_probs", _cross_entropy_probs_forward, _cross_entropy_probs_vjp, inputs=("input", "target"),
    defaults={"weight": None, "reduction": "mean", "label_smoothing": 0.0}, samples=_probs_samples, method=False,
    doc="The fused cross-entropy op for probability targets, which are differentiated (see cross_entropy).",
)

nll_loss = register_op(
    "nll_loss", _nll_loss_forward, _nll_loss_vjp, inputs=("input",), defaults=_CLASS_DEFAULTS,
    samples=lambda rng: _index_samples(rng, False), method=False,
    doc="""Negative log-likelihood of class indices, as ``torch.nn.functional.nll_loss``.

    ``loss[i] = -weight[target[i]] * input[i, target[i]]``, 0 where ``target[i] == ignore_index``.

    Args:
        input: log-probabilities, (N, C), (N, C, d1, ..., dk) (class axis 1) or (C,).
        target: class indices in [0, C) (or ``ignore_index``), of shape (N,), (N, d1, ..., dk) or ():
            an int ndarray, a list, or a Tensor of whole numbers. Data, not a graph input.
        weight: optional per-class weights, shape (C,): data, not differentiated.
        ignore_index: a target value that contributes nothing, to the sum or the mean's count.
        reduction: "mean" (divided by the sum of the weights of the non-ignored targets; NaN
            when every target is ignored, as in PyTorch), "sum" or "none" (target's shape).

    Returns:
        The loss: 0-d for "mean" and "sum", the target's shape for "none".

    Raises:
        TypeError: if target is not integer class indices.
        ValueError: for a target of the wrong shape, an index out of range (other than
            ignore_index), a weight that is not (C,), or an unknown reduction.
    """,
)


@register_function
def cross_entropy(input: Tensor | np.ndarray, target: Tensor | np.ndarray, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy, as ``torch.nn.functional.cross_entropy``: one fused op.

    The target is class indices or, when it has the input's shape, class probabilities
    (as PyTorch decides). With class indices, ``loss[i] = (1 - s) * weight[y] * -logp[i, y] +
    s / C * sum_c weight[c] * -logp[i, c]`` where ``s = label_smoothing`` and ``y = target[i]``,
    0 where ``y == ignore_index``; "mean" divides the sum by the weights of the non-ignored
    targets. With probabilities ``p``, ``loss[i] = -sum_c weight[c] * q[i, c] * logp[i, c]``
    where ``q = (1 - s) * p + s / C``; "mean" divides by the number of positions N*d1*...*dk.

    Args:
        input: unnormalized scores, (N, C), (N, C, d1, ..., dk) (class axis 1) or (C,).
        target: class indices of shape (N,), (N, d1, ..., dk) or () (an int ndarray, a list, or
            a Tensor of whole numbers; data, not a graph input), or probabilities of the input's
            shape (a float Tensor or ndarray; a Tensor that requires grad gets a gradient).
        weight: optional per-class weights, shape (C,): data, not differentiated.
        ignore_index: a class index that contributes nothing (class-index targets only; a
            probability target refuses ignore_index >= 0, as PyTorch does).
        reduction: "mean", "sum" or "none". A mean over no (non-ignored) target is NaN.
        label_smoothing: s in [0, 1], the share of the target spread evenly over the classes.

    Returns:
        The loss: 0-d for "mean" and "sum"; for "none", the shape of the input without its
        class axis.

    Raises:
        TypeError: if a class-index target is not integer, or a probability target not floating.
        ValueError: for a target of the wrong shape, an index out of range (other than
            ignore_index), a weight that is not (C,), a label_smoothing outside [0, 1], or an
            unknown reduction.
    """
    input_shape = shape_of(input, "input", "cross_entropy")
    if len(input_shape) and shape_of(target, "target", "cross_entropy") == input_shape:
        if not isinstance(target, Tensor) and np.asarray(target).dtype.kind != "f":
            raise TypeError(f"cross_entropy: a target of the input's shape {tuple(input_shape)} holds class "
                            f"probabilities and must be floating, got dtype {np.asarray(target).dtype}")
        if integer(ignore_index, "ignore_index", where="cross_entropy") >= 0:
            raise ValueError(f"cross_entropy: ignore_index={ignore_index} is not supported for probability targets")
        return _cross_entropy_probs(input, target, weight=weight, reduction=reduction, label_smoothing=label_smoothing)
    return _cross_entropy_indices(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                                  label_smoothing=label_smoothing)


@register_function(method=False)
def one_hot(tensor: Tensor | np.ndarray, num_classes: int = -1) -> np.ndarray:
    """One-hot encoding of class indices, as ``torch.nn.functional.one_hot`` (no gradient).

    Args:
        tensor: class indices: an int ndarray, a list, or a Tensor of whole numbers.
        num_classes: the length of the new last axis; -1 takes ``max(tensor) + 1``.

    Returns:
        An int64 ndarray of shape ``tensor.shape + (num_classes,)``, 1 at each index, else 0.

    Raises:
        TypeError: if tensor is not integer class indices or num_classes not an int.
        ValueError: for a negative index, one >= num_classes, num_classes < -1, or
            num_classes=-1 with an empty tensor.
    """
    indices = integer_values(tensor, "tensor", "one_hot")
    num_classes = integer(num_classes, "num_classes", minimum=-1, where="one_hot")
    if indices.size and indices.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {indices.min().item()!r}")
    if num_classes == -1:
        if not indices.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(indices.max()) + 1
    elif indices.size and indices.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, "
                         f"got {indices.max().item()!r}")
    return (indices.astype(np.intp)[..., None] == np.arange(num_classes)).astype(np.int64)
