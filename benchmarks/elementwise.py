"""Elementwise forward and forward+backward times on one float32 (32, 32, 32, 32) tensor (1M elements), vs PyTorch.

    python benchmarks/elementwise.py             # every op
    python benchmarks/elementwise.py relu gelu   # some of them

Each figure is the best of 50 runs, in microseconds: on a shared machine the best is the steadiest figure.
"fwd" records the graph (the inputs require grad);
"fwd+bwd" adds ``backward(g)`` with a fixed seed ``g``, and includes the engine's work (the leaves' ``.grad``).
PyTorch runs on the same number of threads as numpy's elementwise loops: one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

import tinygrad_conv as tc

SHAPE = (32, 32, 32, 32)
OPS: dict[str, tuple[int, str, str]] = {  # name: (number of inputs, tinygrad_conv expression, torch expression)
    "relu": (1, "tc.relu(a)", "torch.relu(a)"),
    "sigmoid": (1, "tc.sigmoid(a)", "torch.sigmoid(a)"),
    "tanh": (1, "tc.tanh(a)", "torch.tanh(a)"),
    "add": (2, "a + b", "a + b"),
    "mul": (2, "a * b", "a * b"),
    "exp": (1, "tc.exp(a)", "torch.exp(a)"),
    "abs": (1, "tc.abs(a)", "torch.abs(a)"),
    "clamp": (1, "tc.clamp(a, -0.5, 0.5)", "torch.clamp(a, -0.5, 0.5)"),
    "leaky_relu": (1, "tc.leaky_relu(a)", "torch.nn.functional.leaky_relu(a)"),
    "gelu": (1, "tc.gelu(a)", "torch.nn.functional.gelu(a)"),
    "silu": (1, "tc.silu(a)", "torch.nn.functional.silu(a)"),
    "softplus": (1, "tc.softplus(a)", "torch.nn.functional.softplus(a)"),
}


def best_us(fn: Callable[[], object], repeat: int = 50) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1e6


def bench_tc(arity: int, expr: str, arrays: list[np.ndarray], g: np.ndarray) -> tuple[float, float]:
    tensors = [tc.Tensor(a, requires_grad=True) for a in arrays[:arity]]
    code = compile(expr, expr, "eval")
    names = dict(zip("ab", tensors), tc=tc)

    def forward() -> object:
        return eval(code, names)  # noqa: S307 - the expressions above

    def step() -> None:
        for t in tensors:
            t.grad = None
        forward().backward(g)

    return best_us(forward), best_us(step)


def bench_torch(arity: int, expr: str, arrays: list[np.ndarray], g: np.ndarray) -> tuple[float, float] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays[:arity]]
    tg = torch.tensor(g)
    code = compile(expr, expr, "eval")
    names = dict(zip("ab", tensors), torch=torch)

    def forward() -> object:
        return eval(code, names)  # noqa: S307 - the expressions above

    def step() -> None:
        for t in tensors:
            t.grad = None
        forward().backward(tg)

    return best_us(forward), best_us(step)


def main(names: list[str]) -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(SHAPE).astype(np.float32) for _ in range(2)]
    g = rng.standard_normal(SHAPE).astype(np.float32)
    print(f"float32 {SHAPE}, best us          tc fwd  tc fwd+bwd   torch fwd  torch fwd+bwd")
    for name in names or list(OPS):
        arity, tc_expr, torch_expr = OPS[name]
        try:
            ours = bench_tc(arity, tc_expr, arrays, g)
        except AttributeError:  # an op this version does not have
            continue
        theirs = bench_torch(arity, torch_expr, arrays, g)
        other = "" if theirs is None else f"{theirs[0]:12.0f} {theirs[1]:14.0f}"
        print(f"{name:30s} {ours[0]:9.0f} {ours[1]:11.0f} {other}")


if __name__ == "__main__":
    main(sys.argv[1:])
