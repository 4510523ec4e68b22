"""Grad mode, per thread: whether ops record the graph, and the slot a profiler uses.

Each thread starts with grad mode on, as in PyTorch, and ``no_grad()`` in one thread never
touches another: the state lives in a ``threading.local``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np


class _ThreadState(threading.local):
    """Per-thread engine state: each thread starts with grad mode on, as in PyTorch."""

    grad_enabled = True
    profiler: Any = None  # set by tinygrad_conv.profiler.profile while it records this thread's ops


_thread = _ThreadState()


class set_grad_enabled:
    """Turn graph recording on or off in this thread; other threads are never affected.

    Use it as a function (``set_grad_enabled(False)``), as a context manager
    (``with set_grad_enabled(False): ...`` restores the previous mode on exit), or as a
    decorator (``@set_grad_enabled(False)``).

    Args:
        mode: True to record the graph, False not to.

    Raises:
        TypeError: if ``mode`` is not a bool.
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        self._previous, self._mode = _thread.grad_enabled, bool(mode)
        _thread.grad_enabled = self._mode

    def __enter__(self) -> None:
        _thread.grad_enabled = self._mode

    def __exit__(self, *exc_info: object) -> None:
        _thread.grad_enabled = self._previous

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        _thread.grad_enabled = self._previous  # as a decorator, creating it changes nothing
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            previous = _thread.grad_enabled
            _thread.grad_enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _thread.grad_enabled = previous

        return wrapper


class _GradMode:
    """A context manager (and decorator) that sets grad mode in this thread and restores it on exit."""

    _mode = True

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack, so that one instance can be entered while active

    def __enter__(self) -> None:
        self._previous.append(_thread.grad_enabled)
        _thread.grad_enabled = self._mode

    def __exit__(self, *exc_info: object) -> None:
        _thread.grad_enabled = self._previous.pop()

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager (and decorator) in which ops record no graph, in this thread only."""

    _mode = False


class enable_grad(_GradMode):
    """Context manager (and decorator) that turns graph recording back on, in this thread only."""

    _mode = True


def swap_profiler(profiler: Any) -> Any:
    """Make ``profiler`` record this thread's ops (None: none); return the one it replaces.

    The engine calls ``profiler.record_forward(op, node, seconds)`` after each forward and
    ``profiler.record_backward(op, node, seconds)`` after each vjp, timed with ``profiler.clock``.
    """
    previous, _thread.profiler = _thread.profiler, profiler
    return previous


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread."""
    return _thread.grad_enabled
