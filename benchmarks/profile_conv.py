"""Line-profile conv2d fwd+bwd on one benchmark shape: where the time goes, GEMM against copies.

    pip install line_profiler
    python benchmarks/profile_conv.py c --dtype float32 --reps 20

Prints line_profiler's per-line times for the forward, the backward (with their per-image
loops), im2col and col2im, on the one-piece route (``conv.SPLIT_MIN_FLOPS`` set to infinity),
then a summary that sorts each profiled line into GEMM (a line with ``@``) or copy/other.
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
from tinygrad_conv import conv, im2col

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conv2d import SHAPES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", choices=[s.name for s in SHAPES])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    try:
        from line_profiler import LineProfiler
    except ImportError:
        sys.exit("this script needs line_profiler: pip install line_profiler")
    shape = next(s for s in SHAPES if s.name == args.shape)
    rng = np.random.default_rng(0)
    dtype = np.dtype(args.dtype)
    x = tc.Tensor(rng.standard_normal(shape.x).astype(dtype), requires_grad=True)
    w = tc.Tensor(rng.standard_normal(shape.w).astype(dtype), requires_grad=True)
    n_o = () if len(shape.x) == 2 else (shape.x[0], shape.w[0])
    g = rng.standard_normal(n_o + shape.out_hw()).astype(dtype)

    def step() -> None:
        x.grad = w.grad = None
        tc.conv2d(x, w, stride=shape.stride, padding=shape.padding).backward(g)

    functions = [conv._conv2d_forward, conv._backward, im2col.im2col, im2col.col2im]
    profiler = LineProfiler(*functions)
    conv.SPLIT_MIN_FLOPS = float("inf")  # profile the one-piece route: the profiler follows one thread
    plain_run = conv._run
    conv._run = lambda images, plan: plain_run(profiler(images), plan)  # profile the per-image loops too
    step()
    start = time.perf_counter()
    profiler.runcall(lambda: [step() for _ in range(args.reps)])
    wall = (time.perf_counter() - start) / args.reps
    profiler.print_stats(output_unit=1e-3)
    stats = profiler.get_stats()
    gemm = copy = 0.0
    for (filename, _, name), lines in stats.timings.items():
        if name not in ("_conv2d_forward", "_backward", "images"):  # im2col/col2im run inside these lines
            continue
        source = Path(filename).read_text().splitlines()
        for lineno, _, total in lines:
            text = source[lineno - 1]
            if text.lstrip().startswith(("def ", "for ")) or "_run(" in text:
                continue
            if "@" in text:
                gemm += total * stats.unit
            else:
                copy += total * stats.unit
    per = 1e3 / args.reps
    print(f"shape {shape.name} {args.dtype}: per fwd+bwd, GEMM lines {gemm * per:.2f} ms, "
          f"copy and other lines {copy * per:.2f} ms, "
          f"whole step {wall * 1e3:.2f} ms (profiled)")


if __name__ == "__main__":
    main()
