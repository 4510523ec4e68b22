"""Grouped and depthwise conv2d (kernels/grouped.py): both forms against a per-group reference and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from naive import loop_conv2d, loop_conv2d_grads

import tinygrad_conv as tc
from tinygrad_conv import kernels
from tinygrad_conv._checks import conv2d_geometry
from tinygrad_conv.kernels import grouped
from tinygrad_conv.kernels.geometry import Geometry

# (name, x shape, out channels, kernel, groups, stride, padding, dilation)
CASES = [
    ("depthwise", (2, 4, 7, 6), 4, 3, 4, 1, 1, 1),
    ("depthwise x2", (2, 3, 6, 7), 6, 3, 3, 1, 0, 1),
    ("groups 2", (2, 4, 6, 5), 6, 3, 2, 1, (1, 0), 1),
    ("groups 4 stride 2", (3, 8, 9, 8), 8, 3, 4, 2, 1, 1),
    ("depthwise stride 2", (2, 3, 9, 9), 3, 3, 3, 2, 1, 1),
    ("dilation 2 same", (2, 6, 9, 8), 6, 3, 2, 1, "same", 2),
    ("depthwise dilation 2", (2, 3, 8, 9), 3, 3, 3, (1, 2), 2, 2),
    ("kernel 1x1", (2, 4, 5, 5), 8, 1, 4, 1, 0, 1),
    ("kernel 5x5", (2, 8, 9, 8), 8, 5, 4, 1, 2, 1),
    ("depthwise 5x5", (1, 4, 8, 8), 4, 5, 4, 1, 2, 1),
    ("asymmetric", (1, 4, 7, 6), 4, 2, 2, 1, (0, 1, 1, 0), 1),
    ("unbatched", (4, 6, 6), 4, 3, 4, 1, 1, 1),
]
IDS = [case[0] for case in CASES]
# every form and block split: the default, GEMMs for depthwise too, one image per block across threads
TUNINGS = [{}, {"direct_max_multiplier": 0}, {"direct_max_multiplier": 8}, {"chunk": 1, "split_min_flops": 0}]


def make(case, dtype=np.float64, seed=0):
    _, x_shape, o, k, groups, *_ = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((o, x_shape[-3] // groups, k, k)).astype(dtype)
    return x, w, rng.standard_normal(o).astype(dtype), rng


def run(case, x, w, b, rng, tune):
    """(y, dx, dw, db) through tc.conv2d and autograd, with a random output gradient (returned too)."""
    _, _, _, _, groups, stride, padding, dilation = case
    xt, wt, bt = (tc.Tensor(a, requires_grad=True) for a in (x, w, b))
    with kernels.tuning(**tune):
        y = tc.conv2d(xt, wt, bt, stride, padding, dilation, groups)
        g = rng.standard_normal(y.shape).astype(x.dtype)
        y.backward(g)
    return g, [np.asarray(a) for a in (y.data, xt.grad, wt.grad, bt.grad)]


def per_group(case, x, w, b, g):
    """The reference: the direct loop of tests/naive.py on each group's channels, joined."""
    _, _, _, _, groups, stride, padding, dilation = case
    geom = conv2d_geometry(x.shape, w.shape, b.shape, stride, padding, dilation, groups)
    x4, g4 = x.reshape(geom.x4_shape), g.reshape(geom.y4_shape)
    xs, ws, bs, gs = np.split(x4, groups, 1), np.split(w, groups), np.split(b, groups), np.split(g4, groups, 1)
    ys = [loop_conv2d(*a, geom.stride, geom.pads, geom.dilation) for a in zip(xs, ws, bs)]
    grads = [loop_conv2d_grads(*a, geom.stride, geom.pads, geom.dilation) for a in zip(xs, ws, gs)]
    return [np.concatenate(ys, 1).reshape(geom.y_shape), np.concatenate([d[0] for d in grads], 1).reshape(x.shape),
            np.concatenate([d[1] for d in grads]), np.concatenate([d[2] for d in grads])]


@pytest.mark.parametrize("tune", TUNINGS, ids=["default", "gemm", "direct", "blocks"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_the_per_group_loop(case, tune):
    x, w, b, rng = make(case)
    g, got = run(case, x, w, b, rng, tune)
    for name, a, e in zip(("y", "dx", "dw", "db"), got, per_group(case, x, w, b, g)):
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_torch(case, dtype, tol):
    torch = pytest.importorskip("torch")
    _, _, _, _, groups, stride, padding, dilation = case
    x, w, b, rng = make(case, dtype, seed=1)
    g, got = run(case, x, w, b, rng, {})
    assert all(a.dtype == dtype for a in got)
    xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))
    F = torch.nn.functional
    if isinstance(padding, tuple) and len(padding) == 4:  # F.pad's (left, right, top, bottom), as tc takes it
        y = F.conv2d(F.pad(xt, padding), wt, bt, stride, 0, dilation, groups)
    else:
        y = F.conv2d(xt, wt, bt, stride, padding, dilation, groups)
    y.backward(torch.from_numpy(g))
    for name, a, e in zip(("y", "dx", "dw", "db"), got, (y, xt.grad, wt.grad, bt.grad)):
        np.testing.assert_allclose(a, e.detach().numpy(), rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("direct", [True, False])
def test_an_empty_batch_at_the_seam(direct):
    """The conv op refuses an empty batch (conv2d_geometry); the kernels still handle one."""
    x, w = np.zeros((0, 4, 5, 5), np.float32), np.ones((4, 1, 3, 3), np.float32)
    geom = Geometry(x.shape, w.shape, (4,), (1, 1), (1, 1, 1, 1), (1, 1), 4)
    with kernels.tuning(direct_max_multiplier=1 if direct else 0):
        y, saved = kernels.conv2d_forward(x, w, np.ones(4, np.float32), geom)
        dx, dw, db = kernels.conv2d_backward(np.ones(y.shape, np.float32), saved, geom, (True, True, True))
    assert y.shape == (0, 4, 5, 5) and dx.shape == x.shape
    np.testing.assert_array_equal(dw, np.zeros_like(w))
    np.testing.assert_array_equal(db, np.zeros(4, np.float32))


def test_one_matmul_for_all_groups(monkeypatch):
    """The GEMM form makes as many matmul calls for 64 groups as for 2: one per block of images."""
    calls = []
    real = np.matmul
    monkeypatch.setattr(grouped.np, "matmul", lambda *a, **k: calls.append(1) or real(*a, **k))
    counts = []
    for groups in (2, 64):
        calls.clear()
        x, w = np.ones((2, 64, 6, 6)), np.ones((64, 64 // groups, 3, 3))
        with kernels.tuning(direct_max_multiplier=0, split_min_flops=1e30, chunk=1 << 30):
            y, saved = kernels.conv2d_forward(x, w, None, conv2d_geometry(x.shape, w.shape, None, 1, 1, 1, groups))
        counts.append(len(calls))
    assert counts == [1, 1]


def test_the_input_gradient_alone_and_either_route():
    """conv_transpose2d reads the input gradient without a forward; the "im2col" route runs grouped.py too."""
    x, w, b, rng = make(CASES[3])
    geom = conv2d_geometry(x.shape, w.shape, b.shape, 2, 1, 1, 4)
    g = rng.standard_normal(geom.y_shape)
    y, saved = kernels.conv2d_forward(x, w, b, geom)
    dx = kernels.conv2d_backward(g, saved, geom, (True, False, False))[0]
    np.testing.assert_allclose(kernels.conv2d_input_grad(g, w, geom), dx, rtol=1e-12)
    with kernels.use("im2col"):
        y2, saved2 = kernels.conv2d_forward(x, w, b, geom)
        np.testing.assert_allclose(y2, y, rtol=1e-12)
        for a, e in zip(kernels.conv2d_backward(g, saved2, geom, (True, True, True)),
                        kernels.conv2d_backward(g, saved, geom, (True, True, True))):
            np.testing.assert_allclose(a, e, rtol=1e-12)


def test_float32_stays_float32_and_g_is_not_written():
    x, w, b, rng = make(CASES[0], np.float32)
    geom = conv2d_geometry(x.shape, w.shape, b.shape, 1, 1, 1, 4)
    for tune in TUNINGS:
        with kernels.tuning(**tune):
            y, saved = kernels.conv2d_forward(x, w, b, geom)
            g = rng.standard_normal(y.shape).astype(np.float32)
            g_copy = g.copy()
            grads = kernels.conv2d_backward(g, saved, geom, (True, True, True))
        assert y.dtype == np.float32 and all(d.dtype == np.float32 for d in grads)
        np.testing.assert_array_equal(g, g_copy)
