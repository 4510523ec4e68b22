"""Peak memory of one float32 conv2d fwd+bwd above the tensors, as a multiple of the im2col matrix.

    python benchmarks/memory.py c        # one of b, c, d, e, f; each run is a fresh process

The tensors are x, dx, w, dw, y and the seed g (``backward(g)`` does not copy g).
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conv2d import SHAPES

import tinygrad_conv as tc


def main(name: str) -> None:
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


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "c")
