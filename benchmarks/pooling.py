"""Time max_pool2d and avg_pool2d forward+backward: tinygrad_conv against PyTorch (when installed).

    python benchmarks/pooling.py                  # every case
    python benchmarks/pooling.py --json out.json  # also write the medians
    python benchmarks/pooling.py --threads 1      # one torch thread

One fwd+bwd is ``pool(x).backward(g)`` with a fixed output gradient ``g``. Implementations
run in alternating rounds (tc, torch, tc, torch, ...) so that a noisy machine slows both
alike; the table gives the median milliseconds per fwd+bwd over rounds.
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

try:
    import torch
except ImportError:  # torch is optional
    torch = None

# (name, input shape, dtype, kernel_size, stride, padding)
CASES = [
    ("vgg k2", (32, 32, 32, 32), np.float32, 2, None, 0),
    ("lenet k2", (64, 6, 28, 28), np.float32, 2, None, 0),
    ("k3 s2 p1", (32, 32, 32, 32), np.float32, 3, 2, 1),
    ("vgg k2 f64", (32, 32, 32, 32), np.float64, 2, None, 0),
]


def tc_step(kind: str, x: np.ndarray, g: np.ndarray, k: int, s: int | None, p: int) -> Callable[[], None]:
    fn = tc.max_pool2d if kind == "max" else tc.avg_pool2d
    xt = tc.Tensor(x, requires_grad=True)

    def run() -> None:
        xt.grad = None
        fn(xt, k, s, p).backward(g)

    return run


def torch_step(kind: str, x: np.ndarray, g: np.ndarray, k: int, s: int | None, p: int) -> Callable[[], None]:
    fn = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    xt, gt = torch.from_numpy(x.copy()).requires_grad_(), torch.from_numpy(g.copy())

    def run() -> None:
        xt.grad = None
        fn(xt, k, s, p).backward(gt)

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
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--budget", type=float, default=0.05, help="seconds per implementation per round")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    results = []
    print(f"{'case':<12} {'pool':<4} {'input':<18} {'dtype':<8} {'tc ms':>8} {'torch ms':>9} {'tc/torch':>9}")
    for name, shape, dtype, k, s, p in CASES:
        x = rng.standard_normal(shape).astype(dtype)
        for kind in ("max", "avg"):
            with tc.no_grad():
                out_shape = (tc.max_pool2d if kind == "max" else tc.avg_pool2d)(x, k, s, p).shape
            g = rng.standard_normal(out_shape).astype(dtype)
            fns = [tc_step(kind, x, g, k, s, p)] + ([torch_step(kind, x, g, k, s, p)] if torch is not None else [])
            ms = median_ms(fns, args.rounds, args.budget)
            ours, theirs = ms[0], (ms[1] if len(ms) > 1 else float("nan"))
            results.append({"case": name, "pool": kind, "shape": shape, "dtype": np.dtype(dtype).name,
                            "tc_ms": ours, "torch_ms": theirs})
            print(f"{name:<12} {kind:<4} {str(shape):<18} {np.dtype(dtype).name:<8} {ours:8.3f} {theirs:9.3f} "
                  f"{ours / theirs:9.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
