"""Every ```python block on the doc pages runs, so the docs cannot drift from the code.

Each page's blocks run in order in one namespace. A block directly preceded by a
``<!-- skip -->`` line is not run; shell commands belong in ```bash blocks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tinygrad_conv as tc
from tinygrad_conv.registry import FUNCTIONS, OPS, unregister

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["index.md", "tutorial.md", "custom_op.md", "walkthrough.md", "models.md"]
FENCE = re.compile(r"(?P<skip><!-- skip -->\s*\n)?^```python[^\n]*\n(?P<code>.*?)^```\s*$", re.DOTALL | re.MULTILINE)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(line number, code) of each runnable ```python block on ``page``."""
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start("code")) + 1, m.group("code"))
        for m in FENCE.finditer(text)
        if not m.group("skip")
    ]


@pytest.fixture
def clean_registry():
    """Undo the ops that a page registers, so that other tests see the built-in registry only."""
    before = set(OPS) | set(FUNCTIONS)
    yield
    for name in (set(OPS) | set(FUNCTIONS)) - before:
        unregister(name)


def test_fence_pattern_finds_blocks_and_honours_skip(tmp_path):
    page = tmp_path / "p.md"
    page.write_text('```python\na = 1\n```\n\n<!-- skip -->\n```python\nraise SystemExit\n```\n'
                    '```bash\nls\n```\n```python title="x.py"\nb = 2\n```\n')
    assert [code for _, code in python_blocks(page)] == ["a = 1\n", "b = 2\n"]


@pytest.mark.parametrize("name", PAGES)
def test_page_code_blocks_run(name, clean_registry, tmp_path, monkeypatch, capsys):
    blocks = python_blocks(DOCS / name)
    assert blocks, f"{name} has no ```python block"
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    namespace: dict = {"__name__": f"docs_{name.removesuffix('.md')}"}
    for line, code in blocks:
        try:
            exec(compile(code, f"{DOCS / name}:{line}", "exec"), namespace)  # noqa: S102 - running the docs is the point
        except Exception as error:  # noqa: BLE001 - any failure of a doc block fails the test
            pytest.fail(f"docs/{name}, block at line {line} raised {type(error).__name__}: {error}")


def test_site_builds_strict(tmp_path):
    """``mkdocs build --strict`` (the docs extra): no warning, every page and docstring resolves."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    import os
    import subprocess
    import sys

    root = DOCS.parent
    env = {**os.environ, "PYTHONPATH": str(root), "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        check=False, cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "derivation" / "index.html").exists()
