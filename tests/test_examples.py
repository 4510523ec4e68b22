"""The examples run end to end (short runs) and write their pictures."""

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_kernel_recovery_writes_its_pictures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    kr = load("kernel_recovery")
    assert kr.main(["--steps", "200", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "step    99: loss" in printed and "composed 6x6" in printed
    for name in ("loss.png", "kernels.png"):
        assert (tmp_path / name).stat().st_size > 1000
    graph = tmp_path / "graph.svg" if shutil.which("dot") else tmp_path / "graph.dot"
    text = graph.read_text()
    assert text.count("conv2d") >= 2 and "stride=2" in text and all(p in text for p in ("w1", "b1", "w2", "b2"))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_kernel_recovery_loss_falls(optimizer):
    kr = load("kernel_recovery")
    losses, *_ = kr.train(seed=0, steps=2000, optimizer=optimizer, quiet=True)
    assert losses[-1] < 0.05 * losses[0]
    if optimizer != "sgd":
        assert losses[-1] < 1e-3 * losses[0]


def test_composed_kernel_is_the_single_equivalent_conv(rng):
    import tinygrad_conv as tc

    kr = load("kernel_recovery")
    k1, k2, x = rng.standard_normal((3, 3)), rng.standard_normal((4, 4)), rng.standard_normal((20, 20))
    composed, bias = kr.compose(k1, 0.3, k2, -0.2)
    two_layers = tc.conv2d(tc.conv2d(x, k1, 0.3), k2, -0.2, stride=2)
    np.testing.assert_allclose(tc.conv2d(x, composed, bias, stride=2).data, two_layers.data, rtol=1e-12)
