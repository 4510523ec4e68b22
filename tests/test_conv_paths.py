"""The fast conv2d paths against the literal insert-zeros/pad/rotate algorithm and the loop reference.

Shapes, strides (dividing or not), padding (including "same") and dilation are drawn by
hypothesis. Every internal route is forced in turn: the literal input gradient used for
tiny convs, col2im in one chunk, and col2im one image at a time
(the backward's col2im is :func:`col2im_wide`, checked against :func:`col2im` below).
"""

from __future__ import annotations

import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive import loop_conv2d, loop_conv2d_grads

import tinygrad_conv as tc
from tinygrad_conv import conv, conv_plan
from tinygrad_conv.im2col import col2im, col2im_wide, im2col, out_size, phase_shape, widen

ROUTES = {  # (LITERAL_DX_MAX, CHUNK, SPLIT_MIN_FLOPS)
    "literal_dx": (1 << 62, 1 << 62, 1 << 62), "col2im": (0, 1 << 62, 1 << 62), "col2im_per_image": (0, 1, 1 << 62),
    "split_across_cores": (0, 1, 0),
}


@st.composite
def conv_cases(draw, symmetric: bool = False):
    """(x shape, w shape, stride, (top, bottom, left, right), dilation, seed, padding argument)."""
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    if draw(st.booleans()):
        stride, argument = (1, 1), "same"
        padding = conv_plan.resolve_padding("same", (kh, kw), (1, 1), (dh, dw))
    else:
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        padding = tuple(draw(st.integers(0, 2)) for _ in range(4))
        if symmetric:
            padding = (padding[0], padding[0], padding[2], padding[2])
        argument = (padding[0], padding[2])
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
def test_fast_and_literal_backward_agree_with_the_loop(case):
    x, w, g, _ = _arrays(case)
    _, _, stride, padding, dilation, _, _ = case
    expected = loop_conv2d_grads(x, w, g, stride, padding, dilation)
    literal = conv.conv2d_backward_literal(x, w, g, stride, padding, dilation)
    fast = conv.conv2d_backward_fast(x, w, g, stride, padding, dilation)
    for name, a, b, c in zip(("dx", "dw", "db"), literal, fast, expected):
        assert a.shape == b.shape == c.shape, name
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-10, err_msg=f"literal {name}")
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10, err_msg=f"fast {name}")


@pytest.mark.parametrize("route", ROUTES)
@settings(max_examples=40, deadline=None)
@given(case=conv_cases(symmetric=True))
def test_every_backward_route_through_the_engine(route, case):
    x, w, g, y = _arrays(case)
    _, _, stride, padding, dilation, seed, argument = case
    b = np.random.default_rng(seed + 1).standard_normal(w.shape[0])
    dx, dw, _ = loop_conv2d_grads(x, w, g, stride, padding, dilation)
    saved = conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS
    conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS = ROUTES[route]
    conv_plan._plans.clear()
    try:
        xt, wt, bt = (tc.Tensor(a, requires_grad=True) for a in (x, w, b))
        out = tc.conv2d(xt, wt, bt, stride=stride, padding=argument, dilation=dilation)
        out.backward(g)
    finally:
        conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS = saved
        conv_plan._plans.clear()
    np.testing.assert_allclose(out.data, y + b[:, None, None], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wt.grad, dw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(bt.grad, g.sum(axis=(0, 2, 3)), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("wants", [(True, False), (False, True)], ids=["only_dw", "only_dx"])
@settings(max_examples=25, deadline=None)
@given(case=conv_cases(symmetric=True))
def test_every_route_with_nan_filled_scratch_and_one_gradient_wanted(route, wants, case):
    """Every scratch element is written before it is read, also when only dw (a first layer) or only dx is wanted."""
    from tinygrad_conv import im2col

    def poisoned(role, shape, dtype, zeros_kept=False):  # a new buffer: zeros only where promised
        return np.zeros(shape, dtype) if zeros_kept else np.full(shape, np.nan, dtype)

    x, w, g, _ = _arrays(case)
    _, _, stride, padding, dilation, _, argument = case
    dx, dw, _ = loop_conv2d_grads(x, w, g, stride, padding, dilation)
    xt, wt = tc.Tensor(x, requires_grad=wants[1]), tc.Tensor(w, requires_grad=wants[0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "reusable", poisoned)
        patch.setattr(conv, "reusable", poisoned)
        patch.setattr(conv, "LITERAL_DX_MAX", ROUTES[route][0])
        patch.setattr(conv, "CHUNK", ROUTES[route][1])
        patch.setattr(conv, "SPLIT_MIN_FLOPS", ROUTES[route][2])
        conv_plan._plans.clear()
        tc.conv2d(xt, wt, stride=stride, padding=argument, dilation=dilation).backward(g)
    conv_plan._plans.clear()
    if wants[0]:
        np.testing.assert_allclose(wt.grad, dw, rtol=1e-10, atol=1e-10)
        assert xt.grad is None
    else:
        np.testing.assert_allclose(xt.grad, dx, rtol=1e-10, atol=1e-10)
        assert wt.grad is None


@settings(max_examples=40, deadline=None)
@given(conv_cases())
def test_col2im_is_the_adjoint_of_im2col(case):
    x_shape, w_shape, stride, padding, dilation, seed, _ = case
    rng = np.random.default_rng(seed)
    xp = rng.standard_normal((x_shape[0], x_shape[1], x_shape[2] + padding[0] + padding[1],
                              x_shape[3] + padding[2] + padding[3]))
    cols = im2col(xp, w_shape[2:], stride, dilation)
    r = rng.standard_normal(cols.shape)
    back = col2im(r, xp.shape, w_shape[2:], stride, dilation)
    np.testing.assert_allclose(np.vdot(cols, r), np.vdot(xp, back), rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_col2im_wide_matches_col2im(case):
    x_shape, w_shape, stride, padding, dilation, seed, _ = case
    rng = np.random.default_rng(seed)
    (n, c, h, w), (o, _, kh, kw) = x_shape, w_shape
    hp, wp = h + padding[0] + padding[1], w + padding[2] + padding[3]
    ho, wo = out_size(hp, kh, stride[0], dilation[0]), out_size(wp, kw, stride[1], dilation[1])
    (hq, wq), w_mat = phase_shape((hp, wp), stride), rng.standard_normal((o, c * kh * kw))
    g = rng.standard_normal((n, o, ho * wo))
    expected = col2im(np.matmul(w_mat.T, g), (n, c, hp, wp), (kh, kw), stride, dilation)
    w_taps = w_mat.reshape(o, c, kh * kw).transpose(2, 1, 0).reshape(-1, o)
    g_wide = widen(g, (ho, wo), np.full((n, o, hq, wq), np.nan))  # NaN scratch: every element must be written
    phases = np.full((n, *stride, c, hq, wq), np.nan)
    got = col2im_wide(np.matmul(w_taps, g_wide), np.full((n, c, hp, wp), np.nan), (kh, kw), stride, dilation, phases)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ndim", [2, 3, 4])
@pytest.mark.parametrize("route", ROUTES)
def test_float32_stays_float32(ndim, route):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 8)[4 - ndim:]).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2) if ndim > 2 else (3, 2)).astype(np.float32)
    b = rng.standard_normal(4 if ndim > 2 else ()).astype(np.float32)
    saved = conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS
    conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS = ROUTES[route]
    conv_plan._plans.clear()
    try:
        xt, wt, bt = (tc.Tensor(a, requires_grad=True) for a in (x, w, b))
        out = tc.conv2d(xt, wt, bt, stride=2, padding=1)
        out.sum_of_squares().backward()
    finally:
        conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS = saved
        conv_plan._plans.clear()
    assert out.dtype == np.float32
    assert xt.grad.dtype == wt.grad.dtype == bt.grad.dtype == np.float32
    x64 = tc.Tensor(x.astype(np.float64), requires_grad=True)
    tc.conv2d(x64, w.astype(np.float64), b.astype(np.float64), stride=2, padding=1).sum_of_squares().backward()
    np.testing.assert_allclose(xt.grad, x64.grad, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("dtypes", [(np.float32, np.float64), (np.float64, np.float32)])
def test_mixed_dtypes_give_each_input_its_own_dtype_and_the_right_gradient(route, dtypes):
    """The backward shares one scratch block between patches and patch gradients only when their dtypes agree."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((4, 3, 9, 8)), rng.standard_normal((5, 3, 3, 3))
    g = rng.standard_normal((4, 5, 5, 4))
    saved = conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS
    conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS = ROUTES[route]
    conv_plan._plans.clear()
    try:
        xt, wt = tc.Tensor(x.astype(dtypes[0]), requires_grad=True), tc.Tensor(w.astype(dtypes[1]), requires_grad=True)
        tc.conv2d(xt, wt, stride=2, padding=1).backward(g)
    finally:
        conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS = saved
        conv_plan._plans.clear()
    dx, dw, _ = conv.conv2d_backward_literal(xt.data.astype(np.float64), wt.data.astype(np.float64), g, (2, 2),
                                             (1, 1, 1, 1), (1, 1))
    assert (xt.grad.dtype, wt.grad.dtype) == dtypes
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(wt.grad, dw, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", [0, 1])
def test_a_padded_plane_of_4_kib_multiples_takes_its_own_patch_gradient_buffer(monkeypatch, dtype, padding):
    """Rows a multiple of 4 KiB get spare cache lines, so the patch gradients cannot share the block then."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 2, 32 - 2 * padding, 32 - 2 * padding)), rng.standard_normal((4, 2, 3, 3))
    g = rng.standard_normal((3, 4, 30, 30))
    roles = []
    reusable = conv.reusable
    monkeypatch.setattr(conv, "reusable", lambda role, *args, **kwargs: roles.append(role) or reusable(role, *args, **kwargs))
    xt, wt = tc.Tensor(x.astype(dtype), requires_grad=True), tc.Tensor(w.astype(dtype), requires_grad=True)
    tc.conv2d(xt, wt, padding=padding).backward(g.astype(dtype))
    assert any(role.startswith("dc") for role in roles), "the patch gradients should have had their own buffer"
    pads = (padding,) * 4
    dx, dw, _ = conv.conv2d_backward_literal(x, w, g, (1, 1), pads, (1, 1))
    np.testing.assert_allclose(xt.grad, dx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(wt.grad, dw, rtol=1e-4, atol=1e-4)


def test_convs_whose_blocks_have_one_shape_but_different_spans_never_share_one(monkeypatch):
    """A 1x2 kernel on 4x5 and a 2x1 kernel on 5x4: the same block shape, but spans 19 and 16 of its rows.

    The patch gradients rely on a block's columns past the span staying zero, so the two may not share a block.
    """
    monkeypatch.setattr(conv, "LITERAL_DX_MAX", 0)
    rng = np.random.default_rng(3)
    cases = [(rng.standard_normal((3, 1, 4, 5)), rng.standard_normal((2, 1, 1, 2))),
             (rng.standard_normal((3, 1, 5, 4)), rng.standard_normal((2, 1, 2, 1)))]
    for x, w in cases * 2:
        g = rng.standard_normal((3, 2, 4, 4))
        xt = tc.Tensor(x, requires_grad=True)
        tc.conv2d(xt, w).backward(g)
        dx, _, _ = conv.conv2d_backward_literal(x, w, g, (1, 1), (0, 0, 0, 0), (1, 1))
        np.testing.assert_allclose(xt.grad, dx, rtol=1e-12, atol=1e-12)


def test_a_float64_bias_with_float32_weights_is_added_in_float64_on_every_route():
    x, w, b = np.ones((2, 1, 4, 4), np.float32), np.zeros((1, 1, 1, 1), np.float32), np.array([0.1])
    for images in (x, x[0]):  # the block route and the one-image route
        y = tc.conv2d(images, w, b)
        assert y.dtype == np.float64
        np.testing.assert_array_equal(y.data, 0.1)


def test_cached_plan_does_not_let_bad_arguments_through():
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
    x = tc.Tensor(rng.standard_normal((2, 4, 4)))
    w = tc.Tensor(rng.standard_normal((3, 2, 1, 1)), requires_grad=True)
    out = tc.conv2d(x, w)
    original = x.data.copy()
    x.data += 100.0
    out.sum_of_squares().backward()
    expected = 2 * np.einsum("ouv,cuv->oc", out.data, original)[:, :, None, None]
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)


def test_benchmark_quick_smoke():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "conv2d.py"
    result = subprocess.run([sys.executable, str(script), "--quick", "--shapes", "a1", "--no-naive"],
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "a1" in result.stdout


def test_reusable_buffers_are_handed_out_again_only_when_nobody_holds_them():
    from tinygrad_conv.im2col import release_buffers, reusable

    first = reusable("test", (3, 4), np.float64)
    view = first[1:]
    del first
    second = reusable("test", (3, 4), np.float64)
    assert not np.shares_memory(second, view)  # the view keeps the first buffer alive
    held = weakref.ref(second)
    del second
    assert reusable("test", (3, 4), np.float64) is held()
    kept = reusable("test_zeros", (3, 4), np.float64, zeros_kept=True)
    assert not kept.any()
    kept[0, 0] = 5.0
    kept_id = id(kept)
    del kept
    again = reusable("test_zeros", (3, 4), np.float64, zeros_kept=True)
    assert id(again) == kept_id and again[0, 0] == 5.0  # handed out as it is: its users keep the zeros
    release_buffers()
    assert held() is None


@pytest.mark.parametrize("route", ["col2im", "split_across_cores"])
def test_pooled_buffers_never_overwrite_live_outputs_or_saved_graphs(route):
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((3, 2, 7, 6)) for _ in range(2)]
    w = rng.standard_normal((4, 2, 3, 3))
    saved = conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS
    conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS = ROUTES[route]
    conv_plan._plans.clear()
    try:
        ts = [tc.Tensor(x, requires_grad=True) for x in xs]
        wt = tc.Tensor(w, requires_grad=True)
        outs = [tc.conv2d(t, wt, stride=2, padding=1) for t in ts]  # two live graphs of one shape
        first = outs[0].data.copy()
        outs[1].sum_of_squares().backward()
        outs[0].sum_of_squares().backward()
        again = tc.conv2d(ts[0], w, stride=2, padding=1)  # may reuse freed buffers, not held ones
        grads = [t.grad.copy() for t in ts]
    finally:
        conv.LITERAL_DX_MAX, conv.CHUNK, conv.SPLIT_MIN_FLOPS = saved
        conv_plan._plans.clear()
    np.testing.assert_array_equal(outs[0].data, first)
    np.testing.assert_allclose(again.data, first, rtol=1e-12)
    for x, grad, out in zip(xs, grads, outs):
        expected = loop_conv2d_grads(x, w, 2 * out.data, stride=(2, 2), padding=(1, 1, 1, 1), dilation=(1, 1))[0]
        np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-10)


def test_without_pooling_every_call_allocates_and_results_are_the_same(monkeypatch):
    from tinygrad_conv import im2col

    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3))

    def run():
        xt, wt = tc.Tensor(x, requires_grad=True), tc.Tensor(w, requires_grad=True)
        y = tc.conv2d(xt, wt, padding=1)
        y.sum_of_squares().backward()
        return y.data.copy(), xt.grad, wt.grad

    pooled = run()
    monkeypatch.setattr(im2col, "POOLING", False)
    assert im2col.reusable("test", (2, 2), np.float64) is not im2col.reusable("test", (2, 2), np.float64)
    for a, b in zip(pooled, run()):
        np.testing.assert_array_equal(a, b)


def test_split_images_returns_parts_in_image_order_whichever_part_the_caller_runs(monkeypatch):
    import contextlib
    from types import SimpleNamespace

    from tinygrad_conv import cores

    threads = 2  # a stand-in BLAS with 2 threads: the split runs whatever the real BLAS is set to
    blas = SimpleNamespace(lib_controllers=[SimpleNamespace(num_threads=threads)], limit=lambda limits: contextlib.nullcontext())
    monkeypatch.setitem(cores._state, "blas", blas)
    expected = [(9 * i // threads, 9 * (i + 1) // threads) for i in range(threads)]
    assert cores.split_images(lambda lo, hi: (lo, hi), 9) == expected  # the real pinning, where the platform allows it
    for rank in (0, 1):
        monkeypatch.setattr(cores, "_pin_to_cores", lambda parts, rank=rank: (rank % parts, None))
        assert cores.split_images(lambda lo, hi: (lo, hi), 9) == expected


def test_split_images_restores_the_callers_affinity_even_when_the_work_fails(monkeypatch):
    import contextlib
    import os
    from types import SimpleNamespace

    from tinygrad_conv import cores

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    blas = SimpleNamespace(lib_controllers=[SimpleNamespace(num_threads=2)], limit=lambda limits: contextlib.nullcontext())
    monkeypatch.setitem(cores._state, "blas", blas)
    before = os.sched_getaffinity(0)
    cores.split_images(lambda lo, hi: None, 4)
    assert os.sched_getaffinity(0) == before

    def fails(lo, hi):
        raise ValueError("in the work")

    with pytest.raises(ValueError, match="in the work"):
        cores.split_images(fails, 4)
    assert os.sched_getaffinity(0) == before
