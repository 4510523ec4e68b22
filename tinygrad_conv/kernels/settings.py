"""Every knob of the conv kernels in one place: the route, the tuning thresholds, the defaults.

The route says which algorithm runs conv2d:

- ``"fast"`` (the default): blocks of images, split across threads (see ``blocked.py``);
- ``"im2col"``: the plain whole-matrix im2col, one GEMM, col2im (see ``plain.py``);
- ``"literal"``: the seed's insert-zeros/pad/rotate backward, as written in
  ``tinygrad_conv/conv.py`` (the conv op reads this setting; the kernels never run it).

The route and the tuning thresholds are per thread: ``use`` and ``tuning`` change the
calling thread's value, and a thread that never called them reads the process default
(``"fast"``, or the ``TINYGRAD_CONV_ROUTE`` environment variable). Both work as a plain
call and as a context manager that restores the previous value on exit.

The thresholds were measured on the project's 2-core AMD EPYC (Zen 4) machine with
OpenBLAS; docs/performance.md has the measurements. They choose between routes of equal
results, so a wrong value costs speed, never correctness.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import Any

ROUTES = ("fast", "im2col", "literal")


@dataclasses.dataclass(frozen=True)
class Tuning:
    """The thresholds by which the "fast" route picks its sub-routes.

    Attributes:
        literal_dx_max: im2col elements (N*O*kh*kw*Hp*Wp) up to which the input gradient
            runs the literal insert-zeros/pad/rotate correlation as one im2col and one GEMM.
            For tiny inputs each numpy call costs more than its arithmetic, and col2im
            makes kh*kw calls; 2^15 is where the two took equal time.
        chunk: im2col elements per block of images (2^18 is 1 MiB in float32): a block
            small enough to stay in a core's 1 MiB L2 cache between its copy and its GEMM.
            1 runs one image per block.
        split_min_flops: GEMM flops per direction from which the images are split across
            threads. Below 1e7 (about 0.1 ms of GEMM) handing work to a thread costs more
            than it saves. 0 splits every conv with at least two images.
        direct_max_multiplier: a grouped conv with one input channel per group (depthwise)
            and at most this many output channels per group runs as kh*kw shifted
            multiply-adds instead of batched GEMMs (grouped.py). At multiplier 1 a GEMM per
            channel and image is 1 x kh*kw by kh*kw x H'*W', mostly call overhead: direct took
            0.6x the time of the GEMMs (fwd+bwd, 3x3, (32, 32, 16, 16)); at multiplier 2 it
            took 1.4x, at 4 2.8x (each tap's broadcast multiply-add then runs once per output).
    """

    literal_dx_max: int = 1 << 15
    chunk: int = 1 << 18
    split_min_flops: float = 1e7
    direct_max_multiplier: int = 1


BUFFER_CAP = 192 << 20
"""Default byte cap of the buffer pool (``TINYGRAD_CONV_BUFFER_CAP`` overrides it).

192 MiB holds every buffer of the benchmark's largest shape (d, float64: about 70 MiB) twice;
beyond the cap the least recently used buffers are dropped, so varying shapes cannot grow
it. Measured (benchmarks/memory.py random): 600 random-shape steps end about cap + 60 MiB
of allocator slack above the largest step's resident set, +248 MiB at this default."""

POOLED_MIN_BYTES = 1 << 17
"""Size from which an op's result comes from the pool (``buffers.result_buffer``): glibc serves
blocks from 128 KiB up with fresh pages, and each first touch of a 4 KiB page then cost about
3 us on the project's VM (a (64, 6, 28, 28) float32 relu gradient: 0.7 ms fresh, 0.11 ms reused)."""

BUFFERS_PER_KEY = 4
"""Buffers kept per (role, shape, dtype): several layers of one shape, or two live graphs."""

_DEFAULT_ROUTE = os.environ.get("TINYGRAD_CONV_ROUTE", "fast")
_DEFAULT_TUNING = Tuning()
_local = threading.local()


def _check_route(route: Any) -> str:
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, got {route!r}")
    return route


class use:
    """Choose the conv route for this thread: a plain call, or a context manager.

    Examples: ``tc.kernels.use("literal")`` switches this thread until further notice;
    ``with tc.kernels.use("literal"): ...`` switches it for the block only.

    Args:
        route: "fast", "im2col" or "literal".

    Raises:
        ValueError: for any other route.
    """

    def __init__(self, route: str):
        self._previous = getattr(_local, "route", None)
        _local.route = _check_route(route)

    def __enter__(self) -> use:
        return self

    def __exit__(self, *exc_info: object) -> None:
        _local.route = self._previous


def get_route() -> str:
    """The conv route of the calling thread."""
    route = getattr(_local, "route", None)
    return _check_route(_DEFAULT_ROUTE) if route is None else route


class tuning:
    """Override thresholds of the "fast" route for this thread: a plain call, or a context manager.

    Example: ``with tc.kernels.tuning(chunk=1, split_min_flops=0): ...`` runs one image per
    block and splits every batch across the threads.

    Args:
        **overrides: fields of ``Tuning`` (literal_dx_max, chunk, split_min_flops, direct_max_multiplier).

    Raises:
        TypeError: for an unknown field name.
        ValueError: for a negative value, or a chunk below 1.
    """

    def __init__(self, **overrides: Any):
        fields = {f.name for f in dataclasses.fields(Tuning)}
        unknown = set(overrides) - fields
        if unknown:
            raise TypeError(f"tuning() got unknown setting(s) {sorted(unknown)}; known: {sorted(fields)}")
        for name, value in overrides.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < (1 if name == "chunk" else 0):
                raise ValueError(f"tuning(): {name} must be a number >= {1 if name == 'chunk' else 0}, got {value!r}")
        self._previous = getattr(_local, "tuning", None)
        _local.tuning = dataclasses.replace(get_tuning(), **overrides)

    def __enter__(self) -> tuning:
        return self

    def __exit__(self, *exc_info: object) -> None:
        _local.tuning = self._previous


def get_tuning() -> Tuning:
    """The thresholds in effect for the calling thread."""
    value = getattr(_local, "tuning", None)
    return _DEFAULT_TUNING if value is None else value


def env_int(name: str, default: int) -> int:
    """An integer environment variable (a K, M or G suffix multiplies by 2^10, 2^20, 2^30), else ``default``.

    Raises:
        ValueError: when the variable is set to something else than such a number.
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1].upper(), 1)
    try:
        return int(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer (optionally with K, M or G), got {text!r}") from None
