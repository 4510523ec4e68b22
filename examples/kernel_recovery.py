"""Recover two conv kernels from their output: the seed blog post's experiment, define-by-run.

A 20x20 map x ~ N(1, 1) goes through conv(k1, stride 1) then conv(k2, stride 2) to give the
target. A two-layer model with random kernels and biases learns to reproduce it by
minimising the sum of squared differences.

What "recover" means: two linear convs are identifiable only through their composition
(scaling k1 by a and k2 by 1/a, for one, changes nothing). So we compare the composed
6x6 stride-2 kernel and bias of the learned layers with the true ones.

    python examples/kernel_recovery.py [--steps 2000] [--lr 3e-5] [--optimizer sgd|momentum|adam] [--out out/]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import tinygrad_conv as tc

K1 = np.array([[0, 0, 1], [0, 2, 0], [1, 0, 1]], dtype=float)
K2 = np.array([[1, 0, 0, 1], [1, 0, 0, 1], [0, -1, -1, 0], [0, 1, 1, 0]], dtype=float)
DEFAULT_LR = {"sgd": 3e-5, "momentum": 3e-5, "adam": 0.1}


def compose(k1: np.ndarray, b1: float, k2: np.ndarray, b2: float) -> tuple[np.ndarray, float]:
    """The single stride-2 kernel and bias equal to conv(conv(x, k1, s=1) + b1, k2, s=2) + b2.

    K[a, b] = sum over i + p = a, j + q = b of k2[i, j] * k1[p, q] (a full 2-D convolution).
    """
    kh, kw = k1.shape[0] + k2.shape[0] - 1, k1.shape[1] + k2.shape[1] - 1
    composed = np.zeros((kh, kw))
    for i in range(k2.shape[0]):  # a loop over kernel taps, 16 of them
        for j in range(k2.shape[1]):
            composed[i : i + k1.shape[0], j : j + k1.shape[1]] += k2[i, j] * k1
    return composed, b2 + b1 * k2.sum()


def make_optimizer(name: str, params: list[tc.Tensor], lr: float) -> tc.optim.Optimizer:
    if name == "sgd":
        return tc.optim.SGD(params, lr=lr)
    if name == "momentum":
        return tc.optim.SGD(params, lr=lr, momentum=0.9)
    return tc.optim.Adam(params, lr=lr)


def progress(steps: int):
    try:
        from tqdm import tqdm

        return tqdm(range(steps), desc="training", unit="step", mininterval=0.2)
    except ImportError:
        return range(steps)


def train(seed: int = 0, steps: int = 2000, lr: float | None = None, optimizer: str = "sgd", quiet: bool = False):
    """Train the two-layer model; return (losses, params dict, the last step's loss tensor)."""
    rng = np.random.default_rng(seed)
    x = tc.Tensor(rng.normal(1.0, 1.0, (20, 20)), name="x")
    with tc.no_grad():
        target = tc.conv2d(tc.conv2d(x, K1, 0.0, stride=1), K2, 0.0, stride=2)
    target.name = "target"
    params = {
        "w1": tc.Tensor(rng.normal(0, 1, (3, 3)), requires_grad=True, name="w1"),
        "b1": tc.Tensor(rng.normal(0, 1), requires_grad=True, name="b1"),
        "w2": tc.Tensor(rng.normal(0, 1, (4, 4)), requires_grad=True, name="w2"),
        "b2": tc.Tensor(rng.normal(0, 1), requires_grad=True, name="b2"),
    }
    opt = make_optimizer(optimizer, list(params.values()), DEFAULT_LR[optimizer] if lr is None else lr)
    losses = np.empty(steps)
    bar = progress(steps) if not quiet else range(steps)
    write = getattr(bar, "write", print)
    for step in bar:
        hidden = tc.conv2d(x, params["w1"], params["b1"], stride=1)
        out = tc.conv2d(hidden, params["w2"], params["b2"], stride=2)
        loss = tc.sum_of_squares(out - target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[step] = loss.item()
        if step % 100 == 99 and not quiet:
            write(f"step {step:5d}: loss {losses[step]:.6g}")
    return losses, params, loss


def plot_loss(losses: np.ndarray, path: Path, optimizer: str) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    ax.semilogy(np.arange(1, len(losses) + 1), losses, color="#1f6feb")
    ax.set(xlabel="step", ylabel="sum of squares loss (log scale)", title=f"kernel recovery, {optimizer}")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_kernels(panels: list[tuple[str, np.ndarray]], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(10, 6.4), dpi=110)
    for ax, (title, kernel) in zip(axes.flat, panels):
        limit = np.abs(kernel).max() or 1.0
        ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (i, j), value in np.ndenumerate(kernel):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7 if kernel.shape[0] > 4 else 9,
                    color="white" if abs(value) > 0.6 * limit else "black")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle("true (top) and learned (bottom) kernels; only the composed kernel is identifiable")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=None, help="default: 3e-5 for sgd and momentum, 0.1 for adam")
    parser.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], default="sgd")
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    args.out.mkdir(parents=True, exist_ok=True)

    started, cpu_started = time.perf_counter(), time.process_time()
    losses, params, last_loss = train(args.seed, args.steps, args.lr, args.optimizer)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"loss: {losses[0]:.6g} at step 0 -> {losses[-1]:.6g} at step {args.steps - 1} "
          f"({100 * losses[-1] / losses[0]:.3g}% of the start); training took {wall:.2f} s wall, {cpu:.2f} s CPU")

    w1, b1, w2, b2 = (params[k].data for k in ("w1", "b1", "w2", "b2"))
    learned, learned_bias = compose(w1, float(b1), w2, float(b2))
    true, true_bias = compose(K1, 0.0, K2, 0.0)
    error = np.abs(learned - true).max()
    print(f"composed 6x6 stride-2 kernel: max |learned - true| = {error:.4g} "
          f"(true kernel max |K| = {np.abs(true).max():.0f}); bias learned {learned_bias:.4g}, true {true_bias:.0f}")

    graph = tc.viz.render_or_dot(last_loss, args.out / "graph", params=params, show_defaults=True, legend=True)
    print(f"wrote {graph}: the last step's graph with its gradients")
    try:
        plot_loss(losses, args.out / "loss.png", args.optimizer)
        plot_kernels(
            [("k1 (true)", K1), ("k2 (true)", K2), ("composed 6x6, stride 2 (true)", true),
             ("w1 (learned)", w1), ("w2 (learned)", w2), ("composed 6x6, stride 2 (learned)", learned)],
            args.out / "kernels.png",
        )
        print(f"wrote {args.out / 'loss.png'} and {args.out / 'kernels.png'}")
    except ImportError:
        print("matplotlib is not installed: skipping loss.png and kernels.png (pip install -e '.[examples]')")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
