"""Copies and dtype casts that stay in the graph: ``clone`` and ``to`` (``x.float()``, ``x.double()``, ``x.astype()``).

A cast's gradient is cast back to the input's dtype, as in PyTorch, so a float32 model
can feed a float64 loss and still get float32 gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..creation import check_device
from ..registry import Sample, register_function, register_op
from ..tensor import Tensor, floating_dtype


def _copy_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.standard_normal((3, 4)),)), Sample((np.array(1.5),))]


def _clone_forward(x):
    return x.copy()


def _clone_vjp(g, saved, needs_grad):
    return (g,)


clone = register_op("clone", _clone_forward, _clone_vjp, inputs=("input",), samples=_copy_samples,
                    doc="A copy of ``input`` with its own data, through which gradients flow (``torch.clone``).")


def _to_forward(x, *, dtype):
    return x.astype(x.dtype if dtype is None else dtype), x.dtype


def _to_vjp(g, input_dtype, needs_grad, *, dtype):
    return (g.astype(input_dtype, copy=False),)


_to = register_op("to", _to_forward, _to_vjp, inputs=("input",), defaults={"dtype": None}, samples=_copy_samples,
                  method=False, doc="``input`` cast to ``dtype`` (None: a copy); the gradient is cast back.")


def _is_device(value: Any) -> bool:
    """A device string (``"cpu"``, ``"cuda:0"``) or a ``torch.device``, as opposed to a dtype."""
    if type(value).__name__ == "device":
        return True
    return isinstance(value, str) and value.split(":")[0] in ("cpu", "cuda", "mps", "xpu", "meta")


@register_function
def to(input: Tensor | np.ndarray, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False,
       copy: bool = False) -> Tensor:
    """``input`` with another dtype, as ``torch.Tensor.to``: ``x.to(np.float32)``, ``x.to("cpu")``, ``x.to(other)``.

    Positional arguments may be a dtype (numpy's, its name, or a torch dtype), a device
    (only ``"cpu"`` or ``torch.device("cpu")``) or a tensor whose dtype to take. With
    nothing to change the tensor itself comes back, unless ``copy=True``; a cast records
    the op ``to``, whose gradient is cast back to the input's dtype.

    Args:
        input: the tensor.
        *args: dtype, device or tensor, in any order.
        dtype: float32 or float64.
        device: only the CPU.
        non_blocking: ignored (PyTorch's asynchronous copy).
        copy: return a new tensor even when nothing changes.

    Raises:
        TypeError: for a non-floating dtype (float16 and integers included).
        ValueError: for a device other than the CPU.
    """
    for arg in args:
        if isinstance(arg, Tensor) or hasattr(arg, "detach") and hasattr(arg, "dtype"):  # a torch.Tensor too
            dtype = arg.dtype
        elif _is_device(arg):
            device = arg
        else:
            dtype = arg
    check_device(device)
    if not isinstance(input, Tensor):
        input = Tensor(input)
    target = input.dtype if dtype is None else floating_dtype(dtype)
    if target == input.dtype and not copy:
        return input
    return _to(input, dtype=target)
