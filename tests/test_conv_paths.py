"""Every conv route, and every sub-route of "fast", against the literal algorithm and the loop reference.

Shapes, strides (dividing or not), padding (including "same") and dilation are drawn by
hypothesis. Routes are chosen through the public settings only (``tc.kernels.use`` and
``tc.kernels.tuning``), never by patching module globals.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive import loop_conv2d, loop_conv2d_grads

import tinygrad_conv as tc
from tinygrad_conv import conv
from tinygrad_conv._checks import resolve_padding
from tinygrad_conv.kernels.buffers import POOL

BIG = 1 << 62
ROUTES = {  # route name -> (tc.kernels.use route, tc.kernels.tuning overrides)
    "literal": ("literal", {}),
    "im2col": ("im2col", {}),
    "fast_literal_dx": ("fast", {"literal_dx_max": BIG, "chunk": BIG, "split_min_flops": BIG}),
    "fast_col2im": ("fast", {"literal_dx_max": 0, "chunk": BIG, "split_min_flops": BIG}),
    "fast_per_image": ("fast", {"literal_dx_max": 0, "chunk": 1, "split_min_flops": BIG}),
    "fast_split": ("fast", {"literal_dx_max": 0, "chunk": 1, "split_min_flops": 0}),
}


@contextlib.contextmanager
def route(name: str):
    """Run the block on one route; the split route on two threads whatever the machine has."""
    kind, overrides = ROUTES[name]
    if name == "fast_split":
        tc.kernels.set_num_threads(2)
    try:
        with tc.kernels.use(kind), tc.kernels.tuning(**overrides):
            yield
    finally:
        if name == "fast_split":
            tc.kernels.set_num_threads(None)


@st.composite
def conv_cases(draw, symmetric: bool = False):
    """(x shape, w shape, stride, (top, bottom, left, right), dilation, seed, padding argument)."""
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    if draw(st.booleans()):
        stride, argument = (1, 1), "same"
        padding = resolve_padding("same", (kh, kw), (1, 1), (dh, dw))
    else:
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        padding = tuple(draw(st.integers(0, 2)) for _ in range(4))
        if symmetric:
            padding = (padding[0], padding[0], padding[2], padding[2])
            argument = (padding[0], padding[2])
        else:
            argument = (padding[2], padding[3], padding[0], padding[1])  # F.pad's order: left, right, top, bottom
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - padding[0] - padding[1]), 9))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - padding[2] - padding[3]), 9))
    seed = draw(st.integers(0, 2**16))
    return (n, c, h, w), (o, c, kh, kw), stride, padding, (dh, dw), seed, argument


def _arrays(case, dtype=np.float64):
    x_shape, w_shape, stride, padding, dilation, seed, _ = case
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    y = loop_conv2d(x, w, None, stride, padding, dilation)
    return x, w, rng.standard_normal(y.shape).astype(dtype), y


@settings(max_examples=80, deadline=None)
@given(conv_cases())
def test_literal_backward_agrees_with_the_loop(case):
    x, w, g, _ = _arrays(case)
    _, _, stride, padding, dilation, _, _ = case
    expected = loop_conv2d_grads(x, w, g, stride, padding, dilation)
    literal = conv.conv2d_backward_literal(x, w, g, stride, padding, dilation)
    for name, a, c in zip(("dx", "dw", "db"), literal, expected):
        assert a.shape == c.shape, name
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-10, err_msg=f"literal {name}")


@pytest.mark.parametrize("name", ROUTES)
@settings(max_examples=40, deadline=None)
@given(case=conv_cases())
def test_every_route_through_the_engine(name, case):
    x, w, g, y = _arrays(case)
    _, _, stride, padding, dilation, seed, argument = case
    b = np.random.default_rng(seed + 1).standard_normal(w.shape[0])
    dx, dw, _ = loop_conv2d_grads(x, w, g, stride, padding, dilation)
    with route(name):
        xt, wt, bt = (tc.Tensor(a, requires_grad=True) for a in (x, w, b))
        out = tc.conv2d(xt, wt, bt, stride=stride, padding=argument, dilation=dilation)
        out.backward(g)
    np.testing.assert_allclose(out.data, y + b[:, None, None], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wt.grad, dw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(bt.grad, g.sum(axis=(0, 2, 3)), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("wants", [(True, False), (False, True)], ids=["only_dw", "only_dx"])
@settings(max_examples=25, deadline=None)
@given(case=conv_cases(symmetric=True))
def test_every_route_with_nan_filled_scratch_and_one_gradient_wanted(name, wants, case):
    """Every scratch element is written before it is read, also when only dw (a first layer) or only dx is wanted."""
    x, w, g, _ = _arrays(case)
    _, _, stride, padding, dilation, _, argument = case
    dx, dw, _ = loop_conv2d_grads(x, w, g, stride, padding, dilation)
    xt, wt = tc.Tensor(x, requires_grad=wants[1]), tc.Tensor(w, requires_grad=wants[0])
    POOL.poison = True
    tc.kernels.set_buffer_reuse(False)  # every scratch array fresh: zeros where promised, NaN elsewhere
    try:
        with route(name):
            tc.conv2d(xt, wt, stride=stride, padding=argument, dilation=dilation).backward(g)
    finally:
        POOL.poison = False
        tc.kernels.set_buffer_reuse(True)
    if wants[0]:
        np.testing.assert_allclose(wt.grad, dw, rtol=1e-10, atol=1e-10)
        assert xt.grad is None
    else:
        np.testing.assert_allclose(xt.grad, dx, rtol=1e-10, atol=1e-10)
        assert wt.grad is None


@pytest.mark.parametrize("ndim", [2, 3, 4])
@pytest.mark.parametrize("name", ROUTES)
def test_float32_stays_float32(ndim, name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 8)[4 - ndim:]).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2) if ndim > 2 else (3, 2)).astype(np.float32)
    b = rng.standard_normal(4 if ndim > 2 else ()).astype(np.float32)
    with route(name):
        xt, wt, bt = (tc.Tensor(a, requires_grad=True) for a in (x, w, b))
        out = tc.conv2d(xt, wt, bt, stride=2, padding=1)
        out.sum_of_squares().backward()
    assert out.dtype == np.float32
    assert xt.grad.dtype == wt.grad.dtype == bt.grad.dtype == np.float32
    x64 = tc.Tensor(x.astype(np.float64), requires_grad=True)
    tc.conv2d(x64, w.astype(np.float64), b.astype(np.float64), stride=2, padding=1).sum_of_squares().backward()
    np.testing.assert_allclose(xt.grad, x64.grad, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("dtypes", [(np.float32, np.float64), (np.float64, np.float32)])
def test_mixed_dtypes_give_each_input_its_own_dtype_and_the_right_gradient(name, dtypes):
    """The backward shares one scratch block between patches and patch gradients only when their dtypes agree."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((4, 3, 9, 8)), rng.standard_normal((5, 3, 3, 3))
    g = rng.standard_normal((4, 5, 5, 4))
    with route(name):
        xt, wt = tc.Tensor(x.astype(dtypes[0]), requires_grad=True), tc.Tensor(w.astype(dtypes[1]), requires_grad=True)
        tc.conv2d(xt, wt, stride=2, padding=1).backward(g)
    dx, dw, _ = conv.conv2d_backward_literal(xt.data.astype(np.float64), wt.data.astype(np.float64), g, (2, 2),
                                             (1, 1, 1, 1), (1, 1))
    assert (xt.grad.dtype, wt.grad.dtype) == dtypes
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(wt.grad, dw, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", [0, 1])
def test_a_padded_plane_of_4_kib_multiples_takes_its_own_patch_gradient_buffer(dtype, padding):
    """Rows a multiple of 4 KiB get spare cache lines, so the patch gradients cannot share the block then."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 2, 32 - 2 * padding, 32 - 2 * padding)), rng.standard_normal((4, 2, 3, 3))
    g = rng.standard_normal((3, 4, 30, 30))
    tc.kernels.clear_buffers()
    xt, wt = tc.Tensor(x.astype(dtype), requires_grad=True), tc.Tensor(w.astype(dtype), requires_grad=True)
    with route("fast_col2im"):
        tc.conv2d(xt, wt, padding=padding).backward(g.astype(dtype))
    assert any(key[0][0] == "dc" for key in POOL.keys()), "the patch gradients should have had their own buffer"
    dx, dw, _ = conv.conv2d_backward_literal(x, w, g, (1, 1), (padding,) * 4, (1, 1))
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(wt.grad, dw, rtol=1e-4, atol=1e-4)


def test_convs_whose_blocks_have_one_shape_but_different_spans_never_share_one():
    """A 1x2 kernel on 4x5 and a 2x1 kernel on 5x4: the same block shape, but spans 19 and 16 of its rows.

    The patch gradients rely on a block's columns past the span staying zero, so the two may not share a block.
    """
    rng = np.random.default_rng(3)
    cases = [(rng.standard_normal((3, 1, 4, 5)), rng.standard_normal((2, 1, 1, 2))),
             (rng.standard_normal((3, 1, 5, 4)), rng.standard_normal((2, 1, 2, 1)))]
    with tc.kernels.tuning(literal_dx_max=0):
        for x, w in cases * 2:
            g = rng.standard_normal((3, 2, 4, 4))
            xt = tc.Tensor(x, requires_grad=True)
            tc.conv2d(xt, w).backward(g)
            dx, _, _ = conv.conv2d_backward_literal(x, w, g, (1, 1), (0, 0, 0, 0), (1, 1))
            np.testing.assert_allclose(xt.grad, dx, rtol=1e-12, atol=1e-12)


def test_a_float64_bias_with_float32_weights_is_added_in_float64_on_every_route():
    x, w, b = np.ones((2, 1, 4, 4), np.float32), np.zeros((1, 1, 1, 1), np.float32), np.array([0.1])
    for name in ROUTES:
        with route(name):
            for images in (x, x[0]):  # the block route and the one-image route
                y = tc.conv2d(images, w, b)
                assert y.dtype == np.float64, name
                np.testing.assert_array_equal(y.data, 0.1)


def test_cached_geometry_does_not_let_bad_arguments_through():
    x, w = np.ones((5, 5)), np.ones((3, 3))
    tc.conv2d(x, w, stride=1)
    with pytest.raises(TypeError, match="stride"):
        tc.conv2d(x, w, stride=True)
    with pytest.raises(TypeError, match="padding"):
        tc.conv2d(x, w, padding=1.0)
    with pytest.raises(ValueError, match="same"):
        tc.conv2d(x, w, stride=2, padding="same")


def test_im2col_view_of_the_input_is_protected_from_in_place_edits():
    # A 1x1 kernel on one unpadded image: the im2col matrix can be a view of x itself.
    rng = np.random.default_rng(0)
    for name in ROUTES:
        with route(name):
            x = tc.Tensor(rng.standard_normal((2, 4, 4)))
            w = tc.Tensor(rng.standard_normal((3, 2, 1, 1)), requires_grad=True)
            out = tc.conv2d(x, w)
            original = x.data.copy()
            x.data += 100.0
            out.sum_of_squares().backward()
        expected = 2 * np.einsum("ouv,cuv->oc", out.data, original)[:, :, None, None]
        np.testing.assert_allclose(w.grad, expected, rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", ["fast_col2im", "fast_split"])
def test_pooled_buffers_never_overwrite_live_outputs_or_saved_graphs(name):
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((3, 2, 7, 6)) for _ in range(2)]
    w = rng.standard_normal((4, 2, 3, 3))
    with route(name):
        ts = [tc.Tensor(x, requires_grad=True) for x in xs]
        wt = tc.Tensor(w, requires_grad=True)
        outs = [tc.conv2d(t, wt, stride=2, padding=1) for t in ts]  # two live graphs of one shape
        first = outs[0].data.copy()
        outs[1].sum_of_squares().backward()
        outs[0].sum_of_squares().backward()
        again = tc.conv2d(ts[0], w, stride=2, padding=1)  # may reuse freed buffers, not held ones
        grads = [t.grad.copy() for t in ts]
    np.testing.assert_array_equal(outs[0].data, first)
    np.testing.assert_allclose(again.data, first, rtol=1e-12)
    for x, grad, out in zip(xs, grads, outs):
        expected = loop_conv2d_grads(x, w, 2 * out.data, stride=(2, 2), padding=(1, 1, 1, 1), dilation=(1, 1))[0]
        np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-10)


def test_without_buffer_reuse_every_call_allocates_and_results_are_the_same():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3))

    def run():
        xt, wt = tc.Tensor(x, requires_grad=True), tc.Tensor(w, requires_grad=True)
        y = tc.conv2d(xt, wt, padding=1)
        y.sum_of_squares().backward()
        return y.data.copy(), xt.grad, wt.grad

    pooled = run()
    tc.kernels.set_buffer_reuse(False)
    try:
        assert tc.kernels.buffer_stats()["buffers"] == 0
        for a, b in zip(pooled, run()):
            np.testing.assert_array_equal(a, b)
        assert tc.kernels.buffer_stats()["buffers"] == 0
    finally:
        tc.kernels.set_buffer_reuse(True)


def test_two_user_threads_on_one_geometry_get_their_own_buffers():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((4, 3, 3, 3))
    xs = [rng.standard_normal((6, 3, 12, 12)) for _ in range(4)]
    expected = [loop_conv2d(x[:2], w, None, (1, 1), (1, 1, 1, 1), (1, 1)) for x in xs]
    errors = []

    def train(i):
        try:
            for _ in range(20):
                with tc.kernels.tuning(literal_dx_max=0, chunk=1):
                    xt = tc.Tensor(xs[i], requires_grad=True)
                    y = tc.conv2d(xt, w, padding=1)
                    y.sum_of_squares().backward()
                np.testing.assert_allclose(y.data[:2], expected[i], rtol=1e-10, atol=1e-10)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=train, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_the_route_is_per_thread():
    seen = {}
    with tc.kernels.use("literal"):
        worker = threading.Thread(target=lambda: seen.setdefault("worker", tc.kernels.get_route()))
        worker.start()
        worker.join()
        assert tc.kernels.get_route() == "literal"
    assert seen["worker"] == "fast" and tc.kernels.get_route() == "fast"


def test_benchmark_quick_smoke():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "conv2d.py"
    result = subprocess.run([sys.executable, str(script), "--quick", "--shapes", "a1", "--no-naive"],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "a1" in result.stdout
