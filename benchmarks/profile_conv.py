"""Line-profile conv2d fwd+bwd on one benchmark shape: where one core's time goes, GEMM against copies.

    pip install line_profiler
    python benchmarks/profile_conv.py c --dtype float32 --reps 20

It profiles what one core does in the split route: half the batch (the images one core
gets), one thread (``tc.kernels.set_num_threads(1)``), blocks of ``Tuning.chunk`` elements.
line_profiler times every line of the forward's and the backward's per-block loops
(``kernels/blocked.py``: ``_forward_images`` and ``_backward_images``). The
summary sorts those lines into GEMM (a line that calls ``np.matmul``) and copies/adds
(everything else), and gives the unprofiled wall time of the same step for comparison.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tinygrad_conv as tc
from tinygrad_conv.kernels import blocked

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conv2d import SHAPES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", choices=[s.name for s in SHAPES if not s.naive])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    try:
        from line_profiler import LineProfiler
        from threadpoolctl import threadpool_limits
    except ImportError:
        sys.exit("this script needs line_profiler and threadpoolctl: pip install line_profiler threadpoolctl")
    shape = next(s for s in SHAPES if s.name == args.shape)
    rng, dtype = np.random.default_rng(0), np.dtype(args.dtype)
    half = (shape.x[0] // 2,) + shape.x[1:]  # one core's images
    x = tc.Tensor(rng.standard_normal(half).astype(dtype), requires_grad=True)
    w = tc.Tensor(rng.standard_normal(shape.w).astype(dtype), requires_grad=True)
    b = tc.Tensor(rng.standard_normal(shape.w[0]).astype(dtype), requires_grad=True)
    g = rng.standard_normal((half[0], shape.w[0]) + shape.out_hw()).astype(dtype)

    def steps() -> None:
        for _ in range(args.reps):
            x.grad = w.grad = b.grad = None
            tc.conv2d(x, w, b, stride=shape.stride, padding=shape.padding).backward(g)

    profiler = LineProfiler()  # the loops only: tracing col2im_wide's own lines would inflate it
    profiler.add_function(blocked._forward_images)
    profiler.add_function(blocked._backward_images)
    tc.kernels.set_num_threads(1)
    with threadpool_limits(1):
        steps()
        start = time.perf_counter()
        steps()
        wall = (time.perf_counter() - start) / args.reps
        profiler.runcall(steps)
    profiler.print_stats(output_unit=1e-3)
    gemm = other = 0.0
    stats = profiler.get_stats()
    for (filename, _, name), lines in stats.timings.items():
        source = Path(filename).read_text().splitlines()
        for lineno, _, total in lines:
            text = source[lineno - 1].strip()
            if text.startswith(("def ", "for ")):
                continue
            if "np.matmul" in text:
                gemm += total * stats.unit
            else:
                other += total * stats.unit
    if gemm == 0:
        sys.exit("no GEMM line was timed: this shape takes the one-image route, which has no per-block loop")
    per = 1e3 / args.reps
    flops = shape.flops() / 2  # the three GEMMs of half the batch
    print(f"shape {shape.name} {args.dtype}, one core, {half[0]} images: per fwd+bwd, GEMM lines {gemm * per:.2f} ms "
          f"({flops / (gemm / args.reps) / 1e9:.0f} GFLOP/s), copy/add lines {other * per:.2f} ms; "
          f"whole step {wall * 1e3:.2f} ms unprofiled")


if __name__ == "__main__":
    main()
