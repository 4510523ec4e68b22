"""Split work across threads, each running single-threaded BLAS on its own range.

A multi-threaded OpenBLAS GEMM leaves its worker threads spinning for tens of milliseconds
after it returns. Between two GEMMs the conv's copies (im2col, col2im) then run on one core
while the workers spin on the others, and a split started in that time shares its cores
with them: one small Linear layer with two BLAS threads made the next step's convs 40%
slower. So every BLAS call of tinygrad_conv large enough for OpenBLAS to thread runs
inside ``blas_one_thread()``, and the parallel work is ours: ``split_images`` gives each
thread its own range of images (the copies run in parallel too, and each thread's images
stay in its own cache).

``blas_one_thread()`` is counted across threads: the first region to open limits BLAS to one
thread, the last to close gives BLAS back the count it had. BLAS's thread count is one
process-wide setting (for OpenBLAS built with pthreads, numpy's usual build), so while a
region is open a numpy call of the user's in another thread also runs on one BLAS thread,
and a limit that another thread sets meanwhile (``threadpoolctl.threadpool_limits``, say)
starts from one and is left as that thread leaves it. An OpenBLAS built with OpenMP keeps
one count per thread, which these regions do not follow: there a region limits only the
thread that opened it, and the split's other threads may still run BLAS's own threads.

The thread count is ``set_num_threads(n)``, else the ``TINYGRAD_CONV_NUM_THREADS`` environment
variable, else BLAS's own thread count; 1 turns the split off. It needs ``threadpoolctl``
(an optional dependency) to limit BLAS to one thread; without it the work runs in one piece
and BLAS keeps its threads. The worker threads are started once and kept (a larger count
starts a larger pool in their place). Nothing here changes CPU affinity: where the threads
run is the scheduler's business (after the machine idles, Linux may briefly run two of them
on one core).

Fork safety: a child forked while (or after) the parent's workers existed has none of them
(fork copies only the calling thread), so after a fork the child forgets the parent's pool
and lock and starts its own on its first split. Of the parent's open regions the child keeps
only those of the thread that forked (counted per thread); if that thread had none, BLAS
gets its thread count back in the child.
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
_region_lock = threading.Lock()
_region_users = 0  # open blas_one_thread() regions, in all threads
_region_saved: list[int] = []  # each BLAS library's thread count before the first region opened
_depth = threading.local()  # .open: the regions this thread has open (a forked child keeps its own)


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
    """BLAS's thread count outside our regions: numpy's library where threadpoolctl can tell which it is, else the largest."""
    with _region_lock:
        counts = list(_region_saved) if _region_users else [c.get_num_threads() for c in blas.lib_controllers]
    mine = [n for c, n in zip(blas.lib_controllers, counts) if "numpy" in c.filepath]
    return max(mine or counts)


class blas_one_thread:
    """A region in which BLAS runs on one thread: ``with blas_one_thread(): ...``.

    Regions nest and overlap across threads: BLAS is limited when the first one opens and
    gets its previous thread counts back when the last one closes, unless someone else set
    a count in the meantime (that count stays). Without threadpoolctl it does nothing.
    """

    __slots__ = ("_libs",)

    def __enter__(self) -> blas_one_thread:
        global _region_users, _region_saved
        blas = _blas_controller()
        self._libs = None if blas is None else blas.lib_controllers
        if self._libs is not None:
            with _region_lock:
                if _region_users == 0:
                    saved = [lib.get_num_threads() for lib in self._libs]
                    try:
                        _set_all(self._libs, [1] * len(saved), where=saved)
                    except BaseException:
                        _set_all(self._libs, saved, where=[1] * len(saved))
                        raise
                    _region_saved = saved
                _region_users += 1
                _depth.open = getattr(_depth, "open", 0) + 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        global _region_users
        if self._libs is not None:
            with _region_lock:
                _region_users -= 1
                _depth.open -= 1
                if _region_users == 0:
                    _set_all(self._libs, _region_saved, where=[1] * len(_region_saved))


def _set_all(libs: list[Any], counts: list[int], *, where: list[int]) -> None:
    """Set each library's thread count to ``counts[i]`` if it is ``where[i]`` now (and differs)."""
    for lib, count, expected in zip(libs, counts, where):
        if count != expected and lib.get_num_threads() == expected:
            _set_blas_threads(lib, count)


def _set_blas_threads(lib: Any, count: int) -> None:
    """Set one BLAS library's thread count from whichever thread calls.

    threadpoolctl (3.8 and later) lets only the first thread that set OpenBLAS's count set it
    again and silently ignores the others; a region may open in any thread, so it takes
    control for this one call and then gives it up (and tries again if another thread took
    control in between).
    """
    release = getattr(type(lib), "clear_controlling_thread", None)
    for _ in range(3):
        if release is not None:
            release(force=True)
        lib.set_num_threads(count)
        if release is not None:
            release()
        if lib.get_num_threads() == count:
            return


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
    """Run ``work(lo, hi)`` on consecutive ranges of the n items, one range per thread, on one-thread BLAS.

    Args:
        work: computes items lo..hi-1; the ranges are disjoint, so it may write its
            items' slices of shared outputs. It must not raise BLAS's thread count.
        n: the number of items (images, or rows of a product).

    Returns:
        The results of ``work``, in order (one result when it ran in one piece).
    """
    global _workers
    parts = min(n, get_num_threads()) if _blas_controller() is not None else 1
    with blas_one_thread():
        if parts < 2 or not _lock.acquire(blocking=False):
            return [work(0, n)]
        try:
            if _workers is None or _workers._max_workers < parts - 1:
                if _workers is not None:
                    _workers.shutdown(wait=True)
                _workers = ThreadPoolExecutor(parts - 1, thread_name_prefix="tinygrad_conv")
            ranges = [(n * i // parts, n * (i + 1) // parts) for i in range(parts)]
            futures = [_workers.submit(work, lo, hi) for lo, hi in ranges[1:]]
            try:
                own = work(*ranges[0])
            finally:
                wait(futures)  # never leave a worker writing after an error here
            return [own] + [f.result() for f in futures]
        finally:
            _lock.release()


def _after_fork() -> None:
    global _lock, _workers, _region_lock, _region_users
    _lock, _workers = threading.Lock(), None  # the parent's workers do not exist here
    _region_lock = threading.Lock()
    mine = getattr(_depth, "open", 0)  # only the forking thread's regions exist in the child
    if _region_users and not mine and _blas not in (False, None):  # BLAS gets its count back
        libs = _blas.lib_controllers
        _set_all(libs, _region_saved, where=[1] * len(libs))
    _region_users = mine


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
