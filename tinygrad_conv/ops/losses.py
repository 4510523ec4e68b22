"""Losses, as ``torch.nn.functional``: the elementwise ones here, the class-score ones in classification.py.

Here: mse_loss, l1_loss, smooth_l1_loss, huber_loss, binary_cross_entropy,
binary_cross_entropy_with_logits and kl_div. Each takes an input and a target of the same
shape (PyTorch broadcasts different shapes with a warning; we refuse them), computes one
loss per element in the input's dtype, and reduces them: "mean", "sum" or "none". A target Tensor that requires
grad gets its gradient, as in PyTorch. Weights are data, never differentiated.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._checks import REDUCTIONS, check_reduction, real
from ..registry import Sample, register_op
from .classification import (  # noqa: F401 - cross_entropy, nll_loss and one_hot are losses too
    cross_entropy, data_array, grad_scale, nll_loss, one_hot, reduce_loss,
)


def _check_pair(x: np.ndarray, target: np.ndarray, reduction: Any, op_name: str) -> np.ndarray:
    """The target in the input's dtype (a float32 loss stays float32), after checking shapes and reduction."""
    if x.shape != target.shape:
        raise ValueError(f"{op_name}: input {x.shape} and target {target.shape} must have the same shape")
    check_reduction(reduction, op_name)
    return target.astype(x.dtype, copy=False)


def _weight_for(weight: Any, x: np.ndarray, name: str, op_name: str) -> np.ndarray | None:
    """A weight that broadcasts to the input's shape (without enlarging it), in the input's dtype."""
    w = data_array(weight, name, op_name, x.dtype)
    if w is not None and not _broadcasts_into(w.shape, x.shape):
        raise ValueError(f"{op_name}: {name} of shape {w.shape} must broadcast to the input's shape {x.shape}")
    return w


def _broadcasts_into(small: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(small, shape) == shape
    except ValueError:
        return False


def _grads(g: np.ndarray, reduction: str, count: int, needs_grad: tuple, d_input: Any, d_target: Any = None) -> tuple:
    """(input grad, target grad) from the elementwise derivatives of the losses.

    ``d_target`` None means the loss depends on ``input - target``: the target's derivative is minus the input's.
    """
    grad_x = d_input * grad_scale(g, reduction, count)
    grad_t = None
    if needs_grad[1]:
        grad_t = -grad_x if d_target is None else d_target * grad_scale(g, reduction, count)
    return (grad_x if needs_grad[0] else None), grad_t


def _pair_samples(rng: np.random.Generator, **attrs: Any) -> list[Sample]:
    r = rng.standard_normal
    return [Sample((r((3, 4)), r((3, 4))), {"reduction": name, **attrs}) for name in REDUCTIONS] + [
        Sample((r(()), r(())), {"reduction": "mean", **attrs})
    ]


_PAIR_DEFAULTS = {"reduction": "mean"}


# --- mse_loss, l1_loss -------------------------------------------------------------------
def _mse_forward(x, target, *, reduction):
    target = _check_pair(x, target, reduction, "mse_loss")
    diff = x - target
    return reduce_loss(diff * diff, reduction), (diff, diff.size)


def _mse_vjp(g, saved, needs_grad, *, reduction):
    diff, count = saved
    return _grads(g, reduction, count, needs_grad, 2.0 * diff)


mse_loss = register_op(
    "mse_loss", _mse_forward, _mse_vjp, inputs=("input", "target"), defaults=_PAIR_DEFAULTS,
    samples=_pair_samples,
    doc="""Squared error ``(input - target)**2``, averaged ("mean"), summed ("sum") or not ("none").

    Both arguments must have the same shape (PyTorch only warns on broadcasting; we refuse).
    The gradient flows to ``target`` too when it requires grad.

    Raises:
        ValueError: for different shapes or an unknown reduction.
    """,
)


def _l1_forward(x, target, *, reduction):
    target = _check_pair(x, target, reduction, "l1_loss")
    diff = x - target
    return reduce_loss(np.abs(diff), reduction), (np.sign(diff), diff.size)


def _l1_vjp(g, saved, needs_grad, *, reduction, **attrs):  # also smooth_l1 and huber: saved holds d(loss)/d(input)
    sign, count = saved
    return _grads(g, reduction, count, needs_grad, sign)


def _kinked_samples(rng: np.random.Generator, **attrs: Any) -> list[Sample]:
    """Pairs whose differences keep away from the kinks at 0 and +-1 (a finite difference there is no derivative)."""
    samples = []
    for sample in _pair_samples(rng, **attrs):
        x, t = sample.inputs
        d = np.asarray(x - t)
        d = np.where(np.abs(np.abs(d) - 1) < 0.05, d + 0.2, d)
        d = np.where(np.abs(d) < 0.05, d + 0.3, d)
        samples.append(Sample((t + d, t), sample.attrs))
    return samples


l1_loss = register_op(
    "l1_loss", _l1_forward, _l1_vjp, inputs=("input", "target"), defaults=_PAIR_DEFAULTS, method=False,
    samples=_kinked_samples, doc="""Absolute error ``|input - target|``, reduced; its gradient at 0 is 0, as in PyTorch.

    Raises:
        ValueError: for different shapes or an unknown reduction.
    """,
)


# --- smooth_l1_loss, huber_loss ----------------------------------------------------------
def _smooth_l1_forward(x, target, *, reduction, beta):
    target = _check_pair(x, target, reduction, "smooth_l1_loss")
    beta = real(beta, "beta", minimum=0.0, where="smooth_l1_loss")
    diff = x - target
    size = np.abs(diff)
    if beta == 0:  # PyTorch's rule: the L1 loss
        return reduce_loss(size, reduction), (np.sign(diff), diff.size)
    losses = np.where(size < beta, (0.5 / beta) * diff * diff, size - 0.5 * beta).astype(x.dtype, copy=False)
    return reduce_loss(losses, reduction), (np.clip(diff * (1 / beta), -1, 1), diff.size)


def _huber_forward(x, target, *, reduction, delta):
    target = _check_pair(x, target, reduction, "huber_loss")
    delta = real(delta, "delta", where="huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta!r}")
    diff = x - target
    size = np.abs(diff)
    losses = np.where(size < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta)).astype(x.dtype, copy=False)
    return reduce_loss(losses, reduction), (np.clip(diff, -delta, delta), diff.size)


smooth_l1_loss = register_op(
    "smooth_l1_loss", _smooth_l1_forward, _l1_vjp, inputs=("input", "target"),
    defaults={**_PAIR_DEFAULTS, "beta": 1.0}, method=False, samples=lambda rng: _kinked_samples(rng, beta=1.0)
    + [Sample((np.array([0.3, -2.0, 0.2]), np.array([0.0, 0.0, 0.0])), {"beta": 0.5})],
    doc="""``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``, with ``d = input - target``.

    As ``torch.nn.functional.smooth_l1_loss``: beta=0 is the L1 loss.

    Raises:
        ValueError: for different shapes, a negative beta, or an unknown reduction.
    """,
)

huber_loss = register_op(
    "huber_loss", _huber_forward, _l1_vjp, inputs=("input", "target"), defaults={**_PAIR_DEFAULTS, "delta": 1.0},
    method=False, samples=lambda rng: _kinked_samples(rng, delta=1.0)
    + [Sample((np.array([0.3, -2.0, 0.2]), np.array([0.0, 0.0, 0.0])), {"delta": 0.5})],
    doc="""``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``, with ``d = input - target``.

    As ``torch.nn.functional.huber_loss``: ``delta * smooth_l1_loss(beta=delta)``.

    Raises:
        ValueError: for different shapes, delta <= 0, or an unknown reduction.
    """,
)


# --- binary_cross_entropy, binary_cross_entropy_with_logits ------------------------------
def _bce_forward(x, target, *, weight, reduction):
    target = _check_pair(x, target, reduction, "binary_cross_entropy")
    if x.size and not (x.min() >= 0 and x.max() <= 1):  # NaN fails too
        raise ValueError(f"binary_cross_entropy: input must hold probabilities in [0, 1], got values in "
                         f"[{x.min().item()!r}, {x.max().item()!r}]")
    w = _weight_for(weight, x, "weight", "binary_cross_entropy")
    with np.errstate(divide="ignore"):
        log_x, log_1mx = np.log(x), np.log1p(-x)
    losses = -(target * np.maximum(log_x, -100) + (1 - target) * np.maximum(log_1mx, -100))  # PyTorch clamps at -100
    if w is not None:
        losses *= w
    return reduce_loss(losses, reduction), (x, target, w, log_x, log_1mx)


def _bce_vjp(g, saved, needs_grad, *, reduction, **attrs):
    x, target, w, log_x, log_1mx = saved
    w = 1 if w is None else w
    grad_x = (x - target) * w / np.maximum((1 - x) * x, 1e-12)  # PyTorch's EPSILON
    return _grads(g, reduction, x.size, needs_grad, grad_x, (log_1mx - log_x) * w)


def _bce_samples(rng: np.random.Generator) -> list[Sample]:
    p = rng.uniform(0.1, 0.9, (3, 4))
    t = rng.uniform(0, 1, (3, 4))
    return [Sample((p, t), {"reduction": name}) for name in REDUCTIONS] + [
        Sample((p, t), {"weight": rng.uniform(0.5, 2, 4)}),
        Sample((np.array(0.3), np.array(1.0)), {"reduction": "sum"}),
    ]


binary_cross_entropy = register_op(
    "binary_cross_entropy", _bce_forward, _bce_vjp, inputs=("input", "target"),
    defaults={"weight": None, **_PAIR_DEFAULTS}, method=False, samples=_bce_samples,
    doc="""``-weight * (target * log(input) + (1 - target) * log(1 - input))``, reduced.

    As ``torch.nn.functional.binary_cross_entropy``: each log is clamped at -100, so the loss
    is finite at 0 and 1; the input gradient divides by ``max(input * (1 - input), 1e-12)``.

    Args:
        input: probabilities in [0, 1].
        target: of the input's shape (differentiated when it requires grad).
        weight: optional rescaling that broadcasts to the input's shape; data.
        reduction: "mean", "sum" or "none".

    Raises:
        ValueError: for different shapes, an input outside [0, 1], a weight that does not
            broadcast, or an unknown reduction.
    """,
)


def _bce_logits_forward(x, target, *, weight, reduction, pos_weight):
    op_name = "binary_cross_entropy_with_logits"
    target = _check_pair(x, target, reduction, op_name)
    w = _weight_for(weight, x, "weight", op_name)
    pw = _weight_for(pos_weight, x, "pos_weight", op_name)
    e = np.exp(-np.abs(x))
    softplus_neg = np.log1p(e) + np.maximum(-x, 0)  # -log(sigmoid(x)), never overflowing
    if pw is None:
        losses = (1 - target) * x + softplus_neg
    else:
        losses = (1 - target) * x + (1 + (pw - 1) * target) * softplus_neg
    if w is not None:
        losses *= w
    return reduce_loss(losses, reduction), (x, target, w, pw, e, softplus_neg)


def _bce_logits_vjp(g, saved, needs_grad, *, reduction, **attrs):
    x, target, w, pw, e, softplus_neg = saved
    sig = np.where(x >= 0, 1, e) / (1 + e)
    w = 1 if w is None else w
    if pw is None:
        grad_x, grad_t = (sig - target) * w, -x * w
    else:  # d/dx: (1 - t) * sigmoid(x) - pw * t * sigmoid(-x)
        grad_x = ((1 - target) * sig - pw * target * (1 - sig)) * w
        grad_t = ((pw - 1) * softplus_neg - x) * w
    return _grads(g, reduction, x.size, needs_grad, grad_x, grad_t)


def _bce_logits_samples(rng: np.random.Generator) -> list[Sample]:
    x = 3 * rng.standard_normal((3, 4))
    t = rng.uniform(0, 1, (3, 4))
    return [Sample((x, t), {"reduction": name}) for name in REDUCTIONS] + [
        Sample((x, t), {"weight": rng.uniform(0.5, 2, (3, 1)), "pos_weight": rng.uniform(0.5, 3, 4)}),
        Sample((x, t), {"pos_weight": np.array([2.0, 0.5, 1.0, 3.0]), "reduction": "none"}),
    ]


binary_cross_entropy_with_logits = register_op(
    "binary_cross_entropy_with_logits", _bce_logits_forward, _bce_logits_vjp, inputs=("input", "target"),
    defaults={"weight": None, **_PAIR_DEFAULTS, "pos_weight": None}, method=False, samples=_bce_logits_samples,
    doc="""``binary_cross_entropy(sigmoid(input), target)`` computed stably from the logits, in one op.

    As ``torch.nn.functional.binary_cross_entropy_with_logits``: ``loss = -weight * (pos_weight *
    target * log(sigmoid(input)) + (1 - target) * log(1 - sigmoid(input)))``, finite for any input.

    Args:
        input: logits.
        target: of the input's shape (differentiated when it requires grad).
        weight: optional rescaling that broadcasts to the input's shape; data.
        reduction: "mean", "sum" or "none".
        pos_weight: optional weight of the positive term, broadcasting to the input's shape
            (one per class, the last axis, say); data.

    Raises:
        ValueError: for different shapes, a weight that does not broadcast, or an unknown reduction.
    """,
)


# --- kl_div ---------------------------------------------------------------------------------
def _kl_div_forward(x, target, *, reduction, log_target):
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(f"kl_div: reduction must be one of ('mean', 'sum', 'none', 'batchmean'), got {reduction!r}")
    target = _check_pair(x, target, "none", "kl_div")
    if log_target:
        p = np.exp(target)
        losses = p * (target - x)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_t = np.log(target)
            losses = np.where(target == 0, 0, target * log_t) - target * x  # xlogy(t, t): 0 at t = 0
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=3)
    count = x.size if reduction == "mean" else x.shape[0] if x.ndim else 1
    out = reduce_loss(losses, "mean" if reduction == "batchmean" else reduction, count)
    return out, (x, target, p if log_target else log_t, count)


def _kl_div_vjp(g, saved, needs_grad, *, reduction, log_target):
    x, target, p_or_log_t, count = saved
    reduction = "mean" if reduction == "batchmean" else reduction
    if log_target:
        return _grads(g, reduction, count, needs_grad, -p_or_log_t, p_or_log_t * (target - x + 1))
    return _grads(g, reduction, count, needs_grad, -target, p_or_log_t + 1 - x)


def _kl_div_samples(rng: np.random.Generator) -> list[Sample]:
    x, t = rng.standard_normal((3, 4)), rng.uniform(0.1, 1, (3, 4))
    return [Sample((x, t), {"reduction": name}) for name in ("sum", "none", "batchmean")] + [
        Sample((x, np.log(t)), {"reduction": "sum", "log_target": True})
    ]


kl_div = register_op(
    "kl_div", _kl_div_forward, _kl_div_vjp, inputs=("input", "target"),
    defaults={"reduction": "mean", "log_target": False}, method=False, samples=_kl_div_samples,
    doc="""Kullback-Leibler divergence ``target * (log(target) - input)`` (0 where target is 0), reduced.

    As ``torch.nn.functional.kl_div``: ``input`` holds log-probabilities; ``target``
    probabilities, or log-probabilities with ``log_target=True``. "batchmean" divides the sum
    by the batch size (the KL divergence); "mean" by the number of elements, with PyTorch's warning.

    Raises:
        ValueError: for different shapes or an unknown reduction.
    """,
)
