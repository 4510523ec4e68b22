"""Smoke tests of examples/digits_cnn.py: short runs write every file, --load reads the model back, all in float32."""

import os
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

OUTPUTS = ("model.npz", "curves.png", "confusion.png", "filters.png")


@pytest.fixture(autouse=True)
def _agg_backend():
    import matplotlib

    matplotlib.use("Agg")


def test_digits_example_trains_saves_and_loads(tmp_path):
    import digits_cnn

    accuracy = digits_cnn.main(["--epochs", "2", "--out", str(tmp_path)])
    for name in OUTPUTS:
        assert (tmp_path / name).stat().st_size > 0, name
    assert accuracy > 0.8  # two epochs already beat chance by far (the full run reaches >= 98%)
    assert digits_cnn.main(["--load", str(tmp_path / "model.npz")]) == pytest.approx(accuracy)


def test_dwsep_example_trains_saves_and_loads_its_running_statistics(tmp_path):
    import digits_cnn

    import tinygrad_conv as tc

    accuracy = digits_cnn.main(["--model", "dwsep", "--epochs", "2", "--out", str(tmp_path)])
    for name in OUTPUTS:
        assert (tmp_path / name).stat().st_size > 0, name
    assert {"graph.svg", "graph.dot"} & {path.name for path in tmp_path.iterdir()}  # .dot without Graphviz
    assert accuracy > 0.5  # chance is 0.1 (the full run reaches about 99%)

    state = tc.load(tmp_path / "model.npz")
    assert digits_cnn.model_of(state) == "dwsep"
    for norm in ("1", "6"):  # the two BatchNorm2d layers' buffers travel with the weights
        assert state[f"{norm}.num_batches_tracked"] == 2 * 90  # two epochs of 90 batches (1,437 images by 16)
        assert state[f"{norm}.running_mean"].dtype == np.float32
        assert not np.all(state[f"{norm}.running_var"] == 1)  # moved away from their initial ones

    # --load tells the model from the file, and evaluates with the saved running statistics.
    assert digits_cnn.main(["--load", str(tmp_path / "model.npz")]) == pytest.approx(accuracy)
    fresh = digits_cnn.make_model(1, "dwsep")
    fresh.load_state_dict(state)
    assert all(np.array_equal(fresh.state_dict()[key], value) for key, value in state.items())


def test_dwsep_model_layers_and_parameter_counts():
    import digits_cnn

    dwsep = digits_cnn.make_model(0, "dwsep")
    depthwise, pointwise = dwsep[4], dwsep[5]
    assert depthwise.weight.shape == (32, 1, 3, 3) and depthwise.groups == 32 and depthwise.bias is None
    assert pointwise.weight.shape == (64, 32, 1, 1) and pointwise.bias is None
    assert digits_cnn.count_parameters(dwsep) == 5_386
    assert digits_cnn.count_parameters(digits_cnn.make_model(0, "cnn")) == 21_386
    with pytest.raises(ValueError, match="model must be one of"):
        digits_cnn.make_model(0, "resnet")


@pytest.mark.parametrize("model_name", ["cnn", "dwsep"])
def test_digits_models_train_in_float32(model_name):
    """Every parameter, buffer, activation and gradient is float32, in training and in evaluation."""
    import digits_cnn

    import tinygrad_conv as tc

    f32 = np.dtype(np.float32)
    model = digits_cnn.make_model(0, model_name)
    X_train, _, y_train, _ = digits_cnn.load_split(0)
    assert X_train.dtype == f32
    assert {p.dtype for p in model.parameters()} == {f32}
    assert {np.dtype(b.dtype) for _, b in model.named_buffers() if isinstance(b, tc.Tensor)} <= {f32}
    for training in (True, False):
        model.train(training)
        model.zero_grad()
        activations = [tc.Tensor(X_train[:8])]
        for layer in model:
            activations.append(layer(activations[-1]))
            activations[-1].retain_grad()
        loss = tc.cross_entropy(activations[-1], y_train[:8])
        assert loss.dtype == f32
        loss.backward()
        assert [a.dtype for a in activations] == [f32] * len(activations)
        assert [a.grad.dtype for a in activations[1:]] == [f32] * (len(activations) - 1)
        assert all(p.grad is not None and p.grad.dtype == f32 for p in model.parameters())
