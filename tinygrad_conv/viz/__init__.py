"""Draw the define-by-run graph with Graphviz: op boxes with their attributes, tensor boxes with grads.

    import tinygrad_conv as tc
    loss.backward()
    tc.viz.draw_graph(loss, params={"w": w})      # a graphviz.Digraph; .source is the DOT text
    tc.viz.render(loss, "out/graph.svg")          # needs Graphviz's `dot`
    loss.draw()                                   # the same as draw_graph(loss)

The ``graphviz`` Python package is an optional extra (``pip install 'tinygrad_conv[viz]'``),
imported only when a Digraph is built. The tensor core does not import this module;
importing it attaches ``Tensor.draw``.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .graph import dot_source, draw_graph
from .render import INSTALL_HINT, GraphvizNotFoundError, find_dot, render, render_or_dot


def _draw(self: Tensor, **options: Any) -> Any:
    """Draw the graph that built this tensor: ``tc.viz.draw_graph(self, **options)``.

    Returns:
        A ``graphviz.Digraph`` (shown inline in Jupyter).
    """
    return draw_graph(self, **options)


_draw.__name__ = _draw.__qualname__ = "draw"
Tensor.draw = _draw

__all__ = ["INSTALL_HINT", "GraphvizNotFoundError", "dot_source", "draw_graph", "find_dot", "render", "render_or_dot"]
