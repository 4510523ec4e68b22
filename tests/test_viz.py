"""Tests for tc.viz: DOT structure, labels, big graphs, the missing-`dot` error, real SVG renders."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv.viz.labels import fmt

ROOT = Path(__file__).resolve().parents[1]
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot executable is not installed")

NODE = re.compile(r"^\t(t|op)(\d+) \[(.*)\]$", re.MULTILINE)
EDGE = re.compile(r"^\t(\w+) -> (\w+)", re.MULTILINE)


def parse(source: str) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
    """({tensor id: attrs}, {op id: attrs}, edges) from the DOT text (legend excluded)."""
    tensors, ops = {}, {}
    for kind, number, attrs in NODE.findall(source):
        (tensors if kind == "t" else ops)[kind + number] = attrs
    edges = [(a, b) for a, b in EDGE.findall(source) if not a.startswith("legend")]
    return tensors, ops, edges


def op_names(ops: dict[str, str]) -> list[str]:
    return sorted(re.search(r"<B>(\w+)</B>", attrs).group(1) for attrs in ops.values())


def seed_model(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = tc.Tensor(rng.normal(1.0, 1.0, (20, 20)), name="x")
    target = tc.Tensor(rng.standard_normal((8, 8)))
    params = {
        "w1": tc.Tensor(rng.standard_normal((3, 3)), requires_grad=True),
        "b1": tc.Tensor(rng.standard_normal(()), requires_grad=True),
        "w2": tc.Tensor(rng.standard_normal((4, 4)), requires_grad=True),
        "b2": tc.Tensor(rng.standard_normal(()), requires_grad=True),
    }
    hidden = tc.conv2d(x, params["w1"], params["b1"], stride=1)
    out = tc.conv2d(hidden, params["w2"], params["b2"], stride=2)
    loss = (out - target).sum_of_squares()
    return loss, params


# --- structure ------------------------------------------------------------------
def test_one_op_node_per_application_in_seed_model():
    loss, params = seed_model()
    tensors, ops, edges = parse(tc.viz.draw_graph(loss, params=params).source)
    assert op_names(ops) == ["conv2d", "conv2d", "sub", "sum_of_squares"]
    # x, w1, b1, w2, b2, target, and one output per op
    assert len(tensors) == 6 + 4
    assert len(edges) == 3 + 3 + 2 + 1 + 4  # op inputs, then one op -> output edge per op


def test_diamond_draws_shared_tensor_once_with_two_out_edges():
    w = tc.Tensor(np.ones(3), requires_grad=True)
    a = w * 2.0
    loss = (a.relu() + a.sigmoid()).sum_of_squares()
    tensors, ops, edges = parse(tc.viz.draw_graph(loss).source)
    assert op_names(ops) == ["add", "mul", "relu", "sigmoid", "sum_of_squares"]
    assert len(tensors) == 2 + 5  # w, the literal 2.0, five op outputs
    a_id = next(b for a_, b in edges if a_ == next(o for o in ops if "mul" in ops[o]))
    assert sum(1 for src, _ in edges if src == a_id) == 2


def test_same_tensor_twice_into_one_op_gives_two_edges():
    a = tc.Tensor(np.arange(3.0), requires_grad=True)
    loss = (a * a).sum_of_squares()
    tensors, ops, edges = parse(loss.draw().source)
    assert op_names(ops) == ["mul", "sum_of_squares"]
    assert len(tensors) == 3
    assert edges.count(("t0", next(o for o in ops if "mul" in ops[o]))) == 2


def test_same_op_applied_twice_gives_two_nodes():
    x = tc.Tensor(np.ones((2, 2)), requires_grad=True)
    loss = x.relu().relu().sigmoid().relu().sum_of_squares()
    _, ops, _ = parse(tc.viz.draw_graph(loss).source)
    assert op_names(ops) == ["relu", "relu", "relu", "sigmoid", "sum_of_squares"]


def test_several_roots_and_a_plain_leaf():
    x = tc.Tensor(np.ones(2), requires_grad=True)
    y, z = x.relu(), x.sigmoid()
    tensors, ops, _ = parse(tc.viz.draw_graph([y, z]).source)
    assert len(ops) == 2 and len(tensors) == 3
    assert sum("output" in attrs for attrs in tensors.values()) == 2
    leaf = tc.Tensor(np.ones(2), name="alone")
    tensors, ops, _ = parse(tc.viz.draw_graph(leaf).source)
    assert len(tensors) == 1 and not ops and "alone" in tensors["t0"]


def test_tensor_draw_is_draw_graph():
    loss, params = seed_model()
    assert loss.draw(params=params, rankdir="LR").source == tc.viz.draw_graph(loss, params=params, rankdir="LR").source
    assert "rankdir=LR" in loss.draw(rankdir="LR").source
    assert hasattr(loss.draw(), "_repr_mimebundle_")  # Jupyter shows it inline


def test_dot_source_matches_draw_graph_body():
    loss, params = seed_model()
    assert parse(tc.viz.dot_source(loss, params=params)) == parse(tc.viz.draw_graph(loss, params=params).source)


# --- labels ---------------------------------------------------------------------
def test_labels_show_conv_attrs_shapes_and_param_names():
    loss, params = seed_model()
    tensors, ops, _ = parse(tc.viz.draw_graph(loss, params=params).source)
    conv_labels = sorted(attrs for attrs in ops.values() if "conv2d" in attrs)
    assert sum("stride=2" in label for label in conv_labels) == 1
    assert not any("stride=1" in label for label in conv_labels)  # default: hidden
    text = " ".join(tensors.values())
    for name in ("w1", "b1", "w2", "b2", "x"):
        assert f"<B>{name}</B>" in text
    for shape in ("(20, 20) float64", "(3, 3) float64", "(4, 4) float64", "(18, 18) float64", "(8, 8) float64",
                  "scalar float64"):
        assert shape in text
    assert "sub" not in text and "conv2d" not in text  # tensors never carry the op's name


def test_conv_attrs_pairs_collapse_and_strings_show():
    x = tc.Tensor(np.ones((1, 2, 9, 9)), requires_grad=True)
    w = tc.Tensor(np.ones((3, 2, 3, 3)))
    cases = [
        ({"stride": (2, 2), "padding": (1, 1), "dilation": (1, 1)}, "stride=2, padding=1", "dilation"),
        ({"stride": (1, 1), "padding": "same", "dilation": 2}, "padding=same, dilation=2", "stride"),
        ({"stride": (2, 1), "padding": (0, 0)}, "stride=(2, 1)", "padding"),
    ]
    for attrs, shown, hidden in cases:
        _, ops, _ = parse(tc.conv2d(x, w, **attrs).draw().source)
        (label,) = ops.values()
        assert shown in label and hidden not in label
    _, ops, _ = parse(tc.conv2d(x, w).draw(show_defaults=True).source)
    assert "stride=1, padding=0, dilation=1" in next(iter(ops.values()))


def test_grad_norms_after_backward():
    loss, params = seed_model()
    before = tc.viz.draw_graph(loss, params=params).source
    assert "grad" not in "".join(parse(before)[0].values())
    loss.backward()
    tensors, _, _ = parse(tc.viz.draw_graph(loss, params=params).source)
    for name in ("w1", "w2"):
        grad = params[name].grad
        label = next(attrs for attrs in tensors.values() if f"<B>{name}</B>" in attrs)
        assert f"norm {fmt(np.linalg.norm(grad))}, mean|g| {fmt(np.abs(grad).mean())}" in label
    label = next(attrs for attrs in tensors.values() if "<B>b1</B>" in attrs)
    assert f"grad {fmt(params['b1'].grad)}" in label
    assert sum("grad" in attrs for attrs in tensors.values()) == 4  # intermediates keep no grad
    assert "grad" not in "".join(parse(tc.viz.draw_graph(loss, params=params, show_grad=False).source)[0].values())


def test_intermediate_grad_shows_only_after_retain_grad():
    x = tc.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    kept, dropped = x.sigmoid(), x.relu()
    kept.retain_grad()
    (kept + dropped).sum_of_squares().backward()
    assert fmt(np.linalg.norm(kept.grad)) in tc.viz.dot_source(kept)
    tensors, _, _ = parse(tc.viz.dot_source(dropped))
    assert [("grad" in attrs) for attrs in tensors.values()] == [True, False]  # x has grad, dropped none
    tensors, _, _ = parse(tc.viz.dot_source([kept, dropped]))
    assert sum("grad" in attrs for attrs in tensors.values()) == 2  # x and kept


def test_name_argument_and_params_precedence():
    w = tc.Tensor(np.ones(2), requires_grad=True, name="weights")
    y = w.relu()
    assert "<B>weights</B>" in tc.viz.dot_source(y)
    source = tc.viz.dot_source(y, params={"w<1>": w})
    assert "<B>w&lt;1&gt;</B>" in source and "weights" not in source  # params win; HTML is escaped


def test_show_values_small_tensors_and_summaries():
    small = tc.Tensor(np.array([[1.0, 2.0], [3.0, 1 / 3]]), requires_grad=True, name="small")
    big = tc.Tensor(np.arange(12.0), requires_grad=True, name="big")
    out = small.sum_of_squares() + big.sum_of_squares()
    source = tc.viz.dot_source(out, show_values=True)
    assert "[1 2]" in source and "[3 0.333]" in source
    assert f"mean {fmt(5.5)}  std {fmt(np.arange(12.0).std())}" in source and "min 0  max 11" in source
    assert "[1 2]" not in tc.viz.dot_source(out)


def test_numbers_are_compact():
    rng = np.random.default_rng(1)
    w = tc.Tensor(rng.standard_normal((5, 5)) * 1e-7, requires_grad=True)
    loss = (w * np.pi).sum_of_squares() * 1e9
    loss.backward()
    source = tc.viz.dot_source(loss, show_values=True)
    labels = " ".join(re.findall(r"label=<(.*?)> (?:fillcolor|shape)=", source))
    decimals = re.findall(r"\d*\.\d+", labels)
    assert decimals and all(len(d.replace(".", "").lstrip("0")) <= 3 for d in decimals)
    assert not re.search(r"e[+-]0\d", source)
    assert fmt(1.23456e-5) == "1.23e-5" and fmt(0.000123456) == "0.000123" and fmt(123456.0) == "1.23e5" and fmt(2.0) == "2" and fmt(-0.0) == "0"


def test_custom_op_shows_its_own_name():
    name = "viz_test_cube"

    def forward(x, scale):
        return scale * x**3, x

    def vjp(g, x, needs_grad, scale):
        return (3.0 * scale * g * x * x,)

    def samples(rng):
        return [tc.Sample((rng.standard_normal((2, 3)),), {"scale": 0.5})]

    cube = tc.register_op(name, forward, vjp, defaults={"scale": 1.0}, samples=samples, replace=True)
    try:
        x = tc.Tensor(np.ones(3), requires_grad=True)
        source = tc.viz.dot_source(cube(cube(x), scale=0.25).sum_of_squares())
        _, ops, _ = parse(source)
        assert op_names(ops) == sorted([name, name, "sum_of_squares"])
        assert sum("scale=0.25" in attrs for attrs in ops.values()) == 1
    finally:
        tc.registry.unregister(name)


def test_color_by_grad_and_legend():
    loss, params = seed_model()
    loss.backward()
    source = tc.viz.dot_source(loss, params=params, color_by="grad", legend=True)
    tensors, _, _ = parse(source)
    assert "cluster_legend" in source and "mean|g|" in source
    fills = {re.search(r'fillcolor="([^"]+)"', a).group(1) for a in tensors.values() if "grad" in a}
    assert len(fills) >= 2  # different grad magnitudes, different shades
    role = tc.viz.dot_source(loss, params=params, legend=True)
    assert "parameter (leaf, requires grad)" in role


# --- errors and limits ----------------------------------------------------------
def test_bad_arguments():
    x = tc.Tensor(np.ones(2), requires_grad=True).relu()
    with pytest.raises(ValueError, match="rankdir"):
        tc.viz.draw_graph(x, rankdir="up")
    with pytest.raises(ValueError, match="color_by"):
        tc.viz.draw_graph(x, color_by="size")
    with pytest.raises(TypeError, match="root"):
        tc.viz.draw_graph(np.ones(2))
    with pytest.raises(ValueError, match="root"):
        tc.viz.draw_graph([])
    with pytest.raises(TypeError, match="params"):
        tc.viz.draw_graph(x, params=[x])
    with pytest.raises(TypeError, match="params"):
        tc.viz.draw_graph(x, params={1: x})
    with pytest.raises(ValueError, match="max_nodes"):
        tc.viz.draw_graph(x, max_nodes=0)


def test_max_nodes_error_says_count_and_how_to_raise():
    x = tc.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(10):
        y = -y
    with pytest.raises(ValueError, match=r"21 nodes \(11 tensors and 10 op applications\).*max_nodes=20"):
        tc.viz.draw_graph(y, max_nodes=20)
    assert len(parse(tc.viz.draw_graph(y, max_nodes=21).source)[1]) == 10


@pytest.mark.slow
def test_100k_chain_builds_dot_without_recursion():
    x = tc.Tensor(np.ones(1), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = -y
    graph = tc.viz.draw_graph(y, show_grad=False)
    source = graph.source
    assert source.count("class=op") + source.count('class="op"') == 100_000
    with pytest.raises(ValueError, match="200001 nodes"):
        tc.viz.draw_graph(y, max_nodes=1000)


# --- rendering ------------------------------------------------------------------
def test_missing_dot_raises_with_install_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "")
    loss, params = seed_model()
    for suffix in ("svg", "png", "pdf"):
        with pytest.raises(tc.viz.GraphvizNotFoundError) as info:
            tc.viz.render(loss, tmp_path / f"graph.{suffix}")
        message = str(info.value)
        for hint in ("'dot'", "apt-get install graphviz", "brew install graphviz", "conda install graphviz"):
            assert hint in message
    assert isinstance(info.value, RuntimeError)
    assert not list(tmp_path.iterdir())
    written = tc.viz.render(loss, tmp_path / "graph.dot", params=params)
    assert written == tmp_path / "graph.dot" and "<B>w1</B>" in written.read_text()
    written = tc.viz.render_or_dot(loss, tmp_path / "fallback", params=params)
    assert written == tmp_path / "fallback.dot" and written.exists()
    assert "apt-get install graphviz" in capsys.readouterr().err


def test_render_formats_and_paths(tmp_path):
    y = tc.Tensor(np.ones(2), requires_grad=True).relu()
    assert tc.viz.render(y, tmp_path / "a.gv").read_text().startswith("digraph")
    assert tc.viz.render(y, tmp_path / "sub" / "b", format="dot") == tmp_path / "sub" / "b.dot"
    with pytest.raises(ValueError, match="suffix"):
        tc.viz.render(y, tmp_path / "c.jpeg")
    with pytest.raises(ValueError, match="format"):
        tc.viz.render(y, tmp_path / "c.svg", format="bmp")
    with pytest.raises(ValueError, match="format"):
        tc.viz.render_or_dot(y, tmp_path / "c", format="bmp")


@needs_dot
def test_svg_render_is_xml_with_the_labels(tmp_path):
    loss, params = seed_model()
    loss.backward()
    path = tc.viz.render(loss, tmp_path / "graph.svg", params=params, legend=True)
    assert path == tmp_path / "graph.svg"
    texts = [el.text or "" for el in ET.parse(path).getroot().iter() if el.tag.endswith("text")]
    for expected in ("conv2d", "stride=2", "sub", "sum_of_squares", "w1", "b1", "w2", "b2", "(20, 20) float64"):
        assert expected in texts
    assert sum(t == "conv2d" for t in texts) == 2
    assert any(t.startswith("grad: norm") for t in texts)
    assert tc.viz.render_or_dot(loss, tmp_path / "again", params=params) == tmp_path / "again.svg"
    png = tc.viz.render(loss, tmp_path / "graph.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_dot
def test_gallery_example_renders(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "draw_graphs.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    for name in ("seed_model", "relu_sigmoid", "custom_op", "diamond"):
        root = ET.parse(tmp_path / f"{name}.svg").getroot()
        assert root.tag.endswith("svg")
    texts = [el.text for el in ET.parse(tmp_path / "custom_op.svg").getroot().iter() if el.tag.endswith("text")]
    assert "cube" in texts


def test_import_needs_no_graphviz_package():
    code = (
        "import sys; sys.modules['graphviz'] = None\n"
        "import numpy as np, tinygrad_conv as tc\n"
        "y = tc.Tensor(np.ones(2), requires_grad=True).relu()\n"
        "assert 'relu' in tc.viz.dot_source(y)\n"
        "try:\n    tc.viz.draw_graph(y)\nexcept ImportError as e:\n    print(e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "pip install 'tinygrad_conv[viz]'" in result.stdout
