"""A smoke test of examples/digits_cnn.py: one short epoch writes every file, and --load reads the model back."""

import os
import sys

import numpy as np
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


def test_digits_model_trains_in_float32():
    import digits_cnn

    model = digits_cnn.make_model(0)
    X_train, *_ = digits_cnn.load_split(0)
    assert X_train.dtype == np.float32
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    logits = model(X_train[:4])
    assert logits.dtype == np.float32
    logits.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
