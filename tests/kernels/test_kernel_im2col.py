"""The kernels seam on arrays: im2col/col2im against loops, col2im_wide against col2im, both routes vs the loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive import loop_conv2d, loop_conv2d_grads

from tinygrad_conv import kernels
from tinygrad_conv.kernels.geometry import Geometry, out_size, phase_shape
from tinygrad_conv.kernels.im2col import col2im, col2im_wide, im2col, widen


@st.composite
def cases(draw):
    """(xp shape, w shape, stride, dilation, pads, seed) with a kernel that fits."""
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    h = draw(st.integers(max(1, dilation[0] * (kh - 1) + 1 - pads[0] - pads[1]), 9))
    w = draw(st.integers(max(1, dilation[1] * (kw - 1) + 1 - pads[2] - pads[3]), 9))
    return (n, c, h, w), (o, c, kh, kw), stride, dilation, pads, draw(st.integers(0, 2**16))


def loop_im2col(xp, kernel, stride, dilation):
    n, c, hp, wp = xp.shape
    ho, wo = out_size(hp, kernel[0], stride[0], dilation[0]), out_size(wp, kernel[1], stride[1], dilation[1])
    cols = np.zeros((c * kernel[0] * kernel[1], n * ho * wo))
    for ci in range(c):
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                for ni in range(n):
                    for u in range(ho):
                        for v in range(wo):
                            cols[(ci * kernel[0] + i) * kernel[1] + j, (ni * ho + u) * wo + v] = \
                                xp[ni, ci, u * stride[0] + i * dilation[0], v * stride[1] + j * dilation[1]]
    return cols


@settings(max_examples=40, deadline=None)
@given(cases())
def test_im2col_matches_the_loop_and_col2im_is_its_adjoint(case):
    x_shape, w_shape, stride, dilation, pads, seed = case
    rng = np.random.default_rng(seed)
    xp = rng.standard_normal((x_shape[0], x_shape[1], x_shape[2] + pads[0] + pads[1], x_shape[3] + pads[2] + pads[3]))
    cols = im2col(xp, w_shape[2:], stride, dilation)
    np.testing.assert_array_equal(cols, loop_im2col(xp, w_shape[2:], stride, dilation))
    r = rng.standard_normal(cols.shape)
    back = col2im(r, xp.shape, w_shape[2:], stride, dilation)
    np.testing.assert_allclose(np.vdot(cols, r), np.vdot(xp, back), rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_col2im_wide_matches_col2im(case):
    (n, c, h, w), (o, _, kh, kw), stride, dilation, pads, seed = case
    rng = np.random.default_rng(seed)
    hp, wp = h + pads[0] + pads[1], w + pads[2] + pads[3]
    ho, wo = out_size(hp, kh, stride[0], dilation[0]), out_size(wp, kw, stride[1], dilation[1])
    (hq, wq), w_mat = phase_shape((hp, wp), stride), rng.standard_normal((o, c * kh * kw))
    g = rng.standard_normal((n, o, ho * wo))
    expected = col2im(np.matmul(w_mat.T, g), (n, c, hp, wp), (kh, kw), stride, dilation)
    w_taps = w_mat.reshape(o, c, kh * kw).transpose(2, 1, 0).reshape(-1, o)
    g_wide = widen(g, (ho, wo), np.full((n, o, hq, wq), np.nan))  # NaN scratch: every element must be written
    phases = np.full((n, *stride, c, hq, wq), np.nan)
    got = col2im_wide(np.matmul(w_taps, g_wide), np.full((n, c, hp, wp), np.nan), (kh, kw), stride, dilation, phases)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("route", ["fast", "im2col"])
@settings(max_examples=30, deadline=None)
@given(case=cases())
def test_the_seam_matches_the_loop(route, case):
    x_shape, w_shape, stride, dilation, pads, seed = case
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    geom = Geometry(x_shape, w_shape, b.shape, stride, pads, dilation)
    y, saved = kernels.conv2d_forward(x, w, b, geom, route=route)
    np.testing.assert_allclose(y, loop_conv2d(x, w, b, stride, pads, dilation), rtol=1e-10, atol=1e-10)
    g = rng.standard_normal(y.shape)
    for got, want in zip(kernels.conv2d_backward(g, saved, geom, (True, True, True)),
                         loop_conv2d_grads(x, w, g, stride, pads, dilation)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_the_seam_refuses_an_unknown_route():
    geom = Geometry((1, 1, 3, 3), (1, 1, 2, 2), None, (1, 1), (0, 0, 0, 0), (1, 1))
    with pytest.raises(ValueError, match="route"):
        kernels.conv2d_forward(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), None, geom, route="gpu")


def test_kernels_import_nothing_above_them():
    """Only numpy, the standard library, threadpoolctl and each other: no Tensor, registry or conv op."""
    from pathlib import Path

    for path in Path(kernels.__file__).parent.glob("*.py"):
        for line in path.read_text().splitlines():
            if line.lstrip().startswith(("import ", "from ")):
                assert "tinygrad_conv" not in line and not line.lstrip().startswith("from .."), (path.name, line)
