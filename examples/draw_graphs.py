"""Render a small gallery of define-by-run graphs with tc.viz.

    python examples/draw_graphs.py                                   # into out/graphs
    python examples/draw_graphs.py --docs-images docs/images/graphs  # also refreshes the docs' copies

Writes one SVG and one PNG per graph (or DOT files and an install hint when
Graphviz's ``dot`` is missing):

- seed_model: the seed's two-layer conv model and its loss, after backward;
- relu_sigmoid: a conv model with relu and sigmoid, shaded by gradient size;
- custom_op: an op registered here with ``tc.register_op`` (``cube``);
- diamond: a tensor used twice, with the values of every tensor shown;
- vgg_profile: one training step of a small VGG-style CNN under ``tc.profile``, each op
  box shaded by its forward plus backward time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import tinygrad_conv as tc


def seed_model(rng: np.random.Generator) -> tuple[tc.Tensor, dict]:
    """The seed's kernel-recovery graph: conv 3x3 stride 1, conv 4x4 stride 2, minus target, sum of squares."""
    x = tc.Tensor(rng.normal(1.0, 1.0, (20, 20)), name="x")
    k1 = np.array([[0, 0, 1], [0, 2, 0], [1, 0, 1]], dtype=float)
    k2 = np.array([[1, 0, 0, 1], [1, 0, 0, 1], [0, -1, -1, 0], [0, 1, 1, 0]], dtype=float)
    with tc.no_grad():
        target = tc.conv2d(tc.conv2d(x, k1), k2, stride=2)
    target.name = "target"
    params = {
        "w1": tc.Tensor(rng.standard_normal((3, 3)), requires_grad=True),
        "b1": tc.Tensor(rng.standard_normal(()), requires_grad=True),
        "w2": tc.Tensor(rng.standard_normal((4, 4)), requires_grad=True),
        "b2": tc.Tensor(rng.standard_normal(()), requires_grad=True),
    }
    hidden = tc.conv2d(x, params["w1"], params["b1"], stride=1)
    out = tc.conv2d(hidden, params["w2"], params["b2"], stride=2)
    loss = (out - target).sum_of_squares()
    loss.backward()
    return loss, {"params": params}


def relu_sigmoid(rng: np.random.Generator) -> tuple[tc.Tensor, dict]:
    """A 3-channel image through conv, relu, conv with padding "same", sigmoid, and a squared error."""
    x = tc.Tensor(rng.standard_normal((2, 3, 12, 12)), name="images")
    params = {
        "conv1.w": tc.Tensor(0.3 * rng.standard_normal((4, 3, 3, 3)), requires_grad=True),
        "conv1.b": tc.Tensor(np.zeros(4), requires_grad=True),
        "conv2.w": tc.Tensor(0.3 * rng.standard_normal((1, 4, 3, 3)), requires_grad=True),
    }
    hidden = tc.conv2d(x, params["conv1.w"], params["conv1.b"], stride=2, padding=1).relu()
    hidden.retain_grad()
    prob = tc.conv2d(hidden, params["conv2.w"], padding="same").sigmoid()
    loss = (prob - 0.5).sum_of_squares()
    loss.backward()
    return loss, {"params": params}


def _cube_forward(x):
    return x**3, x


def _cube_vjp(g, x, needs_grad):
    return (3.0 * g * x * x,)


def _cube_samples(rng: np.random.Generator) -> list[tc.Sample]:
    return [tc.Sample((rng.standard_normal((3, 4)),))]


def custom_op(rng: np.random.Generator) -> tuple[tc.Tensor, dict]:
    """A user-registered op, ``cube``, drawn with its own name and no change to viz."""
    cube = tc.register_op(
        "cube", _cube_forward, _cube_vjp, samples=_cube_samples, doc="x**3, registered by the gallery.", replace=True
    )
    w = tc.Tensor(rng.standard_normal((2, 2)), requires_grad=True, name="w")
    loss = (cube(w) * 2.0).sum_of_squares()
    loss.backward()
    return loss, {}


def diamond(rng: np.random.Generator) -> tuple[tc.Tensor, dict]:
    """``a`` feeds both relu and sigmoid, whose sum is the loss: its grad is the sum of two paths."""
    w = tc.Tensor(rng.standard_normal(3), requires_grad=True, name="w")
    x = tc.Tensor([1.0, -2.0, 0.5], name="x")
    a = w * x
    a.name = "a"
    a.retain_grad()
    loss = (a.relu() + a.sigmoid()).sum_of_squares()
    loss.backward()
    return loss, {}


def vgg_profile(rng: np.random.Generator) -> tuple[tc.Tensor, dict]:
    """One profiled training step of a VGG-style CNN: two conv-relu-conv-relu-maxpool blocks and a classifier."""
    tc.nn.manual_seed(0)
    model = tc.nn.Sequential(
        tc.nn.Conv2d(3, 8, 3, padding=1), tc.nn.ReLU(), tc.nn.Conv2d(8, 8, 3, padding=1), tc.nn.ReLU(),
        tc.nn.MaxPool2d(2),
        tc.nn.Conv2d(8, 16, 3, padding=1), tc.nn.ReLU(), tc.nn.Conv2d(16, 16, 3, padding=1), tc.nn.ReLU(),
        tc.nn.MaxPool2d(2),
        tc.nn.Flatten(), tc.nn.Linear(16 * 4 * 4, 10),
    )
    images = tc.Tensor(rng.standard_normal((32, 3, 16, 16)), name="images")
    labels = rng.integers(0, 10, size=32)
    with tc.profile() as prof:
        loss = tc.cross_entropy(model(images), labels)
        loss.backward()
    return loss, {"params": dict(model.named_parameters()), "profile": prof}


# name -> (builder returning the root and its draw_graph options such as params=, fixed draw_graph options)
GALLERY = {
    "seed_model": (seed_model, {"legend": True, "show_defaults": True}),
    "relu_sigmoid": (relu_sigmoid, {"color_by": "grad", "legend": True}),
    "custom_op": (custom_op, {"show_values": True}),
    "diamond": (diamond, {"show_values": True}),
    "vgg_profile": (vgg_profile, {"legend": True}),
}


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (but not a None one), and the description as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return action.help if action.default is None else super()._get_help_string(action)


def main(argv: list[str] | None = None) -> list[Path]:
    """Render the gallery; return the paths written."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/graphs"), help="output folder for the pictures")
    parser.add_argument("--docs-images", type=Path, default=None, metavar="DIR",
                        help="also write the pictures to DIR; docs/images/graphs refreshes the docs' copies "
                             "(default: none, write only to --out)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the tensors' values")
    args = parser.parse_args(argv)
    folders = [args.out] + ([args.docs_images] if args.docs_images else [])
    written = []
    for name, (build, options) in GALLERY.items():
        root, draw_options = build(np.random.default_rng(args.seed))
        options = {**options, **draw_options}
        for folder in folders:
            path = tc.viz.render_or_dot(root, folder / name, **options)
            written.append(path)
            if path.suffix == ".svg":
                written.append(tc.viz.render(root, folder / f"{name}.png", **options))
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
