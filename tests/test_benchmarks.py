"""Smoke tests of benchmarks/train_step.py and benchmarks/op_overhead.py on tiny settings.

They check that the models build, that both frameworks agree on the losses and that the
scripts write their files; they never assert anything about speed.
"""

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ts = load("train_step")
NAMES = [case.name for case in ts.CASES]


def tiny(name):
    """The case with a batch of 2 (the seed demo as it is: one 20x20 map)."""
    case = next(c for c in ts.CASES if c.name == name)
    if len(case.input_shape) == 4:
        case = dataclasses.replace(case, input_shape=(2,) + case.input_shape[1:])
    return case


@pytest.mark.parametrize("name", NAMES)
def test_tc_steps_run_in_the_cases_dtype(name):
    case = tiny(name)
    steps, model, _ = ts.prepare(case, with_torch=False)
    for _ in range(2):
        result = steps["tc"]()
    assert result.dtype == np.dtype(case.dtype)
    ts.check_dtypes(case, model)
    if case.train:
        assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_both_frameworks_agree_on_the_first_losses(name):
    torch = pytest.importorskip("torch")
    case = tiny(name)
    rng = np.random.default_rng(0)
    batches = ts.make_batches(case, rng)
    model = ts.build_tc(case, rng)
    torch_model = ts.build_torch(case, model)
    assert list(torch_model.state_dict()) == list(model.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(torch_model.state_dict()[key].numpy().reshape(value.shape), value)
    steps = {"tc": ts.tc_step(case, model, batches), "torch": ts.torch_step(case, torch_model, batches)}
    checks = ts.check_losses(case, steps, batches, count=3)
    assert all(check["relative_difference"] <= case.rtol for check in checks)
    assert torch.get_default_dtype() == torch.float32


def test_a_mismatch_stops_with_a_clear_error():
    torch = pytest.importorskip("torch")
    case = tiny("digits")
    rng = np.random.default_rng(0)
    batches = ts.make_batches(case, rng)
    model = ts.build_tc(case, rng)
    torch_model = ts.build_torch(case, model)
    with torch.no_grad():
        torch_model[0].weight.mul_(1.5)
    steps = {"tc": ts.tc_step(case, model, batches), "torch": ts.torch_step(case, torch_model, batches)}
    with pytest.raises(ts.LossMismatchError, match="digits: the step-0 loss differs.*nothing was timed"):
        ts.check_losses(case, steps, batches)


def test_main_writes_the_table_json_and_plot(tmp_path, capsys):
    out = tmp_path / "r.json"
    argv = ["--models", "digits", "seed", "--steps", "2", "--warmup", "0", "--rounds", "1", "--settle", "0",
            "--wait-idle", "0", "--threads", "1", "--json", str(out)]
    if ts.torch is not None and importlib.util.find_spec("matplotlib"):
        argv += ["--plot", str(tmp_path / "r.png")]
    assert ts.main(argv) == 0
    printed = capsys.readouterr().out
    assert "tc ms" in printed and "torch ms" in printed
    report = json.loads(out.read_text())
    assert [row["model"] for row in report["results"]] == ["digits", "seed"]
    assert report["threads"]["requested"] == 1 and report["machine"]["cores"] >= 1
    if ts.torch is not None:
        assert all("ratio" in row and len(row["checks"]) == 2 for row in report["results"])
        assert "--plot" not in argv or (tmp_path / "r.png").stat().st_size > 1000


def test_main_without_torch_times_tc_only(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert ts.main(["--models", "seed", "--steps", "1", "--warmup", "0", "--settle", "0", "--wait-idle", "0",
                    "--no-torch", "--json", str(out)]) == 0
    assert "timing tinygrad_conv only" in capsys.readouterr().out
    row = json.loads(out.read_text())["results"][0]
    assert "tc_ms" in row and "torch_ms" not in row and "ratio" not in row


def test_profile_names_the_ops(tmp_path):
    out = tmp_path / "profile.txt"
    assert ts.main(["--models", "seed", "--steps", "2", "--warmup", "0", "--threads", "1", "--profile", str(out)]) == 0
    text = out.read_text()
    assert "conv2d vjp" in text and "engine self time" in text and "tottime" in text


def test_op_overhead_runs(tmp_path, capsys):
    oo = load("op_overhead")
    out = tmp_path / "o.json"
    rows = oo.main(["--number", "5", "--repeat", "1", "--chain", "9", "--json", str(out)])
    assert {"add", "mul", "relu", "chain of 9: backward"} <= {row.name for row in rows}
    assert "overhead" in capsys.readouterr().out
    assert len(json.loads(out.read_text())["results"]) == len(rows)
