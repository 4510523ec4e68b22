"""Elementwise math and selection: closed forms, PyTorch's edge cases, and PyTorch's values and gradients."""

import warnings

import numpy as np
import pytest

import tinygrad_conv as tc

SPECIAL = np.array([-np.inf, -30.0, -2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, 30.0, np.inf, np.nan])


def grads_of(fn, *arrays, grad=None):
    tensors = [tc.Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(np.ones(out.shape, out.dtype) if grad is None else grad)
    return out.data, [t.grad for t in tensors]


def compare_with_torch(ours, theirs, arrays, dtype, rtol, atol=0.0, seed=0, zero_signs=True):
    """Values and gradients of ``ours(*tc tensors)`` and ``theirs(*torch tensors)`` for one random seed gradient."""
    torch = pytest.importorskip("torch")
    arrays = [np.asarray(a, dtype) for a in arrays]
    expected_t = [torch.tensor(a, requires_grad=True) for a in arrays]
    expected = theirs(*expected_t)
    g = np.random.default_rng(seed).standard_normal(expected.shape).astype(dtype)
    expected.backward(torch.tensor(g))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from numpy at inf, NaN, 0
        got_t = [tc.Tensor(a, requires_grad=True) for a in arrays]
        got = ours(*got_t)
        got.backward(g)
    assert got.dtype == dtype
    np.testing.assert_allclose(got.data, expected.detach().numpy(), rtol=rtol, atol=atol, equal_nan=True)
    zeros = got.data == 0
    same_signs = np.array_equal(np.signbit(got.data[zeros]), np.signbit(expected.detach().numpy()[zeros]))
    assert same_signs or not zero_signs, "signs of zero differ"
    for mine, theirs_t in zip(got_t, expected_t):
        assert mine.grad.dtype == dtype
        np.testing.assert_allclose(mine.grad, theirs_t.grad.numpy(), rtol=rtol, atol=atol, equal_nan=True)


TOLERANCE = {np.float64: (1e-12, 1e-300), np.float32: (2e-6, 1e-30)}


def torch_fn(name):
    def call(*tensors):
        import torch
        return getattr(torch, name)(*tensors)
    return call


# --- unary math -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, domain", [("abs", SPECIAL), ("sqrt", np.abs(SPECIAL)), ("rsqrt", np.abs(SPECIAL)),
                                          ("square", SPECIAL), ("reciprocal", SPECIAL), ("sin", SPECIAL[2:-3]),
                                          ("cos", SPECIAL[2:-3]), ("exp", SPECIAL), ("log", np.abs(SPECIAL))])
def test_unary_math_against_torch_including_edge_values(rng, name, domain, dtype):
    x = np.concatenate([domain, rng.standard_normal(20) * 2])
    if name in ("sqrt", "rsqrt", "log"):
        x = np.abs(x)
    compare_with_torch(getattr(tc, name), torch_fn(name), [x], dtype, *TOLERANCE[dtype])


def test_unary_math_closed_forms(rng):
    x = rng.uniform(0.5, 3.0, (3, 4)) * rng.choice([-1, 1], (3, 4))
    for fn, f, df in [(tc.abs, np.abs, np.sign), (tc.square, np.square, lambda v: 2 * v),
                      (tc.reciprocal, lambda v: 1 / v, lambda v: -1 / v**2), (tc.sin, np.sin, np.cos),
                      (tc.cos, np.cos, lambda v: -np.sin(v))]:
        out, (g,) = grads_of(fn, x)
        np.testing.assert_allclose(out, f(x), rtol=1e-15)
        np.testing.assert_allclose(g, df(x), rtol=1e-14)
    p = np.abs(x)
    for fn, f, df in [(tc.sqrt, np.sqrt, lambda v: 0.5 / np.sqrt(v)), (tc.rsqrt, lambda v: v**-0.5,
                                                                       lambda v: -0.5 * v**-1.5)]:
        out, (g,) = grads_of(fn, p)
        np.testing.assert_allclose(out, f(p), rtol=1e-15)
        np.testing.assert_allclose(g, df(p), rtol=1e-14)


def test_kinks_follow_pytorch():
    assert grads_of(tc.abs, np.array([0.0, -0.0]))[1][0].tolist() == [0.0, 0.0]  # abs'(0) = 0
    out, (g,) = grads_of(tc.sqrt, np.array([0.0, 4.0]))
    assert out.tolist() == [0.0, 2.0] and g.tolist() == [np.inf, 0.25]  # sqrt'(0) = inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(tc.sqrt(tc.Tensor([-1.0])).data[0])  # NaN, silently


def test_tensor_methods_and_builtin_abs(rng):
    x = tc.Tensor(rng.standard_normal((2, 3)))
    for name in ("abs", "sqrt", "rsqrt", "square", "reciprocal", "sin", "cos", "exp", "log", "relu", "sigmoid",
                 "tanh"):
        with np.errstate(invalid="ignore", divide="ignore"):
            np.testing.assert_array_equal(getattr(x, name)().data, getattr(tc, name)(x).data, err_msg=name)
    np.testing.assert_array_equal(abs(x).data, np.abs(x.data))
    np.testing.assert_array_equal(x.clamp(min=0).data, np.maximum(x.data, 0))
    np.testing.assert_array_equal(x.clip(-0.5, 0.5).data, np.clip(x.data, -0.5, 0.5))
    np.testing.assert_array_equal(x.maximum(x * 2).data, np.maximum(x.data, 2 * x.data))
    np.testing.assert_array_equal(x.minimum(0.0).data, np.minimum(x.data, 0))
    np.testing.assert_array_equal(x.where(x.data > 0, -1.0).data, np.where(x.data > 0, x.data, -1))


def test_float32_stays_float32_with_python_and_numpy_constants():
    x = tc.Tensor(np.linspace(-2, 2, 5, dtype=np.float32), requires_grad=True)
    for out in (tc.clamp(x, -1, 1), tc.clamp(x, min=0.5), tc.maximum(x, 0.25), tc.where(x.data > 0, x, 0.0),
                tc.where(x.data > 0, 1.5, x), tc.leaky_relu(x, np.float64(0.2)), tc.elu(x, np.float64(2.0)),
                tc.softplus(x, np.float64(2.0)), tc.hardtanh(x, np.float64(-0.5)), tc.gelu(x), abs(x), x.square()):
        assert out.dtype == np.float32
        out.backward(np.ones(out.shape, np.float32))
        assert x.grad.dtype == np.float32
        x.grad = None


# --- maximum, minimum -------------------------------------------------------------------------------
def test_maximum_minimum_split_ties_evenly_and_broadcast():
    a, b = np.array([1.0, 2.0, 3.0, np.nan]), np.array([1.0, 3.0, 2.0, 0.0])
    out, (ga, gb) = grads_of(tc.maximum, a, b)
    np.testing.assert_array_equal(out, [1.0, 3.0, 3.0, np.nan])
    np.testing.assert_array_equal(ga, [0.5, 0.0, 1.0, 1.0])  # NaN wins: PyTorch gives both sides the gradient
    np.testing.assert_array_equal(gb, [0.5, 1.0, 0.0, 1.0])
    out, (ga, gb) = grads_of(tc.minimum, a, b)
    np.testing.assert_array_equal(ga, [0.5, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(gb, [0.5, 0.0, 1.0, 1.0])
    _, (ga, gb) = grads_of(tc.maximum, np.array([[0.0, 1.0], [2.0, 0.0]]), np.array(0.0))
    assert gb.shape == () and gb == 1.0 and ga.tolist() == [[0.5, 1.0], [1.0, 0.5]]
    with pytest.raises(ValueError, match=r"maximum.*\(2,\).*\(3,\)"):
        tc.maximum(np.ones(2), np.ones(3))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_against_torch(rng, name, dtype):
    a = np.round(rng.standard_normal((4, 5)))  # rounding makes ties
    b = np.round(rng.standard_normal((5,)))
    a[0, 0] = np.nan
    compare_with_torch(getattr(tc, name), torch_fn(name), [a, b], dtype, *TOLERANCE[dtype])


# --- clamp ------------------------------------------------------------------------------------------------
def test_clamp_closed_form_gradient_passes_on_the_bounds():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, np.nan])
    out, (g,) = grads_of(lambda t: tc.clamp(t, -1, 1), x)
    np.testing.assert_array_equal(out, [-1, -1, 0, 1, 1, np.nan])
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 0, 0])
    out, (g,) = grads_of(lambda t: tc.clamp(t, min=0), x)
    np.testing.assert_array_equal(g, [0, 0, 1, 1, 1, 0])
    out, (g,) = grads_of(lambda t: tc.clamp(t, 1.5, -1.5), x)  # min > max: max everywhere
    np.testing.assert_array_equal(out, [-1.5] * 5 + [np.nan])
    np.testing.assert_array_equal(g, 0)
    assert tc.clip is not tc.clamp and tc.clip(x, 0, 1).data.tolist()[:3] == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="at least one of min and max"):
        tc.clamp(x)
    with pytest.raises(ValueError, match=r"clamp.*\(6,\).*\(2,\)"):
        tc.clamp(x, np.zeros(2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bounds", [(-0.5, 0.5), (None, 0.5), (-0.5, None), (0.8, 0.3), "tensors", "tensors_crossed"])
def test_clamp_against_torch(rng, bounds, dtype):
    torch = pytest.importorskip("torch")
    x = np.tile(np.concatenate([rng.standard_normal(12), [-0.5, 0.5, np.nan, np.inf, -np.inf]]), (3, 1))
    if isinstance(bounds, tuple):
        compare_with_torch(lambda t: tc.clamp(t, *bounds), lambda t: torch.clamp(t, *bounds), [x], dtype,
                           *TOLERANCE[dtype])
    else:
        low, high = rng.uniform(-1, 0, (3, 1)), rng.uniform(0, 1, (17,))
        if bounds == "tensors_crossed":
            low, high = low + 0.7, high - 0.7
        compare_with_torch(tc.clamp, torch.clamp, [x, low, high], dtype, *TOLERANCE[dtype])


# --- where -------------------------------------------------------------------------------------------------
def test_where_routes_the_gradient_and_takes_numbers():
    cond = np.array([[True, False, True]])
    out, (gx, gy) = grads_of(lambda x, y: tc.where(cond, x, y), np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
                             np.array([10.0]))
    np.testing.assert_array_equal(out, [[1, 10, 3], [4, 10, 6]])
    np.testing.assert_array_equal(gx, [[1, 0, 1], [1, 0, 1]])
    assert gy.shape == (1,) and gy[0] == 2
    assert tc.where(np.array([True, False]), 1.0, 0.0).data.tolist() == [1.0, 0.0]
    assert tc.where(tc.Tensor([1.0, 0.0]), tc.Tensor([5.0, 6.0]), 0.0).data.tolist() == [5.0, 0.0]
    editable = np.array([True, False])
    y = tc.where(editable, tc.Tensor([1.0, 2.0], requires_grad=True), 0.0)
    editable[:] = False  # the caller's array is copied: the gradient is the forward's
    y.backward(np.ones(2))
    assert y.node.inputs[0].grad.tolist() == [1.0, 0.0]


def test_where_bad_inputs():
    with pytest.raises(TypeError, match="condition must be a bool array"):
        tc.where(np.array([1.0, 0.0]), tc.Tensor([1.0, 2.0]), 0.0)
    with pytest.raises(TypeError, match="condition must be a bool array"):
        tc.where("yes", tc.Tensor([1.0]), 0.0)
    with pytest.raises(ValueError, match=r"where.*\(3,\).*\(2,\)"):
        tc.where(np.ones(3, bool), tc.Tensor([1.0, 2.0]), 0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_where_against_torch(rng, dtype):
    torch = pytest.importorskip("torch")
    cond = rng.random((3, 4)) < 0.5
    compare_with_torch(lambda x, y: tc.where(cond, x, y), lambda x, y: torch.where(torch.tensor(cond), x, y),
                       [rng.standard_normal((3, 4)), rng.standard_normal((4,))], dtype, *TOLERANCE[dtype])


# --- pow ---------------------------------------------------------------------------------------------------
def test_pow_takes_a_tensor_exponent_on_either_side():
    x = tc.Tensor(np.ones(2) * 2, requires_grad=True)
    np.testing.assert_allclose(tc.pow(x, np.float32(3)).data, [8.0, 8.0])
    np.testing.assert_allclose((x ** x).data, [4.0, 4.0])
    np.testing.assert_allclose((2 ** x).data, [4.0, 4.0])
    np.testing.assert_allclose(((-2) ** tc.Tensor([2.0, 3.0])).data, [4.0, -8.0])  # a negative base, whole exponents
    with pytest.raises(TypeError, match="pow.. argument 'exponent'"):
        x ** "2"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", ["negative_base_whole_exponents", "zero_base", "broadcast_exponent", "scalar_exponent",
                                  "square", "zero_exponent", "scalar_base"])
def test_pow_against_torch(rng, case, dtype):
    torch = pytest.importorskip("torch")
    if case == "negative_base_whole_exponents":
        args = [np.array([-2.0, -1.5, -3.0, 2.0, -0.5]), np.array([2.0, 3.0, -1.0, 0.5, 0.0])]
    elif case == "zero_base":  # 0 ** 0 = 1 with gradients 0; 0 ** -1 = inf; 0 ** 0.5 = 0 with an infinite x-gradient
        args = [np.zeros(5), np.array([0.0, -1.0, 0.5, 2.0, 1.0])]
    elif case == "broadcast_exponent":
        args = [np.abs(rng.standard_normal((3, 4))) + 0.1, rng.standard_normal((3, 1))]
    else:
        x = np.concatenate([rng.standard_normal(8), [0.0, -1.0]])
        exponent = {"scalar_exponent": 3.0, "square": 2.0, "zero_exponent": 0.0, "scalar_base": None}[case]
        if exponent is None:
            compare_with_torch(lambda e: 2.5 ** e, lambda e: 2.5 ** e, [x], dtype, *TOLERANCE[dtype])
        else:
            compare_with_torch(lambda t: t ** exponent, lambda t: t ** exponent, [x], dtype, *TOLERANCE[dtype])
        return
    compare_with_torch(tc.pow, torch.pow, args, dtype, *TOLERANCE[dtype])
