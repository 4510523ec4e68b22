"""Check analytic gradients against central finite differences, and gradcheck registered ops."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .registry import OPS, Op, Sample
from .tensor import Tensor, no_grad


class GradcheckError(RuntimeError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def _scalarize(out: Tensor, projection: np.ndarray) -> float:
    return float(np.vdot(projection, out.data))


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence[Any], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, seed: int = 0) -> bool:
    """Compare backward's gradients of ``fn(*inputs)`` with central differences; return True.

    Every input that is a Tensor with ``requires_grad`` is checked. A non-scalar output is
    reduced to ``sum(out * r)`` with a fixed random ``r``. Made for float64 inputs.

    Raises:
        GradcheckError: naming the input, the worst element's index, and both values.
    """
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"inputs must be a list or tuple, got {type(inputs).__name__}")
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
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


def sample_tensors(sample: Sample) -> list[Any]:
    """A sample's float arrays as float64 Tensors that require grad; other inputs as they are."""
    return [
        Tensor(v, requires_grad=True, dtype=np.float64)
        if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
        for v in sample.inputs
    ]


def gradcheck_op(op: Op | str, rng: np.random.Generator | None = None, **tolerances: float) -> int:
    """Gradcheck a registered op on each of its declared samples; return how many were checked."""
    op = OPS[op] if isinstance(op, str) else op
    if op.samples is None:
        raise ValueError(f"op {op.name!r} declares no samples to gradcheck")
    samples = op.samples(rng or np.random.default_rng(0))
    for sample in samples:
        attrs = {**op.defaults, **sample.attrs}
        gradcheck(lambda *ts, attrs=attrs: op(*ts, **attrs), sample_tensors(sample), **tolerances)
    return len(samples)
