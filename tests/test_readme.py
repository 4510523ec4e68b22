"""The README's Python blocks run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index):
    import tinygrad_conv as tc

    namespace = {"__name__": f"readme_block_{index}"}
    try:
        exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), namespace)  # noqa: S102 - the point of the test
    finally:
        for name in [n for n, op in tc.OPS.items() if op.forward.__module__ == namespace["__name__"]]:
            tc.registry.unregister(name)
