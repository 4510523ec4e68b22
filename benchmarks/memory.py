"""Memory of conv2d fwd+bwd: one shape's peak as a multiple of the im2col matrix, or RSS growth over random shapes.

    python benchmarks/memory.py c               # one of b, c, d, e, f; each run is a fresh process
    python benchmarks/memory.py random          # 600 training steps on random shapes: resident memory growth
    python benchmarks/memory.py random --steps 600 --cap 256M

For one shape: the peak of ``tracemalloc`` over one float32 fwd+bwd, minus the tensors (x, dx,
w, dw, y and the seed g; ``backward(g)`` does not copy g), over the im2col matrix's size.

For random shapes: the resident set (``/proc/self/statm``) after the largest step, run three
times, and after ``--steps`` steps on shapes drawn up to that size; the buffer pool's byte cap
(``TINYGRAD_CONV_BUFFER_CAP``, default 256 MiB) bounds the growth.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conv2d import SHAPES

import tinygrad_conv as tc


def one_shape(name: str) -> None:
    shape = {s.name: s for s in SHAPES}[name]
    rng = np.random.default_rng(0)
    tracemalloc.start()
    x = tc.Tensor(rng.standard_normal(shape.x).astype(np.float32), requires_grad=True)
    w = tc.Tensor(rng.standard_normal(shape.w).astype(np.float32), requires_grad=True)
    y = tc.conv2d(x, w, stride=shape.stride, padding=shape.padding)
    g = np.ones(y.shape, np.float32)
    y.backward(g)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    n, c = shape.x[:2]
    kh, kw = shape.w[2:]
    cols = c * kh * kw * n * y.shape[2] * y.shape[3] * 4
    tensors = 2 * x.data.nbytes + 2 * w.data.nbytes + y.data.nbytes + g.nbytes
    mib = 2**20
    print(f"{name}: im2col {cols / mib:.1f} MiB, tensors {tensors / mib:.1f} MiB, peak {peak / mib:.1f} MiB, "
          f"(peak - tensors) / im2col = {(peak - tensors) / cols:.2f}")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def random_shapes(steps: int) -> None:
    rng = np.random.default_rng(0)

    def step(n: int, c: int, o: int, h: int, k: int) -> None:
        x = tc.Tensor(rng.standard_normal((n, c, h, h)).astype(np.float32), requires_grad=True)
        w = tc.Tensor(rng.standard_normal((o, c, k, k)).astype(np.float32), requires_grad=True)
        tc.conv2d(x, w, padding=k // 2).sum_of_squares().backward()

    start = rss()
    for _ in range(3):
        step(32, 16, 32, 64, 3)  # the largest step
    largest, mib, begin = rss(), 2**20, time.perf_counter()
    worst = largest
    for i in range(steps):
        step(int(rng.integers(1, 33)), int(rng.integers(1, 17)), int(rng.integers(1, 33)), int(rng.integers(8, 65)),
             int(rng.choice([1, 3, 5])))
        worst = max(worst, rss())
    print(f"RSS: {start / mib:.0f} MiB at the start, {largest / mib:.0f} MiB after the largest step, "
          f"{rss() / mib:.0f} MiB after {steps} random-shape steps (highest {worst / mib:.0f}; "
          f"{(worst - largest) / mib:+.0f} MiB above the largest step) in {time.perf_counter() - begin:.1f} s; "
          f"pool {tc.kernels.buffer_stats()['bytes'] / mib:.0f} MiB of a {tc.kernels.buffer_stats()['cap'] / mib:.0f} MiB cap")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="c", choices=[s.name for s in SHAPES if not s.naive] + ["random"])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--cap", help="the buffer pool's byte cap, e.g. 256M (default: TINYGRAD_CONV_BUFFER_CAP or 256M)")
    args = parser.parse_args()
    if args.cap:
        tc.kernels.set_buffer_cap(_parse(args.cap))
    if args.what == "random":
        random_shapes(args.steps)
    else:
        one_shape(args.what)


def _parse(text: str) -> int:
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


if __name__ == "__main__":
    main()
