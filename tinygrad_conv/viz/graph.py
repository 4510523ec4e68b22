"""Build the DOT description of a define-by-run graph.

The walk is the engine's own iterative ``tinygrad_conv.tensor.topological_order``,
so it is linear in the graph's size and never recurses. Op names and attributes come
from the registry's ``tinygrad_conv.registry.Op``, so a user-registered op is
drawn like a built-in one. The DOT text is produced here without the ``graphviz``
package; ``draw_graph`` wraps it in a ``graphviz.Digraph``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..tensor import Tensor, topological_order
from . import labels as L

RANKDIRS = ("TB", "LR", "BT", "RL")
COLOR_BY = ("role", "grad")
GRAPH_ATTR = {"rankdir": "TB", "nodesep": "0.3", "ranksep": "0.35", "fontname": "Helvetica"}
NODE_ATTR = {"shape": "box", "style": "filled", "fontname": "Helvetica", "fontsize": "12", "margin": "0.12,0.05"}
EDGE_ATTR = {"fontname": "Helvetica", "fontsize": "9", "fontcolor": "#666666", "color": "#555555", "arrowsize": "0.7"}


def _roots(root: Any) -> list[Tensor]:
    roots = list(root) if isinstance(root, (list, tuple)) else [root]
    if not roots:
        raise ValueError("root must be a Tensor or a non-empty list of Tensors, got an empty sequence")
    for item in roots:
        if not isinstance(item, Tensor):
            raise TypeError(f"root must be a Tensor or a list of Tensors, got {type(item).__name__}")
    return roots


def _param_names(params: Any) -> dict[int, str]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict {{name: Tensor}}, got {type(params).__name__}")
    names = {}
    for name, tensor in params.items():
        if not isinstance(name, str) or not isinstance(tensor, Tensor):
            raise TypeError(
                f"params must map str names to Tensors, got {type(name).__name__} -> {type(tensor).__name__}"
            )
        names[id(tensor)] = name
    return names


def quote(value: Any) -> str:
    """A DOT attribute value: HTML-like labels (``<...>``) as they are, anything else double-quoted."""
    text = str(value)
    if text.startswith("<") and text.endswith(">"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def attr_list(attrs: dict[str, Any]) -> str:
    """``[key=value ...]`` for a node or edge statement."""
    return "[" + " ".join(f"{key}={quote(value)}" for key, value in attrs.items()) + "]"


def _role(tensor: Tensor, is_root: bool) -> str:
    if is_root:
        return "output"
    if tensor.is_leaf:
        return "parameter" if tensor.requires_grad else "constant"
    return "intermediate"


def _legend_lines(color_by: str, grad_range: tuple[float, float] | None, slowest: float | None = None) -> list[str]:
    lines = ["\tsubgraph cluster_legend {\n", '\t\tlabel="legend" fontsize=11 style=dashed color="#999999"\n']
    keys = []
    for index, role in enumerate(L.ROLE_COLORS):
        style = "rounded,filled" if role == "op" else "filled"
        attrs = {"label": L.ROLE_TITLES[role], "fillcolor": L.ROLE_COLORS[role], "color": L.ROLE_BORDERS[role],
                 "style": style, "fontsize": "10", "class": "legend"}
        if color_by == "grad" and role != "op":
            attrs.update(fillcolor="white", penwidth="2", label=f"{role} (border colour)")
        keys.append(f"legend{index}")
        lines.append(f"\t\tlegend{index} {attr_list(attrs)}\n")
    if color_by == "grad":
        low, high = grad_range if grad_range else (0.0, 0.0)
        shades = [("no grad", L.NO_GRAD_FILL, "black"), (f"mean|g| {L.fmt(low)}", L.GRAD_PALETTE[0], "black"),
                  (f"mean|g| {L.fmt(high)}", L.GRAD_PALETTE[-1], "white")]
        for index, (text, fill, font) in enumerate(shades, start=len(keys)):
            keys.append(f"legend{index}")
            attrs = {"label": text, "fillcolor": fill, "fontcolor": font, "fontsize": "10", "class": "legend"}
            lines.append(f"\t\tlegend{index} {attr_list(attrs)}\n")
    if slowest is not None:
        for index, (text, fill) in enumerate([("op: fastest", L.TIME_PALETTE[0]),
                                              (f"op: slowest, {slowest * 1e3:.3g} ms", L.TIME_PALETTE[-1])],
                                             start=len(keys)):
            keys.append(f"legend{index}")
            attrs = {"label": text, "fillcolor": fill, "shape": "box", "style": "rounded,filled", "fontsize": "10",
                     "class": "legend"}
            lines.append(f"\t\tlegend{index} {attr_list(attrs)}\n")
    lines.append("\t\t" + " -> ".join(keys) + " [style=invis]\n")
    lines.append("\t}\n")
    return lines


def graph_body(
    root: Any,
    *,
    params: dict[str, Tensor] | None = None,
    show_grad: bool = True,
    show_values: bool = False,
    max_nodes: int | None = None,
    color_by: str = "role",
    legend: bool = False,
    show_defaults: bool = False,
    profile: Any = None,
) -> list[str]:
    """The node and edge statements of the graph below ``root``, one string per DOT line.

    Takes the options of ``draw_graph`` (except ``rankdir``) and raises the same errors.
    """
    roots = _roots(root)
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {COLOR_BY}, got {color_by!r}")
    if max_nodes is not None and (not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1):
        raise ValueError(f"max_nodes must be a positive int or None, got {max_nodes!r}")
    names = _param_names(params)
    order = topological_order(roots)
    n_ops = sum(1 for t in order if t._node is not None)
    if max_nodes is not None and len(order) + n_ops > max_nodes:
        raise ValueError(
            f"the graph has {len(order) + n_ops} nodes ({len(order)} tensors and {n_ops} op applications), "
            f"more than max_nodes={max_nodes}; pass a larger max_nodes= (or max_nodes=None for no limit)"
        )
    root_ids = {id(t) for t in roots}
    grad_range = None
    if color_by == "grad":
        means = [L.grad_stats(t.grad)[1] for t in order if t.grad is not None]
        positive = [m for m in means if m > 0 and m != float("inf")]
        grad_range = (min(positive), max(positive)) if positive else None

    op_seconds: dict[int, float] = {}
    if profile is not None:
        if not hasattr(profile, "node_seconds"):
            raise TypeError(f"profile must be a tc.profile, got {type(profile).__name__}")
        for t in order:
            seconds = None if t._node is None else profile.node_seconds(t._node)
            if seconds is not None:
                op_seconds[id(t)] = seconds
    slowest, graph_seconds = max(op_seconds.values(), default=0.0), sum(op_seconds.values()) or 1.0

    index = {id(t): i for i, t in enumerate(order)}
    declared: set[int] = set()
    body: list[str] = []

    def declare(tensor: Tensor) -> None:
        role = _role(tensor, id(tensor) in root_ids)
        name = names.get(id(tensor), tensor.name)
        attrs = {
            "label": L.tensor_label(tensor, name, show_grad=show_grad, show_values=show_values,
                                    plain=color_by == "grad"),
            "fillcolor": L.ROLE_COLORS[role],
            "color": L.ROLE_BORDERS[role],
            "class": f"tensor {role}",
        }
        if color_by == "grad":
            if tensor.grad is None:
                fill, font = L.NO_GRAD_FILL, "black"
            else:
                low, high = grad_range or (1.0, 1.0)
                fill, font = L.grad_fill(L.grad_stats(tensor.grad)[1], low, high)
            attrs.update(fillcolor=fill, fontcolor=font, penwidth="2")
        declared.add(id(tensor))
        body.append(f"\tt{index[id(tensor)]} {attr_list(attrs)}\n")

    for i, tensor in enumerate(order):
        node = tensor._node
        if node is None:
            continue
        # Leaves are declared just before their first consumer, in input order, so dot tends
        # to lay an op's inputs out left to right as (x, weight, bias) rather than reversed.
        for parent in node.inputs:
            if parent is not None and id(parent) not in declared:
                declare(parent)
        declare(tensor)
        op_attrs = {"label": L.op_label(node.op, node.attrs, show_defaults), "shape": "box", "style": "rounded,filled",
                    "fillcolor": L.ROLE_COLORS["op"], "color": L.ROLE_BORDERS["op"], "class": "op"}
        if profile is not None:
            seconds = op_seconds.get(id(tensor), 0.0)
            fill, font = L.time_fill(seconds, slowest)
            op_attrs.update(fillcolor=fill, fontcolor=font, penwidth="2",
                            label=op_attrs["label"][:-1] + "<BR/>" + L.time_text(seconds, seconds / graph_seconds) + ">")
        body.append(f"\top{i} {attr_list(op_attrs)}\n")
        labelled = sum(1 for parent in node.inputs if parent is not None) > 1
        for slot, parent in enumerate(node.inputs):
            if parent is None:
                continue
            edge = f" {attr_list({'label': node.op.input_name(slot)})}" if labelled else ""
            body.append(f"\tt{index[id(parent)]} -> op{i}{edge}\n")
        body.append(f"\top{i} -> t{i}\n")
    for tensor in order:
        if id(tensor) not in declared:  # a leaf that no op consumes: a root
            declare(tensor)
    if legend:
        body.extend(_legend_lines(color_by, grad_range, slowest if profile is not None else None))
    return body


def _graph_attr(rankdir: str) -> dict[str, str]:
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    return {**GRAPH_ATTR, "rankdir": rankdir}


def dot_source(root: Any, *, rankdir: str = "TB", **options: Any) -> str:
    """The DOT text of ``draw_graph``, built without the ``graphviz`` package.

    Args:
        root: a Tensor or a list of Tensors.
        rankdir: the layout direction, "TB", "LR", "BT" or "RL".
        **options: the other options of ``draw_graph``.

    Returns:
        The DOT source as a string.
    """
    head = [
        "digraph tinygrad_conv {\n",
        f"\tgraph {attr_list(_graph_attr(rankdir))}\n",
        f"\tnode {attr_list(NODE_ATTR)}\n",
        f"\tedge {attr_list(EDGE_ATTR)}\n",
    ]
    return "".join(head + graph_body(root, **options) + ["}\n"])


def draw_graph(
    root: Tensor | Sequence[Tensor],
    *,
    params: dict[str, Tensor] | None = None,
    show_grad: bool = True,
    show_values: bool = False,
    rankdir: str = "TB",
    max_nodes: int | None = None,
    color_by: str = "role",
    legend: bool = False,
    show_defaults: bool = False,
    profile: Any = None,
) -> Any:
    """Draw the graph that built ``root`` as a ``graphviz.Digraph`` (needs no executable).

    One box per tensor and one rounded box per op application, with edges in the
    direction data flows. An op box shows the op's registered name and its
    non-default attributes (conv2d: stride, padding, dilation). A tensor box shows
    its name (from ``params`` or ``Tensor(name=...)``), shape and dtype, and, with
    ``show_grad``, the norm and mean |grad| of a tensor that has ``.grad`` (leaves
    after backward; intermediates only after ``retain_grad()``).

    Legend (``color_by="role"``), drawn as a key with ``legend=True``:

    - blue: parameter, a leaf that requires grad;
    - grey: constant, a leaf that does not (inputs, targets, Python numbers);
    - white: intermediate, made by an op;
    - green: output, a tensor passed as ``root``;
    - yellow, rounded: an op application.

    With ``color_by="grad"`` the fill shades each tensor by its mean |grad| on a log
    scale, from pale yellow (smallest in the graph) to dark red (largest); pale grey
    means no grad, purple a non-finite one. The border keeps the role colour.

    With ``profile=`` (a ``tc.profile`` that recorded this graph's forward and backward) each
    op box shows its forward plus backward time and share, and its fill runs from pale
    yellow (fastest) to dark red (the slowest op in the graph): where a step's time goes.

    Args:
        root: a Tensor or a list of Tensors (the outputs).
        params: {name: Tensor} naming leaves, as in pytorchviz.
        show_grad: show grad norm and mean |grad| where a tensor has ``.grad``.
        show_values: show mean, std, min and max of each tensor's data, or the
            values themselves for a tensor of at most 9 elements.
        rankdir: layout direction: "TB" (inputs on top), "LR", "BT" or "RL".
        max_nodes: raise if the picture would have more nodes (tensors plus ops).
        color_by: "role" or "grad".
        legend: add a small key explaining the colours.
        show_defaults: also show op attributes left at their default (conv2d stride=1).
        profile: a ``tc.profile`` whose per-op times colour the op boxes.

    Returns:
        A ``graphviz.Digraph``; ``.source`` is the DOT text, and Jupyter shows it inline.

    Raises:
        ValueError: over ``max_nodes``, or a bad ``rankdir``/``color_by``.
        TypeError: ``root`` or ``params`` of the wrong type.
        ImportError: the ``graphviz`` Python package is not installed.
    """
    graphviz = import_graphviz()
    body = graph_body(root, params=params, show_grad=show_grad, show_values=show_values,
                      max_nodes=max_nodes, color_by=color_by, legend=legend, show_defaults=show_defaults,
                      profile=profile)
    return graphviz.Digraph(name="tinygrad_conv", graph_attr=_graph_attr(rankdir), node_attr=NODE_ATTR,
                            edge_attr=EDGE_ATTR, body=body)


def import_graphviz() -> Any:
    """The ``graphviz`` package, imported lazily; ImportError with the install command if missing."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "drawing graphs needs the 'graphviz' Python package: pip install 'tinygrad_conv[viz]' "
            "(or pip install graphviz)"
        ) from None
    return graphviz
