"""Tensor factories with PyTorch's signatures (``tc.zeros(2, 3)``, ``tc.arange(5)``, ``tc.randn_like(x)``); the seed.

Every factory takes the shape as varargs or one tuple, ``dtype=None`` (the default dtype,
float64 unless ``tc.set_default_dtype`` changed it), ``device`` (only ``"cpu"``, accepted so
that ported code runs unchanged) and ``requires_grad=False``. Tensors hold floats, so
``arange`` and ``full`` give floats where PyTorch would give int64 for int arguments.

The random factories draw from one process-wide ``np.random.Generator``, ``default_generator``,
which ``nn.init`` (layer weights) also draws from: ``tc.manual_seed(0)`` re-seeds it, so one
seed fixes weights and random tensors alike, as ``torch.manual_seed`` does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._checks import integer, real
from .tensor import Tensor, floating_dtype, get_default_dtype

# Process-wide on purpose, as torch.default_generator: one seed (manual_seed) for factories and nn.init.
# Threads may share it (a numpy Generator serializes draws on its bit generator's lock); a forked child
# inherits its state and so draws what the parent would, unless it calls manual_seed, as in PyTorch.
default_generator = np.random.default_rng()

float32 = np.float32  # tc.float32 and tc.float64 stand for torch.float32 and torch.float64 in ported code
float64 = np.float64


def manual_seed(seed: int) -> np.random.Generator:
    """Re-seed ``default_generator`` (in place: every holder of it sees the new seed) and return it.

    It then draws exactly what ``np.random.default_rng(seed)`` would.

    Raises:
        ValueError: if ``seed`` is not an int >= 0.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, (bool, np.bool_)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    default_generator.bit_generator.state = np.random.PCG64(int(seed)).state
    return default_generator


def check_device(device: Any) -> None:
    """Accept None, ``"cpu"``, ``"cpu:0"`` or ``torch.device("cpu")``.

    Raises:
        ValueError: for any other device (tensors are numpy arrays, in host memory).
    """
    if device is not None and str(device) not in ("cpu", "cpu:0"):
        raise ValueError(f"device must be 'cpu' (tinygrad_conv runs on numpy), got {device!r}")


def _shape(size: tuple, where: str) -> tuple[int, ...]:
    """Varargs ``(2, 3)`` or one sequence ``((2, 3),)`` as a tuple of ints >= 0."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = tuple(integer(n, "size", minimum=0, where=where) for n in size)
    if math.prod(shape) > np.iinfo(np.intp).max // 8:
        raise ValueError(f"{where}: size {shape} has more elements than an array can hold")
    return shape


def _tensor(array: np.ndarray, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    check_device(device)
    if not isinstance(requires_grad, (bool, np.bool_)):
        raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
    dtype = get_default_dtype() if dtype is None else floating_dtype(dtype)
    return Tensor._wrap(array.astype(dtype, copy=False), requires_grad=bool(requires_grad))


def _like(input: Any, dtype: Any, where: str) -> tuple[tuple[int, ...], Any]:
    """The shape of ``input`` and the dtype for a ``*_like`` factory: ``dtype``, else the input's if floating."""
    if not hasattr(input, "dtype"):  # a list or a number: it must be numeric
        try:
            kind = np.asarray(input).dtype.kind
        except ValueError:
            raise ValueError(f"{where}: input is a ragged sequence, not a rectangular array") from None
        if kind not in "biuf":
            raise TypeError(f"{where}: input must be a Tensor, an ndarray or numeric array-like, "
                            f"got {type(input).__name__}")
    if dtype is None and hasattr(input, "dtype"):  # a Tensor, an ndarray or a torch.Tensor
        try:
            dtype = floating_dtype(input.dtype)
        except TypeError:  # an int array, say: the default dtype
            dtype = None
    try:
        return tuple(np.shape(input)), dtype
    except ValueError:
        raise ValueError(f"{where}: input is a ragged sequence, not a rectangular array") from None


def _generator(generator: np.random.Generator | None) -> np.random.Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be a np.random.Generator or None, got {type(generator).__name__}")
    return generator


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data``, as ``torch.tensor``.

    Args:
        data: numbers, (nested) lists, an ndarray, a Tensor or a ``torch.Tensor``.
        dtype: float32 or float64 (numpy's or torch's); None keeps a floating array's dtype
            and makes anything else the default dtype.
        device: only ``"cpu"``.
        requires_grad: whether ``backward`` fills its ``.grad``.

    Raises:
        TypeError: for non-numeric data or a non-floating dtype.
        ValueError: for ragged data or a device other than the CPU.
    """
    check_device(device)
    if isinstance(data, Tensor):
        data = data._data
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _tensor(np.zeros(_shape(size, "zeros")), dtype, device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _tensor(np.ones(_shape(size, "ones")), dtype, device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of the given shape whose values are whatever the memory held (numpy's ``empty``)."""
    dtype = get_default_dtype() if dtype is None else floating_dtype(dtype)
    return _tensor(np.empty(_shape(size, "empty"), dtype), dtype, device, requires_grad)


def full(size: Any, fill_value: float, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` (a tuple, or an int for 1-d) filled with ``fill_value``.

    Raises:
        TypeError: if ``fill_value`` is not a real number.
    """
    if isinstance(fill_value, Tensor) and fill_value.ndim == 0:
        fill_value = fill_value.item()
    if not isinstance(fill_value, (bool, np.bool_)):
        fill_value = real(fill_value, "fill_value", where="full", finite=False)
    shape = _shape(size if isinstance(size, (tuple, list)) else (size,), "full")
    return _tensor(np.full(shape, fill_value, dtype=np.float64), dtype, device, requires_grad)


def rand(*size: Any, generator: np.random.Generator | None = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1), drawn in float64 from ``generator`` (default: ``default_generator``)."""
    return _tensor(_generator(generator).random(_shape(size, "rand")), dtype, device, requires_grad)


def randn(*size: Any, generator: np.random.Generator | None = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples, drawn in float64 from ``generator`` (default: ``default_generator``)."""
    return _tensor(_generator(generator).standard_normal(_shape(size, "randn")), dtype, device, requires_grad)


def zeros_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``input``'s shape and (floating) dtype."""
    shape, dtype = _like(input, dtype, "zeros_like")
    return zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of ``input``'s shape and (floating) dtype."""
    shape, dtype = _like(input, dtype, "ones_like")
    return ones(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor of ``input``'s shape and (floating) dtype."""
    shape, dtype = _like(input, dtype, "empty_like")
    return empty(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Any, fill_value: float, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    """``fill_value`` in ``input``'s shape and (floating) dtype."""
    shape, dtype = _like(input, dtype, "full_like")
    return full(shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) of ``input``'s shape and (floating) dtype."""
    shape, dtype = _like(input, dtype, "rand_like")
    return rand(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(input: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of ``input``'s shape and (floating) dtype."""
    shape, dtype = _like(input, dtype, "randn_like")
    return randn(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start: float = 0, end: float | None = None, step: float = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """``start, start + step, ...`` up to but excluding ``end``; ``arange(n)`` is ``0, 1, ..., n - 1``.

    It has ``ceil((end - start) / step)`` elements, as in PyTorch and numpy.

    Raises:
        TypeError: if an argument is not a real number.
        ValueError: if ``step`` is 0 or points away from ``end``, or a bound is not finite.
    """
    if end is None:
        start, end = 0, start
    start, end = real(start, "start", where="arange"), real(end, "end", where="arange")
    step = real(step, "step", where="arange")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: step={step} points away from end={end} (start={start})")
    count = max(math.ceil((end - start) / step), 0)
    return _tensor(start + step * np.arange(count, dtype=np.float64), dtype, device, requires_grad)


def linspace(start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included.

    Raises:
        TypeError: if ``steps`` is not an int, or a bound not a real number.
        ValueError: if ``steps`` is negative.
    """
    start, end = real(start, "start", where="linspace"), real(end, "end", where="linspace")
    steps = integer(steps, "steps", minimum=0, where="linspace")
    return _tensor(np.linspace(start, end, steps), dtype, device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The ``n`` x ``m`` identity matrix (``m`` defaults to ``n``)."""
    n = integer(n, "n", minimum=0, where="eye")
    m = n if m is None else integer(m, "m", minimum=0, where="eye")
    return _tensor(np.eye(n, m), dtype, device, requires_grad)


__all__ = [
    "arange", "check_device", "default_generator", "empty", "empty_like", "eye", "float32", "float64", "full",
    "full_like", "linspace", "manual_seed", "ones", "ones_like", "rand", "rand_like", "randn", "randn_like", "tensor",
    "zeros", "zeros_like",
]
