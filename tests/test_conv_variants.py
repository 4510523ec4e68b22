"""groups, F.pad-order padding, conv_transpose2d and conv1d, on every route, against torch and finite differences;
and the seed's pieces (pad2d, crop, insert_zeros, rotate180) on arrays and Tensors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_conv as tc

ROUTES = ["fast", "im2col", "literal"]
CONV2D = [  # x, w, kwargs
    ((2, 4, 7, 6), (6, 2, 3, 3), {"groups": 2, "stride": 2, "padding": 1}),
    ((1, 3, 8, 8), (3, 1, 3, 3), {"groups": 3, "padding": "same", "dilation": 2}),  # depthwise
    ((2, 2, 6, 7), (3, 2, 3, 2), {"padding": (1, 0, 2, 1)}),  # (left, right, top, bottom)
    ((6, 6, 5), (4, 3, 2, 2), {"groups": 2, "padding": (0, 1), "stride": (1, 2)}),
]
TRANSPOSE = [
    ((2, 4, 5, 6), (4, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((2, 4, 5, 6), (4, 1, 3, 2), {"stride": (2, 1), "groups": 2, "dilation": (1, 2)}),
    ((3, 5, 5), (3, 2, 2, 2), {"dilation": 3, "output_padding": 2}),
    ((1, 2, 4, 4), (2, 2, 3, 3), {"stride": 3, "padding": (1, 0), "output_padding": (2, 1)}),
]
CONV1D = [
    ((2, 4, 9), (6, 2, 3), {"stride": 2, "padding": 1, "groups": 2}),
    ((3, 10), (2, 3, 3), {"padding": "same", "dilation": 2}),
    ((2, 3, 10), (3, 1, 2), {"groups": 3, "padding": (1,)}),
]


def _torch_padding(kwargs):
    p = kwargs.get("padding")
    if isinstance(p, tuple) and len(p) == 4:  # torch's conv2d takes no 4-tuple: pad the input first
        return {**kwargs, "padding": 0}, p
    return kwargs, None


def _check(fn, torch_fn, x_shape, w_shape, kwargs, route, out_channels):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(out_channels)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    torch_kwargs, pre_pad = _torch_padding(kwargs)
    ty = torch_fn(tx if pre_pad is None else torch.nn.functional.pad(tx, pre_pad), tw, tb, **torch_kwargs)
    g = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    with tc.kernels.use(route):
        X, W, B = (tc.Tensor(a, requires_grad=True) for a in (x, w, b))
        y = fn(X, W, B, **kwargs)
        y.backward(g)
    for name, got, want in (("y", y.data, ty), ("dx", X.grad, tx.grad), ("dw", W.grad, tw.grad), ("db", B.grad, tb.grad)):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-10, err_msg=f"{route} {name}")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONV2D)
def test_conv2d_groups_and_paddings_against_torch(route, x_shape, w_shape, kwargs):
    torch = pytest.importorskip("torch")
    _check(tc.conv2d, torch.nn.functional.conv2d, x_shape, w_shape, kwargs, route, w_shape[0])


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", TRANSPOSE)
def test_conv_transpose2d_against_torch(route, x_shape, w_shape, kwargs):
    torch = pytest.importorskip("torch")
    _check(tc.conv_transpose2d, torch.nn.functional.conv_transpose2d, x_shape, w_shape, kwargs, route,
           w_shape[1] * kwargs.get("groups", 1))


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", CONV1D)
def test_conv1d_against_torch(route, x_shape, w_shape, kwargs):
    torch = pytest.importorskip("torch")
    _check(tc.conv1d, torch.nn.functional.conv1d, x_shape, w_shape, kwargs, route, w_shape[0])


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("fn, case", [(tc.conv2d, c) for c in CONV2D[:2]] + [(tc.conv_transpose2d, c) for c in TRANSPOSE]
                         + [(tc.conv1d, c) for c in CONV1D[:2]])
def test_finite_differences(route, fn, case):
    x_shape, w_shape, kwargs = case
    rng = np.random.default_rng(1)
    out_channels = w_shape[1] * kwargs.get("groups", 1) if fn is tc.conv_transpose2d else w_shape[0]
    inputs = [tc.Tensor(rng.standard_normal(s), requires_grad=True) for s in (x_shape, w_shape, (out_channels,))]
    with tc.kernels.use(route):
        assert tc.gradcheck(lambda *t: fn(*t, **kwargs), inputs)


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    rng = np.random.default_rng(2)
    x, w = tc.Tensor(rng.standard_normal((2, 3, 9, 8)), requires_grad=True), rng.standard_normal((4, 3, 3, 3))
    y = tc.conv2d(x, w, stride=2, padding=1)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    out = tc.conv_transpose2d(g, w, stride=2, padding=1, output_padding=(0, 1))
    np.testing.assert_allclose(out.data, x.grad, rtol=1e-12, atol=1e-12)


BAD = [
    (tc.conv2d, (1, 4, 5, 5), (6, 2, 3, 3), {"groups": 3}, ValueError, r"groups=3 must divide.*\(1, 4, 5, 5\)"),
    (tc.conv2d, (1, 4, 5, 5), (6, 3, 3, 3), {"groups": 2}, ValueError, r"channel mismatch"),
    (tc.conv2d, (1, 4, 5, 5), (4, 4, 3, 3), {"groups": 0}, ValueError, r"groups must be >= 1"),
    (tc.conv2d, (5, 5), (3, 3), {"groups": 2}, ValueError, r"groups=2"),
    (tc.conv2d, (1, 1, 5, 5), (1, 1, 3, 3), {"padding": (1, 2, 3)}, TypeError, r"padding"),
    (tc.conv2d, (1, 1, 5, 5), (1, 1, 3, 3), {"padding": (1, -1, 0, 0)}, ValueError, r"padding must be >= 0"),
    (tc.conv_transpose2d, (1, 2, 4, 4), (2, 3, 3, 3), {"stride": 2, "output_padding": 2}, ValueError,
     r"output_padding.*stride"),
    (tc.conv_transpose2d, (1, 2, 4, 4), (3, 3, 3, 3), {}, ValueError, r"channel mismatch.*\(1, 2, 4, 4\)"),
    (tc.conv_transpose2d, (1, 4, 4, 4), (4, 3, 3, 3), {"groups": 3}, ValueError, r"groups=3 must divide"),
    (tc.conv_transpose2d, (1, 2, 2, 2), (2, 1, 2, 2), {"padding": 3}, ValueError, r"padding 3 is too large"),
    (tc.conv_transpose2d, (4, 4), (1, 1, 2, 2), {}, ValueError, r"3-D .* or 4-D"),
    (tc.conv1d, (1, 2, 5), (2, 2, 3, 3), {}, ValueError, r"conv1d: x must be"),
    (tc.conv1d, (1, 2, 5), (2, 2, 3), {"stride": (1, 2)}, TypeError, r"conv1d: stride"),
]


@pytest.mark.parametrize("fn, x, w, kwargs, error, match", BAD)
def test_bad_arguments_name_the_argument_and_the_shapes(fn, x, w, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(np.ones(x), np.ones(w), **kwargs)


def test_methods_from_the_registry():
    x, w = tc.Tensor(np.ones((1, 2, 5))), np.ones((3, 2, 2))
    np.testing.assert_array_equal(x.conv1d(w, stride=2).data, tc.conv1d(x, w, stride=2).data)
    x4 = tc.Tensor(np.ones((1, 2, 3, 3)))
    np.testing.assert_array_equal(x4.conv_transpose2d(np.ones((2, 1, 2, 2))).data,
                                  tc.conv_transpose2d(x4, np.ones((2, 1, 2, 2))).data)


# --- the seed's pieces, on arrays and on Tensors ------------------------------------
def test_pieces_on_arrays_return_arrays_and_on_tensors_tensors():
    a = np.arange(12.0).reshape(1, 3, 4)
    t = tc.Tensor(a, requires_grad=True)
    for fn, args in ((tc.pad2d, ((1, 0, 2, 1),)), (tc.crop, ((1, 0, 1, 2),)),
                     (tc.insert_zeros, (2,)), (tc.rotate180, ())):
        on_array, on_tensor = fn(a, *args), fn(t, *args)
        assert isinstance(on_array, np.ndarray) and isinstance(on_tensor, tc.Tensor), fn.__name__
        np.testing.assert_array_equal(on_array, on_tensor.data)


def test_each_piece_is_the_gradient_of_another():
    rng = np.random.default_rng(3)
    t = tc.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    g = rng.standard_normal((2, 5, 7))
    tc.insert_zeros(t, 2).backward(g)
    np.testing.assert_array_equal(t.grad, g[..., ::2, ::2])
    t.grad = None
    tc.pad2d(t, (1, 1, 2, 1)).backward(g)
    np.testing.assert_array_equal(t.grad, g[..., 1:-1, 2:-1])
    t.grad = None
    tc.rotate180(t).backward(g[..., :3, :4])
    np.testing.assert_array_equal(t.grad, g[..., :3, :4][..., ::-1, ::-1])


def test_pieces_reject_bad_arguments():
    with pytest.raises(TypeError, match="pad2d: padding must be 4 ints"):
        tc.pad2d(np.ones((3, 3)), (1, 1))
    with pytest.raises(ValueError, match="padding must be >= 0"):
        tc.pad2d(tc.Tensor(np.ones((3, 3))), (1, -1, 0, 0))
    with pytest.raises(ValueError, match="insert_zeros: stride must be >= 1"):
        tc.insert_zeros(np.ones((3, 3)), 0)
