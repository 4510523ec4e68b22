"""A smoke test of examples/digits_cnn.py: one short epoch writes every file, and --load reads the model back."""

import os
import sys

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))


def test_digits_example_trains_saves_and_loads(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import digits_cnn

    accuracy = digits_cnn.main(["--epochs", "2", "--out", str(tmp_path)])
    for name in ("model.npz", "curves.png", "confusion.png", "filters.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert accuracy > 0.8  # two epochs already beat chance by far (the full run reaches >= 98%)
    assert digits_cnn.main(["--load", str(tmp_path / "model.npz")]) == pytest.approx(accuracy)
