"""Varying shapes do not grow resident memory without bound: the pool's byte cap holds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import numpy as np
    import tinygrad_conv as tc

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    def step(rng, n, c, h):
        x = tc.Tensor(rng.standard_normal((n, c, h, h)).astype(np.float32), requires_grad=True)
        w = tc.Tensor(rng.standard_normal((8, c, 3, 3)).astype(np.float32), requires_grad=True)
        tc.conv2d(x, w, padding=1).sum_of_squares().backward()

    rng = np.random.default_rng(0)
    for _ in range(3):
        step(rng, 8, 8, 64)  # the largest step, warm
    base = rss()
    for _ in range(STEPS):
        step(rng, int(rng.integers(2, 9)), int(rng.integers(1, 9)), int(rng.integers(16, 65)))
    print((rss() - base) / 2**20, tc.kernels.buffer_stats()["bytes"] / 2**20)
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads /proc/self/statm")
def test_random_shapes_stay_within_the_cap():
    cap_mib, steps = 16, 200
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TINYGRAD_CONV_BUFFER_CAP": f"{cap_mib}M"}
    result = subprocess.run([sys.executable, "-c", SCRIPT.replace("STEPS", str(steps))], capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    growth, pooled = map(float, result.stdout.split())
    assert pooled <= cap_mib
    assert growth <= cap_mib + 48, f"resident memory grew {growth:.0f} MiB over {steps} random-shape steps"
