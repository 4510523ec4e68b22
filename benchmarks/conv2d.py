"""Time conv2d forward+backward: tinygrad_conv against the naive 4-loop reference and PyTorch.

    python benchmarks/conv2d.py                 # every shape, float32 and float64
    python benchmarks/conv2d.py --quick         # a fast smoke run
    python benchmarks/conv2d.py --json out.json --shapes b c --dtypes float32
    python benchmarks/conv2d.py --threads 1     # one BLAS/torch thread: steadier on a busy machine

Each implementation runs in the same process, in alternating rounds (tc, naive, torch,
tc, naive, torch, ...), so that a noisy neighbour slows them all alike; the table gives
medians over rounds. One fwd+bwd computes the output, the input gradient and the weight
gradient (and the bias gradient where there is a bias). GFLOP/s counts
3 * 2*N*O*C*kh*kw*H'*W' per fwd+bwd. "kr" is one training step of the kernel-recovery
demo (two convs, loss, backward, SGD step, zero_grad), autograd included.

torch allocates its outputs and gradients afresh on every call, and glibc serves an array
of the same size as one just freed with fresh pages again, a page fault per 4 KiB: torch's
shape b float32 takes 5 ms so, 1.5 ms without the faults. ``--keep-freed-memory`` tells
glibc (``mallopt``) to serve big arrays from its heap and keep freed memory instead; that
removes the faults; torch's other shapes vary by up to 25% between runs either way.
tinygrad_conv reuses its big buffers either way.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from naive import SeedConv, loop_conv2d, loop_conv2d_grads

import tinygrad_conv as tc

try:
    import torch
except ImportError:  # torch is optional
    torch = None


@dataclass(frozen=True)
class Shape:
    name: str
    x: tuple  # input shape: (H, W) or (N, C, H, W)
    w: tuple  # weight shape: (kh, kw) or (O, C, kh, kw)
    stride: int
    padding: int
    naive: bool  # small enough for the 4-loop reference

    def out_hw(self) -> tuple[int, int]:
        kh, kw = self.w[-2:]
        h, w = self.x[-2:]
        return ((h + 2 * self.padding - kh) // self.stride + 1, (w + 2 * self.padding - kw) // self.stride + 1)

    def flops(self) -> float:
        n, c = (1, 1) if len(self.x) == 2 else self.x[:2]
        o = 1 if len(self.w) == 2 else self.w[0]
        ho, wo = self.out_hw()
        return 3 * 2.0 * n * o * c * self.w[-2] * self.w[-1] * ho * wo


SHAPES = [
    Shape("a1", (20, 20), (3, 3), 1, 0, True),
    Shape("a2", (18, 18), (4, 4), 2, 0, True),
    Shape("b", (32, 3, 32, 32), (16, 3, 3, 3), 1, 1, False),
    Shape("c", (64, 16, 28, 28), (32, 16, 3, 3), 1, 1, False),
    Shape("d", (16, 32, 56, 56), (64, 32, 3, 3), 1, 1, False),
    Shape("e", (32, 16, 32, 32), (32, 16, 3, 3), 2, 1, False),
    Shape("f", (8, 64, 32, 32), (64, 64, 5, 5), 1, 2, False),
]
BIG = ("b", "c", "d", "e", "f")


# --- one fwd+bwd per implementation ---------------------------------------------
def tc_conv(shape: Shape, x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> Callable[[], None]:
    xt, wt, bt = (tc.Tensor(a, requires_grad=True) for a in (x, w, b))

    def run() -> None:
        xt.grad = wt.grad = bt.grad = None
        tc.conv2d(xt, wt, bt, stride=shape.stride, padding=shape.padding).backward(g)

    return run


def naive_conv(shape: Shape, x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> Callable[[], None]:
    x4, w4, g4 = x.reshape((1,) * (4 - x.ndim) + x.shape), w.reshape((1,) * (4 - w.ndim) + w.shape), g
    g4 = g.reshape((1, 1) + g.shape) if g.ndim == 2 else g
    strides, pads = (shape.stride, shape.stride), (shape.padding,) * 4

    def run() -> None:
        loop_conv2d(x4, w4, b.reshape(-1), strides, pads)
        loop_conv2d_grads(x4, w4, g4, strides, pads)

    return run


def torch_conv(shape: Shape, x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> Callable[[], None]:
    as_4d = (lambda a: a.reshape((1, 1) + a.shape)) if x.ndim == 2 else (lambda a: a)
    xt, wt = (torch.from_numpy(as_4d(a).copy()).requires_grad_() for a in (x, w))
    bt, gt = torch.from_numpy(b.reshape(-1).copy()).requires_grad_(), torch.from_numpy(as_4d(g).copy())

    def run() -> None:
        xt.grad = wt.grad = bt.grad = None
        torch.nn.functional.conv2d(xt, wt, bt, stride=shape.stride, padding=shape.padding).backward(gt)

    return run


# --- the kernel-recovery training step -----------------------------------------
K1 = np.array([[0, 0, 1], [0, 2, 0], [1, 0, 1]], dtype=float)
K2 = np.array([[1, 0, 0, 1], [1, 0, 0, 1], [0, -1, -1, 0], [0, 1, 1, 0]], dtype=float)


def kr_data(dtype: np.dtype) -> tuple:
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 1.0, (20, 20))
    with tc.no_grad():
        target = tc.conv2d(tc.conv2d(x, K1), K2, stride=2).data
    params = [rng.standard_normal((3, 3)), rng.standard_normal(()), rng.standard_normal((4, 4)), rng.standard_normal(())]
    return x.astype(dtype), target.astype(dtype), [p.astype(dtype) for p in params]


def tc_kr(dtype: np.dtype) -> Callable[[], None]:
    x, target, params = kr_data(dtype)
    x, target = tc.Tensor(x), tc.Tensor(target)
    w1, b1, w2, b2 = (tc.Tensor(p, requires_grad=True) for p in params)
    opt = tc.optim.SGD([w1, b1, w2, b2], lr=3e-5)

    def run() -> None:
        loss = (tc.conv2d(tc.conv2d(x, w1, b1), w2, b2, stride=2) - target).sum_of_squares()
        loss.backward()
        opt.step()
        opt.zero_grad()

    return run


def naive_kr(dtype: np.dtype) -> Callable[[], None]:
    x, target, (w1, b1, w2, b2) = kr_data(np.float64)
    layers = [SeedConv(w1, b1, 1), SeedConv(w2, b2, 2)]

    def run() -> None:
        error = 2 * (layers[1].forward(layers[0].forward(x)) - target)
        for layer in reversed(layers):
            error, dk, db = layer.backward(error)
            layer.kernel -= 3e-5 * dk
            layer.bias -= 3e-5 * db

    return run


def torch_kr(dtype: np.dtype) -> Callable[[], None]:
    x, target, params = kr_data(dtype)
    x, target = torch.from_numpy(x.reshape(1, 1, 20, 20)), torch.from_numpy(target.reshape(1, 1, 8, 8))
    w1, b1, w2, b2 = (torch.from_numpy(p.reshape(s)).requires_grad_() for p, s in zip(
        params, [(1, 1, 3, 3), (1,), (1, 1, 4, 4), (1,)]))
    opt = torch.optim.SGD([w1, b1, w2, b2], lr=3e-5)
    conv = torch.nn.functional.conv2d

    def run() -> None:
        loss = ((conv(conv(x, w1, b1), w2, b2, stride=2) - target) ** 2).sum()
        loss.backward()
        opt.step()
        opt.zero_grad()

    return run


# --- timing ----------------------------------------------------------------------
def calls_per_round(fn: Callable[[], None], budget_s: float) -> int:
    """How many calls fill ``budget_s``, timed after three warm-up calls (torch builds its oneDNN kernels then)."""
    for _ in range(3):
        fn()
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    return max(1, min(2000, int(budget_s / max(once, 1e-7))))


def time_round(fn: Callable[[], None], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def bench_case(makers: dict[str, Callable[[], Callable[[], None]]], rounds: int, budget_s: float,
               settle_s: float = 0.0) -> dict:
    fns = {name: make() for name, make in makers.items()}
    calls = {name: calls_per_round(fn, budget_s) for name, fn in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):  # alternate implementations within each round
        for name, fn in fns.items():
            time.sleep(settle_s)  # let the previous implementation's spinning worker threads go to sleep
            times[name].append(time_round(fn, calls[name]))
    return {name: statistics.median(t) for name, t in times.items()}


def run(shapes: list[str], dtypes: list[str], rounds: int, budget_s: float, with_naive: bool,
        settle_s: float = 0.0) -> list[dict]:
    results = []
    for dtype_name in dtypes:
        dtype = np.dtype(dtype_name)
        for shape in [s for s in SHAPES if s.name in shapes]:
            rng = np.random.default_rng(0)
            x, w = rng.standard_normal(shape.x).astype(dtype), rng.standard_normal(shape.w).astype(dtype)
            b = rng.standard_normal(() if len(shape.x) == 2 else (shape.w[0],)).astype(dtype)
            n_o = () if len(shape.x) == 2 else (shape.x[0], shape.w[0])
            g = rng.standard_normal(n_o + shape.out_hw()).astype(dtype)
            case = (shape, x, w, b, g)
            makers = {"tc": partial(tc_conv, *case)}
            if with_naive and shape.naive:
                makers["naive"] = partial(naive_conv, *case)
            if torch is not None:
                makers["torch"] = partial(torch_conv, *case)
            medians = bench_case(makers, rounds, budget_s, settle_s)
            results.append(_row(shape.name, dtype_name, medians, shape.flops()))
        if "kr" in shapes:
            makers = {"tc": partial(tc_kr, dtype)}
            if with_naive:
                makers["naive"] = partial(naive_kr, dtype)
            if torch is not None:
                makers["torch"] = partial(torch_kr, dtype)
            results.append(_row("kr", dtype_name, bench_case(makers, rounds, budget_s, settle_s), None))
    return results


def _row(name: str, dtype: str, medians: dict, flops: float | None) -> dict:
    row = {"shape": name, "dtype": dtype, **{f"{k}_ms": v * 1e3 for k, v in medians.items()}}
    if flops:
        row["gflops"] = flops / medians["tc"] / 1e9
    if "torch" in medians:
        row["ratio_to_torch"] = medians["tc"] / medians["torch"]
    if "naive" in medians:
        row["speedup_vs_naive"] = medians["naive"] / medians["tc"]
    return row


def keep_freed_memory() -> bool:
    """Ask glibc to serve big arrays from the heap and never hand freed memory back: no page faults for fresh arrays."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)) and bool(libc.mallopt(m_trim_threshold, 2**30))
    except (OSError, AttributeError):  # not glibc
        return False


def machine() -> dict:
    facts = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
             "processor": platform.processor(), "torch": None if torch is None else torch.__version__}
    try:
        from threadpoolctl import threadpool_info

        facts["blas"] = [{k: i.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                         for i in threadpool_info()]
    except ImportError:
        pass
    return facts


def print_table(results: list[dict]) -> None:
    print(f"{'shape':<6}{'dtype':<9}{'tc ms':>10}{'naive ms':>11}{'torch ms':>10}{'GFLOP/s':>9}{'tc/torch':>10}")
    for r in results:
        def cell(key: str, fmt: str, r: dict = r) -> str:
            return format(r[key], fmt) if key in r else "-"

        print(f"{r['shape']:<6}{r['dtype']:<9}{cell('tc_ms', '.4f'):>10}{cell('naive_ms', '.3f'):>11}"
              f"{cell('torch_ms', '.4f'):>10}{cell('gflops', '.1f'):>9}{cell('ratio_to_torch', '.2f'):>10}")
    for dtype in sorted({r["dtype"] for r in results}):
        ratios = [r["ratio_to_torch"] for r in results if r["dtype"] == dtype and r["shape"] in BIG
                  and "ratio_to_torch" in r]
        if ratios:
            geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
            print(f"{dtype}: geometric mean tc/torch over {len(ratios)} of b-f = {geo:.2f}, worst {max(ratios):.2f}")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=[s.name for s in SHAPES] + ["kr"],
                        choices=[s.name for s in SHAPES] + ["kr"])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds; the table shows medians")
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per implementation per round")
    parser.add_argument("--settle", type=float, default=0.3,
                        help="seconds of sleep before each timed round, so that the worker threads that the previous "
                             "implementation's BLAS/OpenMP left spinning do not slow the next one (0: no pause)")
    parser.add_argument("--no-naive", action="store_true", help="skip the 4-loop reference")
    parser.add_argument("--quick", action="store_true", help="smoke run: shapes a1 and kr, float64, 2 short rounds")
    parser.add_argument("--json", type=Path, help="also write the results and machine facts here")
    parser.add_argument("--threads", type=int, help="limit BLAS (via threadpoolctl) and torch to this many threads")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="tell glibc to keep freed memory, so that fresh arrays cost no page faults (see above)")
    args = parser.parse_args(argv)
    kept = keep_freed_memory() if args.keep_freed_memory else False
    limits = contextlib.nullcontext()
    if args.threads:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    if args.quick:
        args.shapes = [s for s in args.shapes if s in ("a1", "kr")] or ["a1"]
        args.dtypes, args.rounds, args.budget, args.settle = ["float64"], 2, 0.01, 0.0
    with limits:
        results = run(args.shapes, args.dtypes, args.rounds, args.budget, not args.no_naive, args.settle)
        facts = {**machine(), "threads_limit": args.threads, "rounds": args.rounds, "settle_s": args.settle,
                 "freed_memory_kept": kept}
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps({"machine": facts, "results": results}, indent=1))
    return results


if __name__ == "__main__":
    main()
