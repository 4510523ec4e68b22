"""Peak memory of one float32 conv2d fwd+bwd above the tensors, as a multiple of the im2col matrix.

    python benchmarks/memory.py c        # shapes b, c, d, e, f; run each in a fresh process
"""
import sys
import tracemalloc

import numpy as np

import tinygrad_conv as tc

SH = {"b": ((32, 3, 32, 32), (16, 3, 3, 3), 1, 1), "c": ((64, 16, 28, 28), (32, 16, 3, 3), 1, 1),
      "d": ((16, 32, 56, 56), (64, 32, 3, 3), 1, 1), "e": ((32, 16, 32, 32), (32, 16, 3, 3), 2, 1),
      "f": ((8, 64, 32, 32), (64, 64, 5, 5), 1, 2)}
name = sys.argv[1]
xs, ws, s, p = SH[name]
rng = np.random.default_rng(0)
tracemalloc.start()
x = tc.Tensor(rng.standard_normal(xs).astype(np.float32), requires_grad=True)
w = tc.Tensor(rng.standard_normal(ws).astype(np.float32), requires_grad=True)
y = tc.conv2d(x, w, stride=s, padding=p)
g = np.ones(y.shape, np.float32)
y.backward(g)
_, peak_bwd = tracemalloc.get_traced_memory()
n, c, h, wd = xs; o, _, k, _ = ws
ho = (h + 2 * p - k) // s + 1
cols = c * k * k * n * ho * ho * 4
tensors = (x.data.nbytes * 2 + w.data.nbytes * 2 + y.data.nbytes + 2 * g.nbytes)
tracemalloc.stop()
# peak during backward includes y, cols (saved), g; compare to tensors
print(f"{name}: im2col {cols/2**20:.1f} MiB, tensors {tensors/2**20:.1f} MiB, traced peak in bwd {peak_bwd/2**20:.1f} MiB, (peak - tensors)/im2col = {(peak_bwd - tensors)/cols:.2f}")
