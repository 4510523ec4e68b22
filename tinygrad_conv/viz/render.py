"""Write a graph to a file: DOT needs nothing, SVG/PNG/PDF need Graphviz's ``dot`` executable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .graph import dot_source

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = (
    "Install Graphviz: Debian/Ubuntu 'sudo apt-get install graphviz', macOS 'brew install graphviz', "
    "conda 'conda install graphviz' (Windows: 'winget install graphviz', then add it to PATH)."
)


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` executable is not on PATH, so a graph cannot be rendered to an image."""


def find_dot() -> str | None:
    """The path of Graphviz's ``dot`` executable on PATH, or None."""
    return shutil.which("dot", path=os.environ.get("PATH", ""))


def _missing_dot(what: str) -> GraphvizNotFoundError:
    return GraphvizNotFoundError(
        f"rendering {what} needs Graphviz's 'dot' executable, which is not on PATH. {INSTALL_HINT} "
        "Without it, write the DOT text instead: render(root, 'graph.dot')."
    )


def _format_of(path: Path, format: str | None) -> str:
    if format is None:
        format = path.suffix[1:].lower()
        if format == "gv":
            format = "dot"
        if format not in FORMATS:
            raise ValueError(
                f"cannot tell the format from path {str(path)!r}: give it a suffix among {FORMATS} or pass format="
            )
    elif format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    return format


def render(root: Any, path: str | os.PathLike, format: str | None = None, **draw_options: Any) -> Path:
    """Draw the graph below ``root`` and write it to ``path``.

    Args:
        root: a Tensor or a list of Tensors.
        path: the file to write. Its suffix gives the format when ``format`` is None;
            when ``format`` is given and ``path`` has no suffix, ``.format`` is appended.
        format: "svg", "png", "pdf" or "dot" (the DOT text; needs no executable).
        **draw_options: options of ``tinygrad_conv.viz.draw_graph``.

    Returns:
        The path written.

    Raises:
        GraphvizNotFoundError: an image format was asked for and ``dot`` is not on PATH.
        ValueError: an unknown format, or a bad draw option.
    """
    path = Path(path)
    format = _format_of(path, format)
    if not path.suffix:
        path = path.with_suffix("." + format)
    source = dot_source(root, **draw_options)
    if format == "dot":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        return path
    dot = find_dot()
    if dot is None:
        raise _missing_dot(f"{path.name} as {format}")
    try:
        result = subprocess.run([dot, f"-T{format}"], input=source.encode("utf-8"), capture_output=True, check=False)
    except OSError as error:
        raise _missing_dot(f"{path.name} as {format}") from error
    if result.returncode != 0:
        raise RuntimeError(f"dot failed with exit status {result.returncode}: {result.stderr.decode(errors='replace')}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(result.stdout)
    return path


def render_or_dot(root: Any, path: str | os.PathLike, format: str = "svg", **draw_options: Any) -> Path:
    """Render to ``path`` + ``.svg`` (or ``format``) when ``dot`` exists, else write ``path`` + ``.dot``.

    For examples that must not fail on a machine without Graphviz: when ``dot`` is
    missing, it writes the DOT text and prints how to install Graphviz to stderr.

    Args:
        root: a Tensor or a list of Tensors.
        path: the file to write, without its suffix (a suffix is replaced).
        format: the image format to use when ``dot`` exists: "svg", "png" or "pdf".
        **draw_options: options of ``tinygrad_conv.viz.draw_graph``.

    Returns:
        The path written: ``path.svg`` (or the format asked) or ``path.dot``.
    """
    path = Path(path)
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if format == "dot" or find_dot() is not None:
        return render(root, path.with_suffix("." + format), **draw_options)
    written = render(root, path.with_suffix(".dot"), **draw_options)
    print(f"Graphviz's 'dot' is not on PATH, so wrote {written} instead of {path.with_suffix('.' + format)}. "
          f"{INSTALL_HINT} Then: dot -T{format} {written} -o {path.with_suffix('.' + format)}", file=sys.stderr)
    return written
