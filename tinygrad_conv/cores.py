"""Split a large conv's images across the cores, one single-threaded BLAS call per core.

A multi-threaded OpenBLAS GEMM leaves its worker threads spinning for tens of
milliseconds after it returns. Between two GEMMs, the conv's copies (im2col, col2im,
transposes) then run on one core while the workers spin on the others, and a numpy
or PyTorch call that follows shares its cores with them (measured on the project's
2-core machine: a torch conv right after one numpy GEMM ran 2.4x slower). Giving each
core its own range of images instead, with BLAS limited to one thread meanwhile, runs
the copies in parallel too, keeps each core's data in its own cache, and leaves no
spinning workers behind.

This needs ``threadpoolctl`` (an optional dependency) to set OpenBLAS's thread count;
without it, or when BLAS already runs one thread, :func:`split_images` runs the work
in one piece, which is the plain route.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from itertools import pairwise
from typing import Any

_lock = threading.Lock()  # one split at a time: a second caller runs its work in one piece
_state: dict[str, Any] = {}


def _blas() -> Any:
    if "blas" not in _state:
        try:
            from threadpoolctl import ThreadpoolController

            blas = ThreadpoolController().select(user_api="blas")
        except ImportError:
            blas = None
        _state["blas"] = blas if blas is not None and len(blas.lib_controllers) == 1 else None
    return _state["blas"]


def split_images(work: Callable[[int, int], Any], n: int) -> list[Any]:
    """Run ``work(lo, hi)`` on consecutive ranges of the n images, one range per BLAS thread.

    Args:
        work: computes images lo..hi-1; the ranges are disjoint, so it may write its
            images' slices of shared outputs. It must not call BLAS with more threads.
        n: the number of images.

    Returns:
        The results of ``work``, in image order (one result when it ran in one piece).
    """
    blas = _blas()
    parts = min(n, blas.lib_controllers[0].num_threads) if blas is not None else 1
    if parts < 2 or not _lock.acquire(blocking=False):
        return [work(0, n)]
    try:
        pool = _state.get("pool")
        if pool is None or pool._max_workers < parts - 1:
            pool = _state["pool"] = ThreadPoolExecutor(parts - 1, thread_name_prefix="tinygrad_conv")
        bounds = [n * i // parts for i in range(parts + 1)]
        with blas.limit(limits=1):
            futures = [pool.submit(work, lo, hi) for lo, hi in pairwise(bounds[1:])]
            try:
                first = work(bounds[0], bounds[1])
            finally:
                wait(futures)  # never leave a worker writing after an error here
            return [first] + [f.result() for f in futures]
    finally:
        _lock.release()
