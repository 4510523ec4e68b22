"""The examples run end to end (short runs) and write their pictures."""

import importlib.util
import re
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


def final_error(capsys):
    printed = capsys.readouterr().out
    match = re.search(r"max \|learned - true\| = (\S+) ", printed)
    return float(match.group(1)), printed


def test_kernel_recovery_by_default_recovers_and_says_so(tmp_path, capsys):
    kr = load("kernel_recovery")
    assert kr.main(["--out", str(tmp_path)]) == 0
    error, printed = final_error(capsys)
    assert error < 1e-2
    assert "adam, lr 0.2 (cosine), identity start, seed 0" in printed
    last = printed.rstrip().splitlines()[-5:]  # the explanation comes last
    assert last[0].startswith(f"What {error:.3g} means") and "composition" in last[0] + last[1]
    assert last[3].startswith("Recovered.") and "product is 1.0000" in last[4]


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_kernel_recovery_default_settings_recover_other_seeds(seed):
    kr = load("kernel_recovery")
    losses, params, _ = kr.train(seed=seed, quiet=True)
    learned, _ = kr.compose(params["w1"].data, 0.0, params["w2"].data, 0.0)
    true, _ = kr.compose(kr.K1, 0.0, kr.K2, 0.0)
    assert np.abs(learned - true).max() < 1e-2 and losses[-1] < 1e-6 * losses[0]


def test_kernel_recovery_seed_settings_reproduce_the_seed_and_explain(tmp_path, capsys):
    kr = load("kernel_recovery")
    assert kr.main(["--seed-settings", "--out", str(tmp_path)]) == 0
    error, printed = final_error(capsys)
    assert "sgd, lr 3e-05 (constant), normal start, seed 0" in printed
    assert "loss: 54752.9 at step 0 -> 158.766 at step 1999" in printed  # the seed's numbers
    assert error > 0.5
    assert "Not recovered, though the loss fell to 0.29% of its start" in printed
    assert "condition number 3.93e+03" in printed and "spurious valleys" in printed
    assert printed.rstrip().endswith("to recover the kernel.")
    assert kr.main(["--seed-settings", "--steps", "50", "--out", str(tmp_path)]) == 0  # explicit options win
    assert "training 50 steps: sgd" in capsys.readouterr().out


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("init", ["identity", "normal"])
def test_kernel_recovery_loss_falls(optimizer, init):
    kr = load("kernel_recovery")
    losses, *_ = kr.train(seed=0, steps=2000, optimizer=optimizer, quiet=True, init=init)
    assert losses[-1] < 0.05 * losses[0]
    if optimizer != "sgd" and init == "identity":
        assert losses[-1] < 1e-3 * losses[0]


def test_kernel_recovery_bar_never_mixes_with_lines(capsys):
    pytest.importorskip("tqdm")
    kr = load("kernel_recovery")
    kr.train(steps=200)  # stderr is not a terminal under pytest: no bar at all, only the loss lines
    captured = capsys.readouterr()
    assert captured.err == ""
    assert [line.split(":")[0] for line in captured.out.splitlines()] == ["step    99", "step   199"]


def help_entries(module, capsys):
    """The --help text's description and its options, each option's entry as one line."""
    with pytest.raises(SystemExit) as info:
        module.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    head, options = text.split("\noptions:\n")
    entries = []
    for line in options.splitlines():
        if re.match(r"^  -", line):
            entries.append(line.strip())
        elif entries:
            entries[-1] += " " + line.strip()
    return head, entries


@pytest.mark.parametrize("name", ["kernel_recovery", "digits_cnn", "backward_walkthrough", "draw_graphs"])
def test_every_example_option_is_described_with_its_default(name, capsys):
    if name in ("digits_cnn", "backward_walkthrough"):
        pytest.importorskip("matplotlib")
    head, entries = help_entries(load(name), capsys)
    description = head.split("\n\n", 1)[1]  # after the usage lines
    assert len(description) > 60, f"{name} has no description"
    for entry in entries:
        if not entry.startswith("-h, --help"):
            option = entry.split()[0]
            assert len(entry) > len(option) + 20, f"{name} {option} has no help"
            assert "default" in entry, f"{name} {option} does not give its default"


def test_composed_kernel_is_the_single_equivalent_conv(rng):
    import tinygrad_conv as tc

    kr = load("kernel_recovery")
    k1, k2, x = rng.standard_normal((3, 3)), rng.standard_normal((4, 4)), rng.standard_normal((20, 20))
    composed, bias = kr.compose(k1, 0.3, k2, -0.2)
    two_layers = tc.conv2d(tc.conv2d(x, k1, 0.3), k2, -0.2, stride=2)
    np.testing.assert_allclose(tc.conv2d(x, composed, bias, stride=2).data, two_layers.data, rtol=1e-12)


def test_backward_walkthrough_writes_only_where_asked(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    docs_images = EXAMPLES.parent / "docs" / "images"
    before = {p: p.stat().st_mtime_ns for p in docs_images.glob("backward_walkthrough.*")}
    monkeypatch.chdir(tmp_path)
    walkthrough = load("backward_walkthrough")
    walkthrough.main([])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["backward_walkthrough.png",
                                                                   "backward_walkthrough.svg"]
    walkthrough.main(["--out", "elsewhere", "--docs-images", "copy"])
    assert len(list((tmp_path / "elsewhere").iterdir())) == len(list((tmp_path / "copy").iterdir())) == 2
    assert {p: p.stat().st_mtime_ns for p in docs_images.glob("backward_walkthrough.*")} == before
    assert "max |difference|" in capsys.readouterr().out
