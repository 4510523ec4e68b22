"""Recover two conv kernels from their output: the seed blog post's experiment, define-by-run.

A 20x20 map x ~ N(1, 1) goes through conv(k1, 3x3, stride 1) then conv(k2, 4x4, stride 2) to give
an 8x8 target. A two-layer model learns to reproduce it by minimising the sum of squared differences.

What "recover" means: two linear convs are identifiable only through their composition (scaling
w1 by a and w2 by 1/a changes nothing, and the biases trade off the same way), so we compare the
composed 6x6 stride-2 kernel of the learned layers with the true one.

By default conv1 starts near the identity (a centred 1 plus N(0, 0.1) noise) and conv2 near zero,
and Adam (lr 0.2, cosine-annealed) runs 2000 steps: the composed kernel comes out within 1e-2 for
every seed tried (0 to 39; typically about 1e-4). From the seed's N(0, 1) start the two-layer loss
has spurious valleys that most seeds fall into; starting as "one conv" avoids them. --seed-settings
reruns the seed exactly (N(0, 1) start, plain SGD, lr 3e-5, 2000 steps) and explains why its loss
falls but the kernel is not found.

    python examples/kernel_recovery.py                    # recovers the composed kernel
    python examples/kernel_recovery.py --seed-settings    # the seed's settings
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import tinygrad_conv as tc

K1 = np.array([[0, 0, 1], [0, 2, 0], [1, 0, 1]], dtype=float)
K2 = np.array([[1, 0, 0, 1], [1, 0, 0, 1], [0, -1, -1, 0], [0, 1, 1, 0]], dtype=float)
DEFAULT_LR = {"sgd": 3e-5, "momentum": 2e-5, "adam": 0.2}
RECOVERED = 1e-2  # max |learned - true| over the composed kernel, whose entries reach 2
SEED_SETTINGS = {"optimizer": "sgd", "lr": 3e-5, "steps": 2000, "init": "normal", "schedule": "constant"}


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
    """Plain SGD, SGD with momentum 0.9, or Adam."""
    if name == "sgd":
        return tc.optim.SGD(params, lr=lr)
    if name == "momentum":
        return tc.optim.SGD(params, lr=lr, momentum=0.9)
    return tc.optim.Adam(params, lr=lr)


def initial_params(rng: np.random.Generator, init: str) -> dict[str, tc.Tensor]:
    """The seed's N(0, 1) kernels and biases ("normal"), or conv1 near the identity and the rest near 0."""
    if init == "normal":
        values = {"w1": rng.normal(0, 1, (3, 3)), "b1": rng.normal(0, 1), "w2": rng.normal(0, 1, (4, 4)),
                  "b2": rng.normal(0, 1)}
    else:
        w1 = rng.normal(0, 0.1, (3, 3))
        w1[1, 1] += 1.0
        values = {"w1": w1, "b1": rng.normal(0, 0.1), "w2": rng.normal(0, 0.1, (4, 4)), "b2": rng.normal(0, 0.1)}
    return {name: tc.Tensor(value, requires_grad=True, name=name) for name, value in values.items()}


def progress(steps: int, quiet: bool):
    """A tqdm bar over the steps, shown only on a terminal (stderr), or a plain range."""
    if quiet:
        return range(steps)
    try:
        from tqdm import tqdm
    except ImportError:
        return range(steps)
    return tqdm(range(steps), desc="training", unit="step", mininterval=0.2, disable=None, leave=False)


def train(seed: int = 0, steps: int = 2000, lr: float | None = None, optimizer: str = "adam", quiet: bool = False,
          init: str = "identity", schedule: str = "cosine"):
    """Train the two-layer model; return (losses, params dict, the last step's loss tensor).

    Args:
        seed: draws x and the initial parameters.
        steps: the number of optimizer steps.
        lr: the learning rate; None takes DEFAULT_LR[optimizer].
        optimizer: "sgd", "momentum" or "adam".
        quiet: print nothing (no bar, no loss lines).
        init: "identity" (conv1 near the identity, the rest near 0) or "normal" (the seed's N(0, 1)).
        schedule: "cosine" (anneal lr to 0 over the steps) or "constant".
    """
    rng = np.random.default_rng(seed)
    x = tc.Tensor(rng.normal(1.0, 1.0, (20, 20)), name="x")
    with tc.no_grad():
        target = tc.conv2d(tc.conv2d(x, K1, 0.0, stride=1), K2, 0.0, stride=2)
    target.name = "target"
    params = initial_params(rng, init)
    opt = make_optimizer(optimizer, list(params.values()), DEFAULT_LR[optimizer] if lr is None else lr)
    scheduler = tc.optim.CosineAnnealingLR(opt, T_max=steps) if schedule == "cosine" else None
    losses = np.empty(steps)
    bar = progress(steps, quiet)
    write = getattr(bar, "write", print)  # tqdm.write keeps lines and the bar apart
    for step in bar:
        hidden = tc.conv2d(x, params["w1"], params["b1"], stride=1)
        out = tc.conv2d(hidden, params["w2"], params["b2"], stride=2)
        loss = tc.sum_of_squares(out - target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        losses[step] = loss.item()
        if step % 100 == 99 and not quiet:
            write(f"step {step:5d}: loss {losses[step]:.6g}")
    return losses, params, loss


def conditioning(seed: int) -> tuple[float, float]:
    """The extreme eigenvalues of the Hessian of the loss as a function of the composed kernel and bias.

    The composed problem is linear least squares, out = A @ [K.ravel(), bias], so its Hessian is 2 A^T A.
    """
    x = np.random.default_rng(seed).normal(1.0, 1.0, (20, 20))
    rows = [np.append(x[2 * i : 2 * i + 6, 2 * j : 2 * j + 6].ravel(), 1.0) for i in range(8) for j in range(8)]
    design = np.array(rows)
    eigenvalues = np.linalg.eigvalsh(2 * design.T @ design)
    return float(eigenvalues[0]), float(eigenvalues[-1])


def scale_between(learned: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """The best a with learned ~ a * true, and the largest |learned - a * true|."""
    a = float(np.vdot(learned, true) / np.vdot(true, true))
    return a, float(np.abs(learned - a * true).max())


def explain(error: float, args: argparse.Namespace, losses: np.ndarray, w1: np.ndarray, w2: np.ndarray) -> list[str]:
    """The closing lines: what the error means for this run."""
    lines = [
        "",
        f"What {error:.3g} means: the data pin down only the composition of the two layers (w1 * a with w2 / a",
        "gives the same output, and b1, b2 trade off likewise), so the composed kernel is what can be",
        f"recovered; max |learned - true| < {RECOVERED:g} means it was.",
    ]
    if error < RECOVERED:
        a1, residual1 = scale_between(w1, K1)
        a2, residual2 = scale_between(w2, K2)
        lines += [
            f"Recovered. The layers came out as w1 = {a1:.4g} * k1 and w2 = {a2:.4g} * k2 (to "
            f"{max(residual1, residual2):.1g}),",
            f"scales whose product is {a1 * a2:.4f}: one of the many equivalent pairs.",
        ]
        return lines
    smallest, largest = conditioning(args.seed)
    lines += [
        f"Not recovered, though the loss fell to {100 * losses[-1] / losses[0]:.3g}% of its start. Why:",
        "- As a function of the composed kernel the loss is least squares whose Hessian eigenvalues span",
        f"  {smallest:.3g} to {largest:.3g} (condition number {largest / smallest:.3g}; x ~ N(1, 1) makes the "
        "kernel's sum dominate).",
        "  Plain SGD needs an lr small enough for the steepest direction, so it fixes that one first (most",
        "  of the loss) and crawls along the flattest ones, thousands of times slower.",
        "- From an N(0, 1) start the two-layer loss also has spurious valleys that hold most seeds, whatever",
        "  the optimizer. Starting conv1 near the identity (the model begins as one conv) avoids them.",
        "Run without --seed-settings (identity start, Adam, cosine lr) to recover the kernel.",
    ]
    return lines


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


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, except where the help already explains a None default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return action.help if action.default is None else super()._get_help_string(action)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("--seed-settings", action="store_true",
                        help="rerun the seed blog post exactly: N(0, 1) start, plain SGD, lr 3e-5, 2000 steps, "
                             "constant lr (options given explicitly still apply)")
    parser.add_argument("--seed", type=int, default=0, help="draws x and the initial parameters")
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps")
    parser.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], default="adam",
                        help="plain SGD, SGD with momentum 0.9, or Adam")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: 0.2 for adam, 2e-5 for momentum, 3e-5 for sgd)")
    parser.add_argument("--init", choices=["identity", "normal"], default="identity",
                        help="identity: conv1 a centred 1 plus N(0, 0.1) noise, the rest N(0, 0.1); "
                             "normal: all N(0, 1), as in the seed")
    parser.add_argument("--schedule", choices=["cosine", "constant"], default="cosine",
                        help="cosine-anneal the lr to 0 over the steps, or keep it constant")
    parser.add_argument("--out", type=Path, default=Path("out"),
                        help="folder for graph.svg (or .dot), loss.png and kernels.png")
    known, _ = parser.parse_known_args(argv)
    if known.seed_settings:
        parser.set_defaults(**SEED_SETTINGS)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    lr = DEFAULT_LR[args.optimizer] if args.lr is None else args.lr
    print(f"training {args.steps} steps: {args.optimizer}, lr {lr:g} ({args.schedule}), {args.init} start, "
          f"seed {args.seed}")

    started, cpu_started = time.perf_counter(), time.process_time()
    losses, params, last_loss = train(args.seed, args.steps, lr, args.optimizer, init=args.init,
                                      schedule=args.schedule)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"loss: {losses[0]:.6g} at step 0 -> {losses[-1]:.6g} at step {args.steps - 1} "
          f"({100 * losses[-1] / losses[0]:.3g}% of the start); training took {wall:.2f} s wall, {cpu:.2f} s CPU")

    w1, b1, w2, b2 = (params[k].data for k in ("w1", "b1", "w2", "b2"))
    learned, learned_bias = compose(w1, float(b1), w2, float(b2))
    true, true_bias = compose(K1, 0.0, K2, 0.0)
    error = float(np.abs(learned - true).max())

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

    print(f"composed 6x6 stride-2 kernel: max |learned - true| = {error:.3g} "
          f"(true kernel max |K| = {np.abs(true).max():.0f}); bias learned {learned_bias:.3g}, true {true_bias:.0f}")
    for line in explain(error, args, losses, w1, w2):
        print(line)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
