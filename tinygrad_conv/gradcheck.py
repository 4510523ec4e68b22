"""Check analytic gradients against central finite differences, and gradcheck registered ops."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .registry import Op, Sample, get_op
from .tensor import Tensor, no_grad


class GradcheckError(RuntimeError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def _scalarize(out: Tensor, projection: np.ndarray) -> float:
    return float(np.vdot(projection, out.data))


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, seed: int = 0) -> bool:
    """Compare backward's gradients of ``fn(*inputs)`` with central differences; return True.

    Every input that is a Tensor with ``requires_grad`` is checked. A non-scalar output is
    reduced to ``sum(out * r)`` with a fixed random ``r``. Finite differences with ``eps=1e-6``
    are exact only in float64, so a checked input of a lower precision is replaced by a float64
    copy (with a UserWarning saying so) rather than reported as a false mismatch; the
    gradients then land on the copy, not on the caller's tensor.

    Args:
        fn: the function to check, taking ``inputs`` and returning a Tensor.
        inputs: its arguments, a list or tuple; the Tensors among them that require grad are checked.
        eps: the finite-difference step.
        atol: the absolute tolerance.
        rtol: the tolerance relative to the numeric gradient.
        seed: seeds the random projection of a non-scalar output.

    Returns:
        True when every gradient matches.

    Raises:
        TypeError: if inputs is not a list or tuple, or fn does not return a Tensor.
        ValueError: if no input is a Tensor that requires grad.
        GradcheckError: naming the input, the worst element's index, and both values.
    """
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"inputs must be a list or tuple, got {type(inputs).__name__}")
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
    inputs = _in_float64(inputs, checked)
    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    projection = np.random.default_rng(seed).standard_normal(out.shape)
    if out.requires_grad:
        out.backward(projection.astype(out.dtype))
    for i in checked:
        tensor = inputs[i]
        analytic = np.zeros(tensor.shape) if tensor.grad is None else tensor.grad
        if analytic.shape != tensor.shape:
            raise GradcheckError(f"input {i}: grad has shape {analytic.shape}, the input has {tensor.shape}")
        numeric = np.zeros(tensor.shape)
        data = tensor.data  # perturbed in place (whatever its memory layout), then restored
        with no_grad():
            for index in np.ndindex(*tensor.shape):
                original = data[index]
                data[index] = original + eps
                plus = _scalarize(fn(*inputs), projection)
                data[index] = original - eps
                minus = _scalarize(fn(*inputs), projection)
                data[index] = original
                numeric[index] = (plus - minus) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > 0:
            worst = np.unravel_index(int(np.argmax(error)), tensor.shape)
            name = f" ({tensor.name})" if tensor.name else ""
            raise GradcheckError(
                f"gradient mismatch for input {i}{name} of shape {tensor.shape} at index {tuple(int(j) for j in worst)}: "
                f"analytic {analytic[worst]!r}, numeric {numeric[worst]!r} (atol={atol}, rtol={rtol})"
            )
    return True


def _in_float64(inputs: Sequence[Any], checked: list[int]) -> list[Any]:
    """``inputs`` with each checked Tensor of a lower precision replaced by a float64 copy (warning)."""
    inputs = list(inputs)
    low = [i for i in checked if inputs[i].dtype.itemsize < 8]
    if low:
        described = ", ".join(f"input {i} ({inputs[i].dtype})" for i in low)
        warnings.warn(f"gradcheck needs float64 for exact finite differences: checking float64 copies of "
                      f"{described}; pass float64 tensors to check in place", UserWarning, stacklevel=3)
        for i in low:
            inputs[i] = Tensor(inputs[i].data, requires_grad=True, dtype=np.float64, name=inputs[i].name)
    return inputs


def sample_tensors(sample: Sample) -> list[Any]:
    """A sample's float arrays as float64 Tensors that require grad; other inputs as they are."""
    return [
        Tensor(v, requires_grad=True, dtype=np.float64)
        if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
        for v in sample.inputs
    ]


def gradcheck_op(op: Op | str, rng: np.random.Generator | None = None, **tolerances: float) -> int:
    """Gradcheck a registered op on each of its declared samples; return how many were checked.

    Args:
        op: an Op, or the name it was registered under.
        rng: the generator the samples are drawn from (seed 0 by default).
        **tolerances: eps, atol, rtol or seed, passed to gradcheck.

    Returns:
        The number of samples checked.

    Raises:
        TypeError: if op is neither an Op nor a str.
        ValueError: if no op of that name is registered, or the op declares no samples.
        GradcheckError: for the first sample whose gradients disagree.
    """
    if isinstance(op, str):
        op = get_op(op)
    elif not isinstance(op, Op):
        raise TypeError(f"op must be an Op or a registered op's name, got {type(op).__name__}")
    if op.samples is None:
        raise ValueError(f"op {op.name!r} declares no samples to gradcheck")
    samples = op.samples(rng or np.random.default_rng(0))
    for sample in samples:
        attrs = {**op.defaults, **sample.attrs}
        gradcheck(lambda *ts, attrs=attrs: op(*ts, **attrs), sample_tensors(sample), **tolerances)
    return len(samples)
