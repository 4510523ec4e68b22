"""The engine's per-op overhead: microseconds per op above numpy's own call, forward and backward.

    python benchmarks/op_overhead.py                 # table + benchmarks/results/op_overhead.json
    python benchmarks/op_overhead.py --number 500 --repeat 5 --chain 200

On 1-element arrays numpy's work is nothing, so what is left is the cost of a call.
Each forward row times one tinygrad_conv op on 1-element tensors that require grad
(so the engine records a Node) against the numpy call that computes the same value,
and against the op's registered forward function called on the arrays directly:

- ``tc us``: ``tc.add(a, b)`` and friends, with the graph recorded;
- ``numpy us``: the plain numpy call (``np.add(x, y)``, ``np.maximum(x, 0)``, ...);
- ``overhead us`` = tc - numpy: what the framework adds to numpy (the issue's goal: < ~5 us);
- ``forward us``: the op's own forward function (``tc.get_op(name).forward``) on the arrays;
- ``engine us`` = tc - forward: argument handling, the Tensor and the Node (``tensor.apply``).

The backward rows run ``loss.backward()`` over a chain of ``--chain`` such ops (add, mul
and relu in turn, each with a constant operand) and divide by the chain's length; their
numpy reference applies the same vjp products by hand, one numpy call per op.
Timings are the median over ``--repeat`` runs of the mean over ``--number`` calls.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tinygrad_conv as tc  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_US = 5.0  # issue 13: the engine should add less than about 5 us per op


@dataclass(frozen=True)
class Row:
    """One line of the table, in microseconds per op (None where it does not apply)."""

    name: str
    tc_us: float
    numpy_us: float
    forward_us: float | None = None

    @property
    def overhead_us(self) -> float:
        """What tinygrad_conv adds to numpy's own call."""
        return self.tc_us - self.numpy_us

    @property
    def engine_us(self) -> float | None:
        """What the engine adds to the op's own forward function."""
        return None if self.forward_us is None else self.tc_us - self.forward_us

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.name, "tc_us": self.tc_us, "numpy_us": self.numpy_us, "overhead_us": self.overhead_us,
                "forward_us": self.forward_us, "engine_us": self.engine_us, "meets_goal": self.overhead_us < GOAL_US}


def per_call_us(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Median over ``repeat`` runs of the mean time of ``number`` calls of ``fn``, in microseconds."""
    fn()  # warm up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs) * 1e6


# --- forward: one op --------------------------------------------------------------------
def leaves() -> tuple[tc.Tensor, tc.Tensor]:
    """Two 1-element float64 tensors that require grad (positive, so relu passes them through)."""
    return tc.Tensor(np.array([1.5]), requires_grad=True), tc.Tensor(np.array([0.5]), requires_grad=True)


def forward_rows(number: int, repeat: int) -> list[Row]:
    """add, mul and relu with the graph recorded, and add under ``no_grad``, against numpy."""
    a, b = leaves()
    x, y = a.data, b.data
    add_fw, mul_fw, relu_fw = (tc.get_op(name).forward for name in ("add", "mul", "relu"))
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[], Any]]] = [
        ("add", lambda: tc.add(a, b), lambda: np.add(x, y), lambda: add_fw(x, y)),
        ("mul", lambda: tc.mul(a, b), lambda: np.multiply(x, y), lambda: mul_fw(x, y)),
        ("relu", lambda: tc.relu(a), lambda: np.maximum(x, 0.0), lambda: relu_fw(x, **tc.OPS["relu"].defaults)),
        ("a + b (operator)", lambda: a + b, lambda: x + y, lambda: add_fw(x, y)),
    ]
    rows = [Row(name, per_call_us(op, number, repeat), per_call_us(ref, number, repeat),
                per_call_us(own, number, repeat)) for name, op, ref, own in cases]

    def add_no_grad() -> None:
        with tc.no_grad():
            for _ in range(100):
                tc.add(a, b)

    def numpy_100() -> None:
        for _ in range(100):
            np.add(x, y)

    rows.append(Row("add under no_grad", per_call_us(add_no_grad, max(1, number // 100), repeat) / 100,
                    per_call_us(numpy_100, max(1, number // 100), repeat) / 100,
                    per_call_us(lambda: add_fw(x, y), number, repeat)))
    return rows


# --- backward: a chain of small ops ------------------------------------------------------
def build_chain(length: int) -> tuple[tc.Tensor, tc.Tensor]:
    """(leaf, end) of a chain of ``length`` ops: add, mul, relu in turn, each with a constant operand."""
    leaf = tc.Tensor(np.array([1.5]), requires_grad=True)
    one, scale = tc.Tensor(np.array([1.0])), tc.Tensor(np.array([1.0001]))
    out = leaf
    for index in range(length):
        kind = index % 3
        out = tc.add(out, one) if kind == 0 else tc.mul(out, scale) if kind == 1 else tc.relu(out)
    return leaf, out


def backward_us_per_op(length: int, repeat: int) -> float:
    """Median over ``repeat`` backward passes through a fresh chain, per op (building the chain is not timed)."""
    runs = []
    for _ in range(repeat + 1):  # the first one warms up
        leaf, out = build_chain(length)
        start = time.perf_counter()
        out.backward()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs[1:]) / length * 1e6


def numpy_backward_us_per_op(length: int, repeat: int) -> float:
    """The chain's vjps by hand in numpy: g stays for add, g * scale for mul, g * mask for relu."""
    scale, mask = np.array([1.0001]), np.array([True])

    def run() -> None:
        g = np.ones(1)
        for index in range(length - 1, -1, -1):
            kind = index % 3
            g = g if kind == 0 else g * scale if kind == 1 else g * mask

    return per_call_us(run, 1, repeat) / length


def chain_rows(length: int, repeat: int) -> list[Row]:
    """Building the chain (forward, per op) and its backward (per op), against numpy."""
    one = np.array([1.0])

    def numpy_forward() -> None:
        x, scale = np.array([1.5]), np.array([1.0001])
        for index in range(length):
            kind = index % 3
            x = np.add(x, one) if kind == 0 else np.multiply(x, scale) if kind == 1 else np.maximum(x, 0.0)

    reps = max(repeat, 5)
    return [
        Row(f"chain of {length}: forward", per_call_us(lambda: build_chain(length), 1, reps) / length,
            per_call_us(numpy_forward, 1, reps) / length),
        Row(f"chain of {length}: backward", backward_us_per_op(length, reps), numpy_backward_us_per_op(length, reps)),
    ]


# --- output -------------------------------------------------------------------------------
def format_table(rows: list[Row]) -> str:
    """op | tc us | numpy us | overhead us | forward us | engine us | < goal."""
    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [f"{'op':<28}{'tc us':>9}{'numpy us':>10}{'overhead':>10}{'forward':>9}{'engine':>9}  < {GOAL_US:g} us"]
    for row in rows:
        lines.append(f"{row.name:<28}{row.tc_us:>9.2f}{row.numpy_us:>10.2f}{row.overhead_us:>10.2f}"
                     f"{cell(row.forward_us):>9}{cell(row.engine_us):>9}  {'yes' if row.overhead_us < GOAL_US else 'no'}")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """The CPU, Python and numpy the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "python": platform.python_version(), "python_implementation": platform.python_implementation(),
            "numpy": np.__version__, "tinygrad_conv": tc.__version__}


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per timed run")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs; the median is reported")
    parser.add_argument("--chain", type=int, default=1000, help="ops in the backward chain")
    parser.add_argument("--json", type=Path, default=RESULTS / "op_overhead.json")
    args = parser.parse_args(argv)
    if min(args.number, args.repeat, args.chain) < 1:
        parser.error("--number, --repeat and --chain must be >= 1")
    rows = forward_rows(args.number, args.repeat) + chain_rows(args.chain, args.repeat)
    print(f"microseconds per op on 1-element float64 arrays (goal: < {GOAL_US:g} us above numpy)\n")
    print(format_table(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": machine(), "goal_us": GOAL_US, "number": args.number,
                                     "repeat": args.repeat, "chain": args.chain,
                                     "results": [row.as_dict() for row in rows]}, indent=1) + "\n")
    print(f"wrote {args.json}")
    return rows


if __name__ == "__main__":
    main()
