"""Split a large conv's images across the cores, one single-threaded BLAS call per core.

A multi-threaded OpenBLAS GEMM leaves its worker threads spinning for tens of
milliseconds after it returns. Between two GEMMs, the conv's copies (im2col, col2im,
transposes) then run on one core while the workers spin on the others, and a numpy
or PyTorch call that follows shares its cores with them (measured on the project's
2-core machine: a torch conv right after one numpy GEMM ran 2.4x slower). Giving each
core its own range of images instead, with BLAS limited to one thread meanwhile, runs
the copies in parallel too, keeps each core's data in its own cache, and leaves no
spinning workers behind.

After the machine idles, Linux tends to wake a worker on its waker's core, and both then
share one core for milliseconds until the load balancer separates them (measured: the
first steps after a 0.3 s pause ran 1.5x slower). So each split keeps the workers off the
caller's current core (Linux only; elsewhere the scheduler decides).

This needs ``threadpoolctl`` (an optional dependency) to set OpenBLAS's thread count;
without it, or when BLAS already runs one thread, :func:`split_images` runs the work
in one piece, which is the plain route.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
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


def _getcpu() -> Callable[[], int] | None:
    if "getcpu" not in _state:
        try:
            _state["getcpu"] = ctypes.CDLL(None).sched_getcpu if hasattr(os, "sched_setaffinity") else None
        except (OSError, AttributeError):
            _state["getcpu"] = None
    return _state["getcpu"]


def _start_pool(workers: int) -> ThreadPoolExecutor:
    """A pool of ``workers`` threads, with their native thread ids in ``_state["tids"]``."""
    pool, barrier = ThreadPoolExecutor(workers, thread_name_prefix="tinygrad_conv"), threading.Barrier(workers)

    def tid() -> int:
        barrier.wait()  # every task on its own thread
        return threading.get_native_id()

    _state["tids"], _state["cpu"] = [f.result() for f in [pool.submit(tid) for _ in range(workers)]], None
    return pool


def _keep_workers_off_my_core(parts: int) -> int:
    """Pin the workers to the cores other than the caller's; return the caller's part: its core's rank.

    So part k runs on core k whichever of them the caller is on, and finds the images that
    it copied in the forward still in its own cache in the backward.
    """
    getcpu = _getcpu()
    if getcpu is None:
        return 0
    cpu = getcpu()
    if cpu != _state["cpu"]:
        allowed = os.sched_getaffinity(0)
        _state["cpu"], _state["rank"], others = cpu, sorted(allowed).index(cpu) if cpu in allowed else 0, allowed - {cpu}
        try:
            for tid in _state["tids"] if others else ():
                os.sched_setaffinity(tid, others)
        except OSError:  # not permitted here: leave it to the scheduler
            _state["getcpu"], _state["rank"] = None, 0
    return _state["rank"] % parts


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
            pool = _state["pool"] = _start_pool(parts - 1)
        mine = _keep_workers_off_my_core(parts)
        ranges = [(n * i // parts, n * (i + 1) // parts) for i in range(parts)]
        with blas.limit(limits=1):
            futures = [pool.submit(work, lo, hi) for i, (lo, hi) in enumerate(ranges) if i != mine]
            try:
                own = work(*ranges[mine])
            finally:
                wait(futures)  # never leave a worker writing after an error here
            results = [f.result() for f in futures]
            return results[:mine] + [own] + results[mine:]
    finally:
        _lock.release()
