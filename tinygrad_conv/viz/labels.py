"""Labels and colours for graph nodes: compact numbers, HTML-like labels, the legend's palette.

Every number goes through ``fmt`` (3 significant digits, short exponents), so a
label never carries a 12-digit float. Labels are Graphviz HTML-like labels: one short
line each, so ``dot`` sizes the boxes to the text and nothing overlaps.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

# Fill colours by role; the legend and draw_graph's docstring describe the same table.
ROLE_COLORS = {
    "parameter": "#b3d4fc",  # leaf that requires grad
    "constant": "#e4e4e4",  # leaf that does not require grad (inputs, targets, literals)
    "intermediate": "#ffffff",  # made by an op
    "output": "#b8e6b0",  # a root passed to draw_graph
    "op": "#ffe8a3",  # one op application
}
ROLE_BORDERS = {
    "parameter": "#1f5fae",
    "constant": "#8a8a8a",
    "intermediate": "#555555",
    "output": "#2e7d32",
    "op": "#b08800",
}
ROLE_TITLES = {
    "parameter": "parameter (leaf, requires grad)",
    "constant": "constant (leaf, no grad)",
    "intermediate": "intermediate",
    "output": "output",
    "op": "op application",
}
# Light to dark (ColorBrewer YlOrRd): small to large mean |grad| when color_by="grad".
GRAD_PALETTE = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026")
NO_GRAD_FILL = "#f5f5f5"
SMALL = 10  # point size of the detail lines


def fmt(value: float) -> str:
    """A number in 3 significant digits with a short exponent: 1.23456e-05 -> '1.23e-5'."""
    value = float(value)
    if value == 0:
        return "0"
    text = f"{value:.3g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def fmt_shape(shape: tuple[int, ...]) -> str:
    """'(3, 3)' for a shape, 'scalar' for a 0-d one."""
    if shape == ():
        return "scalar"
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(n) for n in shape) + ")"


def fmt_attr(value: Any) -> str:
    """An op attribute as short text: equal pairs collapse (stride (2, 2) -> 2), floats get 3 digits."""
    value = collapse(value)
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(fmt_attr(v) for v in value) + ")"
    if isinstance(value, (float, np.floating)):
        return fmt(value)
    if isinstance(value, np.ndarray):
        return f"array{fmt_shape(value.shape)}"
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def collapse(value: Any) -> Any:
    """A tuple or list whose items are all equal becomes that item; anything else is unchanged."""
    if isinstance(value, (tuple, list)) and value and all(_equal(v, value[0]) for v in value[1:]):
        return value[0]
    return value


def _equal(a: Any, b: Any) -> bool:
    try:
        result = a == b
    except (TypeError, ValueError):
        return False
    return isinstance(result, (bool, np.bool_)) and bool(result)


def shown_attrs(op: Any, attrs: dict[str, Any], show_defaults: bool = False) -> dict[str, Any]:
    """The attributes worth a label: the op's non-default ones (after collapsing equal pairs), or all."""
    if show_defaults:
        return dict(attrs)
    shown = {}
    for key, value in op.non_default_attrs(attrs).items():
        if key in op.defaults and _equal(collapse(value), op.defaults[key]):
            continue
        shown[key] = value
    return shown


def value_lines(data: np.ndarray) -> list[str]:
    """The values of a tensor of at most 9 elements (one line per row), else mean/std/min/max."""
    if data.size == 0:
        return ["empty"]
    if data.size <= 9:
        if data.ndim == 0:
            return [fmt(data)]
        rows = data.reshape(-1, data.shape[-1]) if data.ndim >= 2 else data.reshape(1, -1)
        return ["[" + " ".join(fmt(v) for v in row) + "]" for row in rows]
    return [
        f"mean {fmt(data.mean())}  std {fmt(data.std())}",
        f"min {fmt(data.min())}  max {fmt(data.max())}",
    ]


def grad_stats(grad: np.ndarray) -> tuple[float, float]:
    """(L2 norm, mean |grad|) of a gradient."""
    if grad.size == 0:
        return 0.0, 0.0
    magnitude = np.abs(grad)
    return float(np.sqrt(np.vdot(grad, grad).real)), float(magnitude.mean())


def _small(text: str, color: str | None = "#333333") -> str:
    colour = f' COLOR="{color}"' if color else ""
    return f'<FONT POINT-SIZE="{SMALL}"{colour}>{text}</FONT>'


def grad_text(grad: np.ndarray) -> str:
    """'grad 0.5' for a one-element grad, else 'grad: norm 1.2, mean|g| 0.03'."""
    if grad.size == 1:
        return f"grad {fmt(grad.reshape(()))}"
    norm, mean_abs = grad_stats(grad)
    return f"grad: norm {fmt(norm)}, mean|g| {fmt(mean_abs)}"


def tensor_label(tensor: Any, name: str | None, *, show_grad: bool, show_values: bool, plain: bool = False) -> str:
    """An HTML-like label: name (bold), shape and dtype, then grad and value lines.

    With ``plain`` the detail lines take the node's font colour (for shaded fills).
    """
    grad_color, value_color = (None, None) if plain else ("#7a1f00", "#1f3f7a")
    lines = []
    if name:
        lines.append(f"<B>{html.escape(name)}</B>")
    lines.append(f"{fmt_shape(tensor.shape)} {tensor.dtype}")
    if show_grad and tensor.grad is not None:
        lines.append(_small(html.escape(grad_text(tensor.grad)), grad_color))
    literal = tensor.is_leaf and not tensor.requires_grad and not name and tensor.size == 1
    if show_values or literal:
        lines.extend(_small(html.escape(line), value_color) for line in value_lines(tensor.data))
    return "<" + "<BR/>".join(lines) + ">"


def op_label(op: Any, attrs: dict[str, Any], show_defaults: bool = False) -> str:
    """An HTML-like label: the op's registered name (bold) and its non-default attributes."""
    lines = [f"<B>{html.escape(op.name)}</B>"]
    shown = shown_attrs(op, attrs, show_defaults)
    if shown:
        text = ", ".join(f"{key}={fmt_attr(value)}" for key, value in shown.items())
        lines.append(_small(html.escape(text)))
    return "<" + "<BR/>".join(lines) + ">"


TIME_PALETTE = GRAD_PALETTE[:6]  # light enough that an op box's dark detail lines stay readable


def time_fill(seconds: float, slowest: float) -> tuple[str, str]:
    """(fill, font colour) for an op's time on a linear scale up to the slowest op's: where a step goes."""
    position = seconds / slowest if slowest > 0 else 0.0
    index = round(float(np.clip(position, 0, 1)) * (len(TIME_PALETTE) - 1))
    return TIME_PALETTE[index], "black"


def time_text(seconds: float, share: float) -> str:
    """The small line under a profiled op's name: its forward plus backward time and share of the graph's."""
    return _small(html.escape(f"{seconds * 1e3:.3g} ms ({100 * share:.0f}%)"), "#222222")


def grad_fill(mean_abs: float, low: float, high: float) -> tuple[str, str]:
    """(fill, font colour) for a mean |grad| on a log scale between ``low`` and ``high``."""
    if mean_abs <= 0 or not np.isfinite(mean_abs):
        return (GRAD_PALETTE[0], "black") if mean_abs == 0 else ("#7f00ff", "white")
    span = np.log10(high) - np.log10(low) if low > 0 and high > low else 0.0
    position = 0.5 if span == 0 else (np.log10(mean_abs) - np.log10(low)) / span
    index = round(float(np.clip(position, 0, 1)) * (len(GRAD_PALETTE) - 1))
    return GRAD_PALETTE[index], "white" if index >= len(GRAD_PALETTE) - 2 else "black"
