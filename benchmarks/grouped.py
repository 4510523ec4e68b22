"""Time grouped and depthwise conv2d forward+backward, float32: tinygrad_conv against a per-group loop and PyTorch.

    python benchmarks/grouped.py                     # every case
    python benchmarks/grouped.py --json out.json     # also write the medians
    python benchmarks/grouped.py --before benchmarks/results/grouped_before.json   # add a column from an earlier run

One fwd+bwd is ``conv2d(x, w, b, padding=..., groups=...).backward(g)`` with x, w and b
requiring gradients: the output and all three gradients. "loop" is the old algorithm, one
single-group kernel call per group on the kernels seam (forward and backward), kept here
as the baseline; "tc" is the conv op as it is now; "torch" is PyTorch with two threads.
Implementations run in alternating rounds so that a noisy neighbour slows them all alike;
the table gives median milliseconds per fwd+bwd over rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tinygrad_conv as tc
from tinygrad_conv import kernels
from tinygrad_conv.kernels.geometry import Geometry

try:
    import torch
except ImportError:  # torch is optional
    torch = None

# (name, input shape, out channels, kernel, padding, groups)
CASES = [
    ("dw3 digits", (16, 32, 4, 4), 32, 3, 1, 32),
    ("dw3 64x32", (32, 64, 32, 32), 64, 3, 1, 64),
    ("dw3 128x16", (32, 128, 16, 16), 128, 3, 1, 128),
    ("g4 64x16", (32, 64, 16, 16), 64, 3, 1, 4),
]


def arrays(shape: tuple, o: int, k: int, pad: int, groups: int, rng: np.random.Generator):
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal((o, shape[1] // groups, k, k)) * 0.3).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    ho, wo = shape[2] + 2 * pad - k + 1, shape[3] + 2 * pad - k + 1
    g = rng.standard_normal((shape[0], o, ho, wo)).astype(np.float32)
    return x, w, b, g


def tc_step(x, w, b, g, pad: int, groups: int) -> Callable[[], None]:
    xt, wt, bt = (tc.Tensor(a, requires_grad=True) for a in (x, w, b))

    def run() -> None:
        xt.grad = wt.grad = bt.grad = None
        tc.conv2d(xt, wt, bt, padding=pad, groups=groups).backward(g)

    return run


def loop_step(x, w, b, g, pad: int, groups: int) -> Callable[[], None]:
    """The old grouped path: one single-group kernel call per group, forward and backward, joined."""
    n, c, h, wd = x.shape
    o, cg, k, _ = w.shape
    sub = Geometry((n, c // groups, h, wd), (o // groups, cg, k, k), (o // groups,), (1, 1), (pad,) * 4, (1, 1))
    xs, ws, bs = np.split(x, groups, 1), np.split(w, groups, 0), np.split(b, groups)
    gs = [np.ascontiguousarray(part) for part in np.split(g, groups, 1)]

    def run() -> None:
        y = np.empty(g.shape, np.float32)
        saves = []
        for i in range(groups):
            y_i, saved = kernels.conv2d_forward(np.ascontiguousarray(xs[i]), ws[i], bs[i], sub)
            y[:, i * sub.o : (i + 1) * sub.o] = y_i
            saves.append(saved)
        grads = [kernels.conv2d_backward(gs[i], saves[i], sub, (True, True, True)) for i in range(groups)]
        np.concatenate([d[0] for d in grads], 1), np.concatenate([d[1] for d in grads]), np.concatenate([d[2] for d in grads])

    return run


def torch_step(x, w, b, g, pad: int, groups: int) -> Callable[[], None]:
    xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))
    gt = torch.from_numpy(g.copy())

    def run() -> None:
        xt.grad = wt.grad = bt.grad = None
        torch.nn.functional.conv2d(xt, wt, bt, padding=pad, groups=groups).backward(gt)

    return run


def median_ms(fns: list[Callable[[], None]], rounds: int, budget_s: float) -> list[float]:
    """Median milliseconds per call of each function, over alternating rounds."""
    calls = []
    for fn in fns:
        for _ in range(3):
            fn()
        start = time.perf_counter()
        fn()
        calls.append(max(1, min(500, int(budget_s / max(time.perf_counter() - start, 1e-7)))))
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, n, out in zip(fns, calls, times):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            out.append((time.perf_counter() - start) / n * 1e3)
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--budget", type=float, default=0.1, help="seconds per implementation per round")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--before", type=Path, default=None, help="an earlier --json run: its tc column as 'before'")
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(2)
    before = {r["case"]: r["tc_ms"] for r in json.loads(args.before.read_text())} if args.before else {}
    rng = np.random.default_rng(0)
    results = []
    head = f"{'case':<11} {'input':<18} {'groups':>6} {'loop ms':>8} {'tc ms':>8} {'torch ms':>9} {'loop/tc':>8} {'tc/torch':>9}"
    print(head + (f" {'before ms':>9} {'before/tc':>9}" if before else ""))
    for name, shape, o, k, pad, groups in CASES:
        data = arrays(shape, o, k, pad, groups, rng)
        fns = [loop_step(*data, pad, groups), tc_step(*data, pad, groups)]
        fns += [torch_step(*data, pad, groups)] if torch is not None else []
        ms = median_ms(fns, args.rounds, args.budget) + [float("nan")] * (torch is None)
        loop, ours, theirs = ms
        results.append({"case": name, "shape": shape, "out": o, "kernel": k, "groups": groups,
                        "loop_ms": loop, "tc_ms": ours, "torch_ms": theirs})
        line = (f"{name:<11} {str(shape):<18} {groups:>6} {loop:8.3f} {ours:8.3f} {theirs:9.3f} {loop / ours:8.2f} "
                f"{ours / theirs:9.2f}")
        if name in before:
            line += f" {before[name]:9.3f} {before[name] / ours:9.2f}"
        print(line)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
