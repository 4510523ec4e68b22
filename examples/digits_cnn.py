"""Train a small CNN on scikit-learn's bundled handwritten digits (1,797 images of 8x8, no download).

    python examples/digits_cnn.py                      # train, evaluate, write out/digits/
    python examples/digits_cnn.py --load out/digits/model.npz   # evaluate a saved model
    python examples/digits_cnn.py --model dwsep        # the depthwise-separable CNN, into out/digits/dwsep/

--model cnn (the default) is conv(1->32, 3x3, pad 1)-relu-maxpool 2, conv(32->64, 3x3, pad 1)-relu-maxpool 2,
linear(256->10). --model dwsep has the same widths and head, with BatchNorm after each conv and the
second conv split into a depthwise 3x3 (one kernel per channel) and a pointwise 1x1: a quarter of the
parameters. Both train in float32 with AdamW, a cosine learning-rate schedule and label smoothing 0.1
on a fixed, seeded, stratified 80/20 split; every training batch is augmented by moving each image a
random -1, 0 or +1 pixels in each direction. It writes model.npz, curves.png (train loss and test
accuracy per epoch), confusion.png (the test confusion matrix), filters.png (the first layer's kernels)
and graph.svg/graph.png (the graph of the loss on four test images, parameters named; graph.dot
without Graphviz).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import tinygrad_conv as tc
from tinygrad_conv import nn

CLASSES = 10
MODELS = ("cnn", "dwsep")
F32 = np.float32  # parameters, buffers and inputs, so every activation and gradient too: 2x faster than float64



def load_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits as (N, 1, 8, 8) float32 in [0, 1], split 80/20, stratified, by ``seed``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]
    return train_test_split(X, digits.target, test_size=0.2, stratify=digits.target, random_state=seed)


def make_cnn(seed: int) -> nn.Sequential:
    """conv-relu-pool, conv-relu-pool, linear, with float32 parameters drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    f32 = {"rng": rng, "dtype": F32}
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, **f32), nn.ReLU(), nn.MaxPool2d(2),   # 32 x 4 x 4
        nn.Conv2d(32, 64, 3, padding=1, **f32), nn.ReLU(), nn.MaxPool2d(2),  # 64 x 2 x 2
        nn.Flatten(), nn.Linear(64 * 2 * 2, CLASSES, **f32),
    )


def make_dwsep(seed: int) -> nn.Sequential:
    """The CNN's widths with BatchNorm, its second conv depthwise-separable; float32, drawn from ``seed``.

    A conv followed by BatchNorm needs no bias: BatchNorm subtracts the channel's mean, bias included,
    and adds its own.
    """
    rng = np.random.default_rng(seed)
    f32 = {"rng": rng, "dtype": F32}
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False, **f32),             # a full conv: one input channel
        nn.BatchNorm2d(32, dtype=F32), nn.ReLU(), nn.MaxPool2d(2),     # 32 x 4 x 4
        nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False, **f32),    # depthwise: one 3x3 kernel per channel
        nn.Conv2d(32, 64, 1, bias=False, **f32),                        # pointwise: mixes the channels
        nn.BatchNorm2d(64, dtype=F32), nn.ReLU(), nn.MaxPool2d(2),     # 64 x 2 x 2
        nn.Flatten(), nn.Linear(64 * 2 * 2, CLASSES, **f32),
    )


def make_model(seed: int, model: str = "cnn") -> nn.Sequential:
    """``model`` ("cnn" or "dwsep") with float32 parameters drawn from ``seed``."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    return make_cnn(seed) if model == "cnn" else make_dwsep(seed)


def model_of(state: dict[str, np.ndarray]) -> str:
    """Which of ``MODELS`` saved ``state``, told by its keys and shapes."""
    for name in MODELS:
        shapes = {key: value.shape for key, value in make_model(0, name).state_dict().items()}
        if shapes == {key: value.shape for key, value in state.items()}:
            return name
    raise ValueError(f"the saved keys {sorted(state)} match none of the models {MODELS}")


def count_parameters(model: nn.Module) -> int:
    """How many numbers the optimizer trains (buffers such as BatchNorm's running statistics not included)."""
    return sum(p.data.size for p in model.parameters())


def predict(model: nn.Module, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Class predictions, in batches, recording no graph."""
    with tc.no_grad():
        return np.concatenate([model(xb).data.argmax(axis=1) for xb in tc.data.batches(X, None, batch_size, shuffle=False)])


def random_shift(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each (C, H, W) image moved by its own random -1, 0 or +1 pixels down and right, zeros filling in."""
    n, _, height, width = X.shape
    padded = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    rows = rng.integers(0, 3, size=(n, 1, 1, 1)) + np.arange(height)[:, None]  # (N, 1, H, 1)
    cols = rng.integers(0, 3, size=(n, 1, 1, 1)) + np.arange(width)           # (N, 1, 1, W)
    return np.take_along_axis(np.take_along_axis(padded, rows, axis=2), cols, axis=3)


def smoothed_cross_entropy(logits: tc.Tensor, target: np.ndarray, smoothing: float) -> tc.Tensor:
    """Cross-entropy against (1 - smoothing) on the true class plus smoothing spread evenly over all classes."""
    if smoothing == 0:
        return tc.cross_entropy(logits, target)
    uniform = -tc.log_softmax(logits, axis=1).mean()  # the cross-entropy against the uniform distribution
    return (1 - smoothing) * tc.cross_entropy(logits, target) + smoothing * uniform


def train(model: nn.Module, X_train, y_train, X_test, y_test, args) -> dict[str, list[float]]:
    """AdamW with a cosine schedule; returns the per-epoch train loss and test accuracy."""
    from tqdm import tqdm

    optimizer = tc.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    scheduler = tc.optim.CosineAnnealingLR(optimizer, T_max=args.epochs)
    rng = np.random.default_rng(args.seed)
    history: dict[str, list[float]] = {"loss": [], "train_acc": [], "test_acc": []}
    bar = tqdm(range(1, args.epochs + 1), desc="digits", unit="epoch", disable=None)  # no bar off a terminal
    for _ in bar:
        model.train()
        total, correct = 0.0, 0
        for xb, yb in tc.data.batches(X_train, y_train, args.batch_size, rng=rng):
            if args.shift:
                xb = random_shift(xb, rng)
            logits = model(xb)
            loss = smoothed_cross_entropy(logits, yb, args.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
            correct += int((logits.data.argmax(axis=1) == yb).sum())
        scheduler.step()
        model.eval()
        history["loss"].append(total / len(y_train))
        history["train_acc"].append(correct / len(y_train))
        history["test_acc"].append(float((predict(model, X_test) == y_test).mean()))
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", train_acc=f"{history['train_acc'][-1]:.3f}",
                        test_acc=f"{history['test_acc'][-1]:.3f}")
    return history


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """counts[i, j]: how many examples of class i were predicted as j."""
    counts = np.zeros((CLASSES, CLASSES), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def plot_curves(history: dict[str, list[float]], path: str, smoothing: float = 0.0,
                title: str = "digits CNN") -> None:
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, loss_ax = plt.subplots(figsize=(7, 4))
    loss_ax.plot(epochs, history["loss"], "o-", color="tab:blue", label="train loss")
    loss_ax.set_xlabel("epoch")
    smoothed = f", label smoothing {smoothing:g}" if smoothing else ""
    loss_ax.set_ylabel(f"train cross-entropy{smoothed}", color="tab:blue")
    acc_ax = loss_ax.twinx()
    acc_ax.plot(epochs, 100 * np.array(history["test_acc"]), "s-", color="tab:orange", label="test accuracy")
    acc_ax.axhline(98, color="gray", linestyle=":", linewidth=1)
    acc_ax.set_ylabel("test accuracy (%)", color="tab:orange")
    acc_ax.set_ylim(min(90.0, 100 * min(history["test_acc"]) - 1), 100.5)
    final = 100 * history["test_acc"][-1]
    loss_ax.set_title(f"{title}: final test accuracy {final:.2f}%  (dotted: 98%)")
    lines = loss_ax.get_lines() + acc_ax.get_lines()[:1]
    loss_ax.legend(lines, [line.get_label() for line in lines], loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_confusion(counts: np.ndarray, path: str) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(counts, cmap="Blues")
    for (i, j), value in np.ndenumerate(counts):
        if value:
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                    color="white" if value > counts.max() / 2 else ("red" if i != j else "black"))
    ax.set_xticks(range(CLASSES))
    ax.set_yticks(range(CLASSES))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    accuracy = 100 * np.trace(counts) / counts.sum()
    ax.set_title(f"test confusion matrix ({counts.sum()} images, {accuracy:.2f}% correct)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_filters(weight: np.ndarray, path: str) -> None:
    import matplotlib.pyplot as plt

    count = weight.shape[0]
    columns = 8
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.4 * rows + 0.5))
    limit = np.abs(weight).max()
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            image = ax.imshow(weight[index, 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(f"#{index}", fontsize=8)
    fig.suptitle(f"first conv layer: its {count} learned 3x3 kernels (one shared colour scale)")
    fig.tight_layout(rect=(0, 0, 0.92, 1))
    bar_axes = fig.add_axes((0.93, 0.15, 0.015, 0.7))
    fig.colorbar(image, cax=bar_axes)
    bar_axes.set_title("weight", fontsize=9)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_graph(model: nn.Module, X: np.ndarray, y: np.ndarray, folder: str) -> list[str]:
    """The graph of the cross-entropy on ``X`` after backward, parameters named: graph.svg and .png (or .dot).

    Drawn in evaluation mode, so BatchNorm reads its running statistics and updates nothing.
    """
    from tinygrad_conv import viz

    model.eval()
    loss = tc.cross_entropy(model(X), y)
    loss.backward()
    params = dict(model.named_parameters())
    written = [viz.render_or_dot(loss, os.path.join(folder, "graph"), params=params)]
    if written[0].suffix == ".svg":
        written.append(viz.render(loss, os.path.join(folder, "graph.png"), params=params))
    model.zero_grad()
    return [path.name for path in written]


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (but not a None one), and the description as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return action.help if action.default is None else super()._get_help_string(action)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("--model", choices=MODELS, default=None,
                        help="the architecture to train: cnn (default) or dwsep; --load tells it from the file")
    parser.add_argument("--epochs", type=int, default=40, help="passes over the training split")
    parser.add_argument("--batch-size", type=int, default=16, help="images per optimizer step")
    parser.add_argument("--lr", type=float, default=0.002, help="AdamW's initial learning rate (cosine-annealed)")
    parser.add_argument("--weight-decay", type=float, default=0.01, help="AdamW's decoupled weight decay")
    parser.add_argument("--shift", action=argparse.BooleanOptionalAction, default=True,
                        help="augment: move each training image by a random -1/0/+1 pixels in each direction")
    parser.add_argument("--label-smoothing", type=float, default=0.1,
                        help="weight of the uniform distribution mixed into the targets")
    parser.add_argument("--seed", type=int, default=0, help="seeds the split, the initial weights and the batches")
    parser.add_argument("--out", default=None,
                        help="folder for model.npz and the pictures (default: out/digits, out/digits/dwsep for dwsep)")
    parser.add_argument("--load", metavar="PATH", default=None,
                        help="evaluate this saved model instead of training (default: train)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_split(args.seed)
    if args.load:
        state = tc.load(args.load)
        model = make_model(args.seed, args.model or model_of(state))
        model.load_state_dict(state)
        model.eval()
        accuracy = float((predict(model, X_test) == y_test).mean())
        print(f"{args.load}: test accuracy {100 * accuracy:.2f}% on {len(y_test)} images")
        return accuracy

    name = args.model or "cnn"
    out = args.out or os.path.join("out", "digits", *(["dwsep"] if name == "dwsep" else []))
    model = make_model(args.seed, name)
    os.makedirs(out, exist_ok=True)
    history = train(model, X_train, y_train, X_test, y_test, args)
    elapsed = time.perf_counter() - start
    predictions = predict(model, X_test)
    accuracy = float((predictions == y_test).mean())
    model_path = os.path.join(out, "model.npz")
    tc.save(model.state_dict(), model_path)
    title = {"cnn": "digits CNN", "dwsep": "depthwise-separable CNN"}[name]
    plot_curves(history, os.path.join(out, "curves.png"), args.label_smoothing, title)
    plot_confusion(confusion_matrix(y_test, predictions), os.path.join(out, "confusion.png"))
    plot_filters(model[0].weight.data, os.path.join(out, "filters.png"))
    graphs = write_graph(model, X_test[:4], y_test[:4], out)
    print(f"{name}: {count_parameters(model):,} parameters, test accuracy {100 * accuracy:.2f}% on {len(y_test)} "
          f"images; trained in {elapsed:.1f} s")
    print(f"wrote {model_path}, curves.png, confusion.png, filters.png, {', '.join(graphs)} to {out}")
    return accuracy


if __name__ == "__main__":
    main()
