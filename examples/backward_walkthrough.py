"""Draw the conv2d backward pass stage by stage, with the numbers in the cells.

The case: an 8x8 input, a 3x3 kernel and stride 2. The output is 3x3 and the forward
reads input rows and columns 0..6 only, so the last row and column are unused and
their gradient is exactly 0: the remainder case that the seed asserted away. (A 7x7
input would divide evenly and show no remainder.) Small integers keep every number exact.

The figure is checked against ``tc.conv2d``'s own backward, and says so.

    python examples/backward_walkthrough.py                          # writes out/
    python examples/backward_walkthrough.py --docs-images docs/images  # also refreshes the docs' figure
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure  # no pyplot: no GUI backend is ever needed
from matplotlib.patches import Rectangle

import tinygrad_conv as tc

CELL = 0.36  # inches per matrix cell, the same in every panel
STRIDE = 2
UNUSED = "#e08214"  # orange: the trailing row and column that the forward never read
INSERTED = "#1b7837"  # green: the zeros inserted between the error's elements
WINDOW = "#762a83"  # purple: one position of the sliding rotated kernel


def make_case(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An 8x8 input, a 3x3 kernel and a 3x3 error, all small integers."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (8, 8)).astype(float)
    w = rng.integers(-2, 3, (3, 3)).astype(float)
    g = rng.integers(-2, 3, (3, 3)).astype(float)
    return x, w, g


def check_against_engine(x: np.ndarray, w: np.ndarray, g: np.ndarray, steps: dict) -> float:
    """Largest difference between the drawn stages and tc.conv2d's backward (dx, dw, db)."""
    xt, wt = tc.Tensor(x, requires_grad=True), tc.Tensor(w, requires_grad=True)
    bt = tc.Tensor(0.0, requires_grad=True)
    tc.conv2d(xt, wt, bt, stride=STRIDE).backward(g)
    return max(
        float(np.abs(steps["input_grad"] - xt.grad).max()),
        float(np.abs(steps["kernel_grad"] - wt.grad).max()),
        float(np.abs(steps["bias_grad"] - bt.grad).max()),
    )


def heatmap(fig, left: float, bottom: float, a: np.ndarray, title: str, structural=None, vmax=None):
    """One matrix as a heat map at (left, bottom) inches, numbers in the cells; returns the axes."""
    rows, cols = a.shape
    width, height = fig.get_size_inches()
    ax = fig.add_axes((left / width, bottom / height, cols * CELL / width, rows * CELL / height))
    vmax = vmax or max(float(np.abs(a).max()), 1.0)
    ax.imshow(a, cmap="RdBu_r", vmin=-vmax, vmax=vmax, extent=(-0.5, cols - 0.5, rows - 0.5, -0.5))
    if structural is not None:  # zeros that the algorithm adds, not numbers it computed
        grey = np.ma.masked_where(~structural, np.ones_like(a))
        ax.imshow(grey, cmap="Greys", vmin=0, vmax=8, extent=(-0.5, cols - 0.5, rows - 0.5, -0.5))
    for (i, j), value in np.ndenumerate(a):
        faint = structural is not None and structural[i, j]
        text = "0" if value == 0 else f"{value:.0f}"
        ax.text(j, i, text, ha="center", va="center", fontsize=7.5,
                color="#9a9a9a" if faint else ("white" if abs(value) > 0.6 * vmax else "black"))
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=0.8)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(title, fontsize=9, loc="left", pad=4)
    return ax


def outline(ax, row: float, col: float, nrows: float, ncols: float, color: str, style: str = "-",
            fill: bool = False) -> None:
    ax.add_patch(Rectangle((col - 0.5, row - 0.5), ncols, nrows, fill=fill, facecolor=color, alpha=0.3 if fill else 1,
                           edgecolor=color, linewidth=2.2, linestyle=style, clip_on=False))
    if fill:
        outline(ax, row, col, nrows, ncols, color, style)


def mark_unused(ax, n: int, count_rows: int, count_cols: int, fill: bool = True) -> None:
    """Outline the trailing rows and columns that the forward never read."""
    if count_rows:
        outline(ax, n - count_rows, 0, count_rows, n, UNUSED, fill=fill)
    if count_cols:
        outline(ax, 0, n - count_cols, n - count_rows, count_cols, UNUSED, fill=fill)


def note(fig, x: float, y: float, text: str, **kwargs) -> None:
    width, height = fig.get_size_inches()
    fig.text(x / width, y / height, text, **{"fontsize": 9, "va": "center", **kwargs})


def draw(x: np.ndarray, w: np.ndarray, g: np.ndarray, steps: dict, max_diff: float):
    """The six stages as one figure."""
    z, zp, dx, dw = steps["error_inserted"], steps["error_padded"], steps["input_grad"], steps["kernel_grad"]
    k = w.shape[0]
    pad_k = k - 1  # dilation 1
    ur, uc = steps["unused_rows"], steps["unused_cols"]
    fig = Figure(figsize=(11.6, 12.4))
    fig.suptitle("conv2d backward, drawn: 8×8 input, 3×3 kernel, stride 2 (the last input row and column are unused)",
                 fontsize=12, x=0.02, ha="left", y=0.985)

    # Row 1: error -> zeros inserted -> padded.
    top = 8.3
    heatmap(fig, 0.4, top + 1.7, g, "1  error g = dL/dy  (3×3)")
    note(fig, 1.65, top + 2.25, "insert\nstride−1 = 1\nzeros  →", ha="left")
    inserted = np.ones_like(z, dtype=bool)
    inserted[::STRIDE, ::STRIDE] = False
    ax = heatmap(fig, 2.75, top + 1.0, z, "2  zeros inserted  (5×5)", structural=inserted)
    note(fig, 4.7, top + 1.9, f"pad by\nk−1 = {pad_k}\n(+{ur} row, col\nbottom, right)  →", ha="left")
    structural = np.ones_like(zp, dtype=bool)
    structural[pad_k : pad_k + z.shape[0], pad_k : pad_k + z.shape[1]] = inserted
    zp_ax = ax = heatmap(fig, 6.25, top - 0.3, zp, f"3  padded error  ({zp.shape[0]}×{zp.shape[1]})",
                         structural=structural)
    outline(ax, pad_k, pad_k, z.shape[0], z.shape[1], INSERTED)
    mark_unused(ax, zp.shape[0], ur, uc)
    note(fig, 6.25, top - 0.55, "green: the zero-inserted error;  orange: one extra row/col per unused input row/col",
         fontsize=8)

    # Row 2: kernel, rotated kernel, input gradient.
    mid = 3.85
    heatmap(fig, 0.4, mid + 1.9, w, "4  kernel w")
    note(fig, 1.6, mid + 2.45, "rotate\n180°  →", ha="left")
    heatmap(fig, 2.45, mid + 1.9, steps["kernel_rotated"], "   rotated kernel")
    note(fig, 3.85, mid + 1.25,
         "slide the rotated kernel\nover the padded error (3),\nstride 1:\n"
         f"{zp.shape[0]} − {k} + 1 = {dx.shape[0]} rows  →\n\npurple: the window that\ngives dL/dx[0, 0]", ha="left")
    ax = heatmap(fig, 6.25, mid - 0.2, dx, "5  input gradient dL/dx  (8×8)")
    mark_unused(ax, dx.shape[0], ur, uc)
    outline(ax, 0, 0, 1, 1, WINDOW, "--")
    outline(zp_ax, 0, 0, k, k, WINDOW, "--")
    note(fig, 6.25, mid - 0.45, "orange: never read by the forward, so its gradient is exactly 0", fontsize=8)

    # Row 3: kernel gradient = input correlated with the zero-inserted error.
    low = 0.55
    ax = heatmap(fig, 0.4, low, x, "6  input x  (8×8)")
    mark_unused(ax, x.shape[0], ur, uc, fill=False)
    note(fig, 3.45, low + 1.45, "correlated\nwith  →", ha="left")
    note(fig, 4.5, low + 0.05, f"stride 1: {x.shape[0]} − {z.shape[0]} + 1 = {x.shape[0] - z.shape[0] + 1} positions; "
         f"the last would be a kernel row {k} that does not exist,\nso the first {k}×{k} are kept "
         "(only that dropped position reads the unused input row)", ha="left", fontsize=8)
    heatmap(fig, 4.5, low + 0.75, z, "   zeros-inserted error (2)", structural=inserted)
    note(fig, 6.5, low + 1.65, "=", fontsize=16, ha="left")
    heatmap(fig, 7.0, low + 1.1, dw, "   kernel gradient dL/dw  (3×3)")
    note(fig, 8.35, low + 1.65, f"bias gradient dL/db\n= sum of the error = {float(steps['bias_grad']):.0f}",
         ha="left")

    verdict = "equal" if max_diff == 0.0 else ("agree to round-off" if max_diff < 1e-9 else "DIFFER")
    note(fig, 0.4, 0.2, f"check: stages 5, 6 and the bias gradient {verdict} to tc.conv2d's own backward "
         f"(max |difference| = {max_diff:.1e})", fontsize=9.5, fontweight="bold",
         color="#1b7837" if max_diff < 1e-9 else "#b2182b")
    return fig


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (but not a None one), and the description as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        return action.help if action.default is None else super()._get_help_string(action)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("--out", default="out", help="folder for backward_walkthrough.png and .svg")
    parser.add_argument("--docs-images", default=None, metavar="DIR",
                        help="also write the figure to DIR; docs/images refreshes the docs' copy "
                             "(default: none, write only to --out)")
    parser.add_argument("--seed", type=int, default=3, help="draws the small integers of the case")
    args = parser.parse_args(argv)

    x, w, g = make_case(args.seed)
    steps = tc.conv2d_backward_steps(x, w, g, stride=STRIDE)
    max_diff = check_against_engine(x, w, g, steps)
    print(f"stride {STRIDE}: unused trailing rows {steps['unused_rows']}, cols {steps['unused_cols']}")
    print(f"max |difference| to tc.conv2d's backward: {max_diff:.1e}")
    if max_diff > 1e-9:
        raise SystemExit("the walkthrough disagrees with tc.conv2d's backward")

    fig = draw(x, w, g, steps, max_diff)
    folders = [Path(args.out)] + ([Path(args.docs_images)] if args.docs_images else [])
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        fig.savefig(folder / "backward_walkthrough.png", dpi=110, metadata={"Software": None})
        matplotlib.rcParams["svg.hashsalt"] = "backward_walkthrough"
        fig.savefig(folder / "backward_walkthrough.svg", metadata={"Date": None, "Creator": None})
        print(f"wrote {folder / 'backward_walkthrough.png'} and .svg")
    return steps


if __name__ == "__main__":
    main()
