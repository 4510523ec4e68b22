"""Split a large conv's images across threads, each running single-threaded BLAS on its own range.

A multi-threaded OpenBLAS GEMM leaves its worker threads spinning for tens of milliseconds
after it returns: between two GEMMs the conv's copies (im2col, col2im) then run on one core
while the workers spin on the others. Giving each thread its own range of images instead,
with BLAS limited to one thread meanwhile, runs the copies in parallel too and keeps each
thread's images in its own cache.

The thread count is ``set_num_threads(n)``, else the ``TINYGRAD_CONV_NUM_THREADS`` environment
variable, else BLAS's own thread count; 1 turns the split off. It needs ``threadpoolctl``
(an optional dependency) to limit BLAS to one thread per worker; without it the work runs
in one piece. The worker threads are started once and kept (a larger count starts a larger
pool in their place). Nothing here changes CPU
affinity: where the threads run is the scheduler's business (after the machine idles,
Linux may briefly run two of them on one core).

Fork safety: a child forked while (or after) the parent's workers existed has none of them
(fork copies only the calling thread), so after a fork the child forgets the parent's pool
and lock and starts its own on its first split.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from .settings import env_int

_lock = threading.Lock()  # one split at a time: a second caller runs its work in one piece
_workers: ThreadPoolExecutor | None = None
_num_threads: int | None = None  # None: the environment variable, else BLAS's count
_ENV_THREADS = env_int("TINYGRAD_CONV_NUM_THREADS", 0)
_blas: Any = False  # False: not looked up yet


def _blas_controller() -> Any:
    """threadpoolctl's controller of the BLAS libraries loaded (numpy's, and scipy's say), or None."""
    global _blas
    if _blas is False:
        try:
            from threadpoolctl import ThreadpoolController

            blas = ThreadpoolController().select(user_api="blas")
        except ImportError:
            blas = None
        _blas = blas if blas is not None and blas.lib_controllers else None
    return _blas


def _blas_threads(blas: Any) -> int:
    """BLAS's thread count: numpy's library where threadpoolctl can tell which it is, else the largest."""
    mine = [c.num_threads for c in blas.lib_controllers if "numpy" in c.filepath]
    return max(mine or [c.num_threads for c in blas.lib_controllers])


def get_num_threads() -> int:
    """How many threads a large conv splits its images across (1: no split)."""
    if _num_threads is not None:
        return _num_threads
    blas = _blas_controller()
    if blas is None:
        return 1
    return _ENV_THREADS or _blas_threads(blas)


def set_num_threads(n: int | None) -> None:
    """Set the split's thread count: 1 turns the split off, None restores the default.

    Raises:
        ValueError: if ``n`` is not None or an int >= 1.
    """
    global _num_threads
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"set_num_threads(n) takes an int >= 1 or None, got {n!r}")
    _num_threads = n


def split_images(work: Callable[[int, int], Any], n: int) -> list[Any]:
    """Run ``work(lo, hi)`` on consecutive ranges of the n images, one range per thread.

    Args:
        work: computes images lo..hi-1; the ranges are disjoint, so it may write its
            images' slices of shared outputs. It must not raise BLAS's thread count.
        n: the number of images.

    Returns:
        The results of ``work``, in image order (one result when it ran in one piece).
    """
    global _workers
    blas = _blas_controller()
    parts = min(n, get_num_threads()) if blas is not None else 1
    if parts < 2 or not _lock.acquire(blocking=False):
        return [work(0, n)]
    try:
        if _workers is None or _workers._max_workers < parts - 1:
            if _workers is not None:
                _workers.shutdown(wait=True)
            _workers = ThreadPoolExecutor(parts - 1, thread_name_prefix="tinygrad_conv")
        ranges = [(n * i // parts, n * (i + 1) // parts) for i in range(parts)]
        with blas.limit(limits=1):
            futures = [_workers.submit(work, lo, hi) for lo, hi in ranges[1:]]
            try:
                own = work(*ranges[0])
            finally:
                wait(futures)  # never leave a worker writing after an error here
        return [own] + [f.result() for f in futures]
    finally:
        _lock.release()


def _after_fork() -> None:
    global _lock, _workers
    _lock, _workers = threading.Lock(), None  # the parent's workers do not exist here


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
