"""A per-op profiler: where does a training step's time go?

    with tc.profile() as prof:
        loss = model(x).cross_entropy(y)
        loss.backward()
    print(prof.table())                        # like torch.profiler's key_averages().table()
    tc.viz.draw_graph(loss, profile=prof)      # op boxes coloured by their time

It times each op's forward and its vjp in the backward, in the thread that entered the
``with`` block (other threads are not recorded), and keeps a time per graph node so that
the graph picture can show where a step goes. The engine calls it through one slot of its
per-thread state, so the tensor core never imports this module.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

from .tensor import Node, swap_profiler


@dataclass
class OpStats:
    """The calls and seconds recorded for one op.

    Attributes:
        name: the op's registered name.
        forward_calls: how many times its forward ran.
        forward_seconds: their total time.
        backward_calls: how many times its vjp ran.
        backward_seconds: their total time.
    """

    name: str
    forward_calls: int = 0
    forward_seconds: float = 0.0
    backward_calls: int = 0
    backward_seconds: float = 0.0

    @property
    def total_seconds(self) -> float:
        """Forward plus backward time."""
        return self.forward_seconds + self.backward_seconds


class profile:
    """Record each op's forward and backward time and call count while the ``with`` block runs.

    Profiles nest: an inner profile records its block, and the outer one resumes after it.

    Attributes:
        clock: the timer, ``time.perf_counter``.
    """

    clock = staticmethod(time.perf_counter)

    def __init__(self) -> None:
        self.stats: dict[str, OpStats] = {}
        self._node_seconds: weakref.WeakKeyDictionary[Node, float] = weakref.WeakKeyDictionary()
        self._previous: list[Any] = []
        self._started = 0.0
        self.wall_seconds = 0.0

    def __enter__(self) -> profile:
        self._previous.append(swap_profiler(self))
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.wall_seconds += time.perf_counter() - self._started
        swap_profiler(self._previous.pop())

    def _stats(self, op: Any) -> OpStats:
        stats = self.stats.get(op.name)
        if stats is None:
            stats = self.stats[op.name] = OpStats(op.name)
        return stats

    def record_forward(self, op: Any, node: Node | None, seconds: float) -> None:
        """Called by the engine after an op's forward (``node`` is None when no graph was recorded)."""
        stats = self._stats(op)
        stats.forward_calls += 1
        stats.forward_seconds += seconds
        if node is not None:
            self._node_seconds[node] = seconds

    def record_backward(self, op: Any, node: Node, seconds: float) -> None:
        """Called by the engine after an op's vjp."""
        stats = self._stats(op)
        stats.backward_calls += 1
        stats.backward_seconds += seconds
        self._node_seconds[node] = self._node_seconds.get(node, 0.0) + seconds

    def node_seconds(self, node: Node) -> float | None:
        """The forward plus backward time of one graph node, or None if it was not recorded."""
        return self._node_seconds.get(node)

    def key_averages(self, sort_by: str = "total") -> list[OpStats]:
        """The per-op statistics, sorted by "total", "forward", "backward", "calls" or "name".

        Raises:
            ValueError: for another ``sort_by``.
        """
        keys = {"total": lambda s: -s.total_seconds, "forward": lambda s: -s.forward_seconds,
                "backward": lambda s: -s.backward_seconds, "calls": lambda s: -s.forward_calls,
                "name": lambda s: s.name}
        if sort_by not in keys:
            raise ValueError(f"sort_by must be one of {sorted(keys)}, got {sort_by!r}")
        return sorted(self.stats.values(), key=keys[sort_by])

    @property
    def op_seconds(self) -> float:
        """The time spent inside ops (forward and vjp), over all ops."""
        return sum(s.total_seconds for s in self.stats.values())

    def table(self, sort_by: str = "total", row_limit: int | None = None) -> str:
        """A text table of the ops, most expensive first, like torch.profiler's ``key_averages().table()``.

        The last row compares the ops' time with the wall time of the block; the rest
        is the engine, Python and whatever else the block did.

        Args:
            sort_by: as for ``key_averages``.
            row_limit: show at most this many ops.

        Returns:
            The table as a string.
        """
        rows = self.key_averages(sort_by)[:row_limit]
        total = self.op_seconds or 1.0
        header = f"{'op':<22}{'calls':>7}{'forward ms':>12}{'backward ms':>13}{'total ms':>11}{'% of ops':>10}"
        lines = [header, "-" * len(header)]
        for s in rows:
            lines.append(f"{s.name:<22}{s.forward_calls:>7}{s.forward_seconds * 1e3:>12.3f}"
                         f"{s.backward_seconds * 1e3:>13.3f}{s.total_seconds * 1e3:>11.3f}"
                         f"{100 * s.total_seconds / total:>9.1f}%")
        lines.append("-" * len(header))
        lines.append(f"ops: {self.op_seconds * 1e3:.3f} ms of {self.wall_seconds * 1e3:.3f} ms in the block")
        return "\n".join(lines)
