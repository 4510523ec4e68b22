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
first steps after a 0.3 s pause ran 1.5x slower). So each split pins the caller to its
current core and the workers to the others, and restores the caller's affinity afterwards
(Linux only; elsewhere the scheduler decides).

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


def _pin_to_cores(parts: int) -> tuple[int, set[int] | None]:
    """Pin the caller to its current core and the workers to the others; return (caller's part, affinity to restore).

    The caller's part is its core's rank, so part k runs on core k whichever of them the
    caller is on, and finds the images that it copied in the forward still in its own cache
    in the backward. Pinning the caller too matters after the machine idles: left free, it
    was moved onto the worker's core and the two shared one core for the whole split
    (measured: shape c's backward 16 ms instead of 9 after a 0.3 s pause).
    """
    getcpu = _getcpu()
    if getcpu is None:
        return 0, None
    cpu, allowed = getcpu(), os.sched_getaffinity(0)
    try:
        if cpu != _state["cpu"]:
            others = allowed - {cpu}
            for tid in _state["tids"] if others else ():
                os.sched_setaffinity(tid, others)
            _state["cpu"], _state["rank"] = cpu, sorted(allowed).index(cpu) if cpu in allowed else 0
        os.sched_setaffinity(0, {cpu})
    except OSError:  # not permitted here: leave it to the scheduler
        _state["getcpu"], _state["rank"] = None, 0
        return 0, None
    return _state["rank"] % parts, allowed


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
        mine, affinity = _pin_to_cores(parts)
        ranges = [(n * i // parts, n * (i + 1) // parts) for i in range(parts)]
        try:
            with blas.limit(limits=1):
                futures = [pool.submit(work, lo, hi) for i, (lo, hi) in enumerate(ranges) if i != mine]
                try:
                    own = work(*ranges[mine])
                finally:
                    wait(futures)  # never leave a worker writing after an error here
        finally:
            if affinity is not None:
                try:
                    os.sched_setaffinity(0, affinity)
                except OSError:  # the allowed cores changed meanwhile: keep what the system allows now
                    pass
        results = [f.result() for f in futures]
        return results[:mine] + [own] + results[mine:]
    finally:
        _lock.release()
