"""Every ```python block on the doc pages runs, so the docs cannot drift from the code.

Each page's blocks run in order in one namespace. A block directly preceded by a
``<!-- skip -->`` line is not run; shell commands belong in ```bash blocks.

On the pages in ``EXEC_PAGES`` the site build runs the same blocks too (markdown-exec,
``exec="on"`` with one ``session`` per page) and shows their output under them; the
tests below check that every such block is marked so, and that the strict build passes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_conv as tc
from tinygrad_conv.registry import FUNCTIONS, OPS, unregister

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["index.md", "tutorial.md", "custom_op.md", "gallery.md", "walkthrough.md", "models.md", "pytorch.md", "derivation.md"]
EXEC_PAGES = ["index.md", "tutorial.md", "custom_op.md", "gallery.md", "pytorch.md"]  # run at build time, output on the page
FENCE = re.compile(
    r"(?P<skip><!-- skip -->\s*\n)?^```python(?P<attrs>[^\n]*)\n(?P<code>.*?)^```\s*$", re.DOTALL | re.MULTILINE
)
ATTR = re.compile(r'(\w+)="([^"]*)"')


def fenced_blocks(page: Path) -> list[tuple[int, dict[str, str], bool, str]]:
    """(line number, fence attributes, skipped, code) of each ```python block on ``page``."""
    text = page.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start("code")) + 1, dict(ATTR.findall(m.group("attrs"))), bool(m.group("skip")),
         m.group("code"))
        for m in FENCE.finditer(text)
    ]


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(line number, code) of each runnable ```python block on ``page``."""
    return [(line, code) for line, _, skipped, code in fenced_blocks(page) if not skipped]


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
                    '```bash\nls\n```\n```python title="x.py"\nb = 2\n```\n'
                    '```python exec="on" source="above" result="text" session="p"\nc = 3  # markdown-exec: hide\n```\n')
    assert [code for _, code in python_blocks(page)] == ["a = 1\n", "b = 2\n", "c = 3  # markdown-exec: hide\n"]
    attrs = [a for _, a, _, _ in fenced_blocks(page)]
    assert attrs[2] == {"title": "x.py"}
    assert attrs[3] == {"exec": "on", "source": "above", "result": "text", "session": "p"}


@pytest.mark.parametrize("name", EXEC_PAGES)
def test_exec_page_blocks_run_at_build_time_in_one_session(name):
    """The build runs what the test runs: every block but the skipped ones, in the page's one session."""
    session = name.removesuffix(".md")
    for line, attrs, skipped, _ in fenced_blocks(DOCS / name):
        where = f"docs/{name}, block at line {line}"
        if skipped:
            assert attrs.get("exec") != "on", f"{where} is skipped by the tests but run by the build"
        else:
            assert attrs.get("exec") == "on", f'{where}: add exec="on" so that the site shows its output'
            assert attrs.get("session") == session, f'{where}: add session="{session}" (one namespace per page)'


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


def test_every_public_function_is_in_the_api_reference():
    """Each function the registry exports as ``tc.<name>`` is documented under its module in docs/api.md."""
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: ([\w.]+)", api, re.MULTILINE))
    for name, fn in FUNCTIONS.items():
        op = getattr(fn, "op", None)
        module = op.forward.__module__ if op is not None else fn.__module__
        assert module in documented, f"tc.{name} is defined in {module}, which docs/api.md does not document"


def test_site_builds_strict(tmp_path):
    """``mkdocs build --strict`` (the docs extra): no warning, and every doc block's output is on its page."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("markdown_exec")
    root = DOCS.parent
    env = {key: value for key, value in os.environ.items() if key != "NO_MKDOCS_2_WARNING"}
    env["PYTHONPATH"] = str(root)
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        check=False, cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "WARNING" not in output, output
    assert (site / "derivation" / "index.html").exists()
    tutorial = (site / "tutorial" / "index.html").read_text(encoding="utf-8")
    assert "float64 (2, 2) 2" in tutorial  # the output of the first block, printed at build time
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert 'id="tinygrad_conv.ops.activations.relu"' in api  # a register_op function, documented as a function
