"""A bounded pool of scratch arrays, so that a training loop does not fault in fresh pages every step.

Allocating a fresh multi-MiB array costs a page fault per 4 KiB on first touch (glibc hands
big blocks back to the OS when they are freed): on the project's machine that was most of
the time of a small conv. The pool keeps recent arrays by key (a tuple naming the array's
role and geometry, plus its shape and dtype) and hands one out again only when nobody else
holds it.

"Nobody holds it" is read from the reference count: a buffer that only the pool's list
refers to has the count that ``_scan`` sees for such a buffer, and any tensor, saved graph
or view (a view keeps its base alive) adds one. The count a free buffer shows is measured
at import through the very same function, not assumed: CPython versions count borrowed
references differently. Where the measurement cannot tell a held buffer from a free one
(another interpreter), reuse is off and every call allocates.

Bounds: the pool holds at most ``cap`` bytes (``settings.BUFFER_CAP``, 192 MiB, or the
``TINYGRAD_CONV_BUFFER_CAP`` environment variable) and drops the least recently used keys
beyond it; an array larger than the cap is never kept. A forked child starts with an empty
pool and a fresh lock.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict

import numpy as np

from . import settings


def _scan(buffers: list[np.ndarray]) -> list[int]:
    """The reference count of each buffer, as seen from this loop."""
    return [sys.getrefcount(buffer) for buffer in buffers]


def _measure() -> tuple[int, bool]:
    """(count of a free buffer, whether a held one shows more)."""
    free = _scan([np.empty(0)])[0]
    held = np.empty(0)
    return free, _scan([held])[0] > free


_FREE_REFS, _CAN_POOL = _measure()


class BufferPool:
    """Scratch arrays by key, reused once free, least recently used dropped beyond ``cap`` bytes.

    Args:
        cap: the most bytes the pool keeps.
        per_key: the most arrays kept per key.

    Attributes:
        enabled: whether arrays are reused (``set_buffer_reuse``).
        poison: a debugging aid for tests: fresh arrays that are not promised as zeros start
            as NaN instead of whatever memory held, so a read before a write shows.
    """

    def __init__(self, cap: int, per_key: int = settings.BUFFERS_PER_KEY):
        self.cap, self.per_key, self.enabled, self.poison = cap, per_key, _CAN_POOL, False
        self._entries: OrderedDict[tuple, list[np.ndarray]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple, shape: tuple, dtype: np.dtype, zeros_kept: bool = False) -> np.ndarray:
        """An array like ``np.empty(shape, dtype)``, reusing a free one of the same key.

        With ``zeros_kept`` a new array starts as zeros and a reused one comes back as it was
        left: for a key whose users all write the same region (the inside of a padded grid,
        say), the rest stays zero from one use to the next and is never filled again. So the
        key must name everything that fixes that region.
        """
        dtype = np.dtype(dtype)
        if not self.enabled:
            return self._fresh(shape, dtype, zeros_kept)
        key = (key, shape, dtype)
        with self._lock:
            buffers = self._entries.get(key)
            if buffers is not None:
                self._entries.move_to_end(key)
                for index, count in enumerate(_scan(buffers)):
                    if count <= _FREE_REFS:
                        return buffers[index]
            buffer = self._fresh(shape, dtype, zeros_kept)
            if buffer.nbytes > self.cap:
                return buffer
            if buffers is None:
                buffers = self._entries[key] = []
            if len(buffers) >= self.per_key:
                self._bytes -= buffers.pop(0).nbytes
            buffers.append(buffer)
            self._bytes += buffer.nbytes
            self._evict(keep=key)
            return buffer

    def _fresh(self, shape: tuple, dtype: np.dtype, zeros_kept: bool) -> np.ndarray:
        if zeros_kept:
            return np.zeros(shape, dtype)
        return np.full(shape, np.nan, dtype) if self.poison else np.empty(shape, dtype)

    def keys(self) -> list[tuple]:
        """The keys kept, least recently used first (each: (key, shape, dtype))."""
        with self._lock:
            return list(self._entries)

    def _evict(self, keep: tuple) -> None:
        """Drop the least recently used keys until the pool fits its cap (an array in use lives on with its holder)."""
        while self._bytes > self.cap and self._entries:
            key = next(iter(self._entries))
            if key != keep:
                self._bytes -= sum(b.nbytes for b in self._entries.pop(key))
                continue
            buffers = self._entries[key]  # only the key just used is left: keep its newest array
            if len(buffers) == 1:
                break
            self._bytes -= buffers.pop(0).nbytes

    def clear(self) -> None:
        """Drop every kept array."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def set_cap(self, cap: int) -> None:
        """Change the byte cap, dropping least recently used arrays beyond it."""
        with self._lock:
            self.cap = cap
            self._evict(keep=())

    def stats(self) -> dict[str, int]:
        """{"bytes": bytes kept, "buffers": arrays kept, "cap": the cap}."""
        with self._lock:
            return {"bytes": self._bytes, "buffers": sum(map(len, self._entries.values())), "cap": self.cap}

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent's may have been held by a thread that the child does not have
        self._entries.clear()
        self._bytes = 0


POOL = BufferPool(settings.env_int("TINYGRAD_CONV_BUFFER_CAP", settings.BUFFER_CAP))
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=POOL._after_fork)


def get_buffer(key: tuple, shape: tuple, dtype: np.dtype, zeros_kept: bool = False) -> np.ndarray:
    """``POOL.get``: a reusable scratch array (see ``BufferPool.get``)."""
    return POOL.get(key, shape, dtype, zeros_kept)


def result_buffer(key: tuple, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """An array for an op's result or gradient (uninitialized): from the pool when it is large.

    An array of ``settings.POOLED_MIN_BYTES`` or more is taken from the pool, so that an
    elementwise op's fresh result does not fault in a page per 4 KiB every step; a smaller
    one is a plain ``np.empty``. ``key`` names the op and the role of the array.
    """
    dtype = np.dtype(dtype)
    size = dtype.itemsize
    for extent in shape:
        size *= extent
    if size < settings.POOLED_MIN_BYTES:
        return np.empty(shape, dtype)
    return POOL.get(key, tuple(shape), dtype)


def row_padded(key: tuple, n: int, rows: int, cols: int, dtype: np.dtype, zeros_kept: bool = False) -> np.ndarray:
    """n (rows, cols) matrices, with spare cache lines per row where a row is a multiple of 4 KiB.

    A row stride that is a multiple of 4 KiB (a 32 x 32 float32 plane, say) maps all rows of a
    GEMM panel onto the same cache sets, and the GEMM then runs up to 4x slower; 3 spare cache
    lines per row break that alignment. Other rows are left unpadded, so each matrix is contiguous.
    """
    spare = 192 // np.dtype(dtype).itemsize if (cols * np.dtype(dtype).itemsize) % 4096 == 0 else 0
    return POOL.get(key, (n, rows, cols + spare), dtype, zeros_kept)[:, :, :cols]


def clear_buffers() -> None:
    """Drop every pooled buffer (arrays still in use stay alive with their holders)."""
    POOL.clear()


def set_buffer_reuse(enabled: bool) -> None:
    """Turn buffer reuse on or off; off, every conv allocates afresh and the pool is emptied.

    Raises:
        TypeError: if ``enabled`` is not a bool.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"set_buffer_reuse(enabled) takes a bool, got {enabled!r}")
    POOL.enabled = enabled and _CAN_POOL
    if not enabled:
        POOL.clear()


def set_buffer_cap(nbytes: int) -> None:
    """Set the pool's byte cap (0 keeps nothing).

    Raises:
        ValueError: for a negative or non-integer cap.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"set_buffer_cap(nbytes) takes an int >= 0, got {nbytes!r}")
    POOL.set_cap(nbytes)


def buffer_stats() -> dict[str, int]:
    """What the pool holds now: {"bytes", "buffers", "cap"}."""
    return POOL.stats()
