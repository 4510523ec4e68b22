"""Activations and their layers: closed forms, PyTorch's values and gradients (also at kinks, inf and NaN), modules."""

import math
import warnings

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv import nn
from test_elementwise import SPECIAL, TOLERANCE, compare_with_torch, grads_of


def F(name, **kwargs):
    def call(t):
        import torch.nn.functional as functional
        return getattr(functional, name)(t, **kwargs)
    return call


# --- relu, sigmoid, tanh ---------------------------------------------------------------------------
def test_relu_closed_form(rng):
    x = rng.standard_normal((4, 5))
    out, (dx,) = grads_of(tc.relu, x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    np.testing.assert_array_equal(dx, (x > 0).astype(float))
    assert grads_of(tc.relu, np.array(0.0))[1][0] == 0.0  # PyTorch's convention at the kink


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_edge_values(dtype):
    x = np.array([-np.inf, -1.0, -0.0, 0.0, 2.0, np.inf, np.nan], dtype)
    out, (g,) = grads_of(tc.relu, x)
    assert out.dtype == dtype and not np.signbit(out[~np.isnan(out)]).any()  # never -0.0
    np.testing.assert_array_equal(out, [0, 0, 0, 0, 2, np.inf, np.nan])
    np.testing.assert_array_equal(g, [0, 0, 0, 0, 1, 1, 1])  # PyTorch passes the gradient at NaN
    big = np.full(1001, -0.0, dtype)  # numpy's vector loop and its tail
    assert not np.signbit(tc.relu(big).data).any()


def test_sigmoid_closed_form(rng):
    x = rng.standard_normal(7) * 3
    out, (dx,) = grads_of(tc.sigmoid, x)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(out, s, rtol=1e-14)
    np.testing.assert_allclose(dx, s * (1 - s), rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_at_extremes(dtype):
    x = tc.Tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = tc.sigmoid(x)
        y.backward(np.ones(5, dtype))
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    assert y.data[0] == 0.0 and y.data[-1] == 1.0 and y.data[2] == 0.5
    np.testing.assert_allclose(y.data[1], math.exp(-50) / (1 + math.exp(-50)), rtol=1e-6)  # relative accuracy
    assert y.dtype == dtype


# --- every activation against PyTorch ---------------------------------------------------------------
ACTIVATIONS = [
    ("relu", tc.relu, F("relu"), True),
    ("sigmoid", tc.sigmoid, F("sigmoid"), True),
    ("tanh", tc.tanh, F("tanh"), True),
    ("leaky_relu", tc.leaky_relu, F("leaky_relu"), True),
    ("leaky_relu_0.2", lambda t: tc.leaky_relu(t, 0.2), F("leaky_relu", negative_slope=0.2), True),
    ("leaky_relu_-1.5", lambda t: tc.leaky_relu(t, negative_slope=-1.5), F("leaky_relu", negative_slope=-1.5), True),
    ("leaky_relu_3", lambda t: tc.leaky_relu(t, 3.0), F("leaky_relu", negative_slope=3.0), True),
    ("elu", tc.elu, F("elu"), True),
    ("elu_0.5", lambda t: tc.elu(t, 0.5), F("elu", alpha=0.5), True),
    ("elu_2.5", lambda t: tc.elu(t, alpha=2.5), F("elu", alpha=2.5), True),
    ("gelu", tc.gelu, F("gelu"), True),
    ("gelu_tanh", lambda t: tc.gelu(t, approximate="tanh"), F("gelu", approximate="tanh"), True),
    ("silu", tc.silu, F("silu"), True),
    ("softplus", tc.softplus, F("softplus"), True),
    ("softplus_2_3", lambda t: tc.softplus(t, 2.0, 3.0), F("softplus", beta=2.0, threshold=3.0), True),
    ("softplus_0.5", lambda t: tc.softplus(t, beta=0.5), F("softplus", beta=0.5), True),
    ("logsigmoid", tc.logsigmoid, F("logsigmoid"), True),
    ("hardtanh", tc.hardtanh, F("hardtanh"), True),
    ("hardtanh_-2_3", lambda t: tc.hardtanh(t, -2.0, 3.0), F("hardtanh", min_val=-2.0, max_val=3.0), True),
    ("relu6", tc.relu6, F("relu6"), True),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, ours, theirs, with_nan", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_against_torch(rng, name, ours, theirs, with_nan, dtype):
    kinks = [-1.0, 0.0, 1.0, 6.0, -2.0, 3.0, 7.0]  # hardtanh's and relu6's bounds, and the kinks at 0
    special = SPECIAL if with_nan else SPECIAL[:-1]
    if name == "gelu" and dtype == np.float32:
        special = special[np.isfinite(special)]  # PyTorch's float32 gelu(inf) is NaN; ours is inf, as in float64
    x = np.concatenate([special, kinks, rng.standard_normal(30) * 3, [-5.0, 15.0, 25.0]])
    rtol, atol = TOLERANCE[dtype]
    if not name.startswith(("relu", "leaky", "hardtanh")):  # transcendental: equally good formulas differ in the
        rtol, atol = (1e-10, 1e-14) if dtype == np.float64 else (1e-5, 1e-6)  # last bits (1 - tanh^2 near tanh = 1)
    # PyTorch's relu keeps -0.0; ours returns +0.0 (never -0.0), as issue 13 asks
    compare_with_torch(ours, theirs, [x], dtype, rtol, atol, zero_signs=not name.startswith("relu"))


def test_leaky_relu_and_elu_closed_forms(rng):
    x = rng.standard_normal((3, 4))
    out, (g,) = grads_of(lambda t: tc.leaky_relu(t, 0.1), x)
    np.testing.assert_array_equal(out, np.where(x > 0, x, 0.1 * x))
    np.testing.assert_array_equal(g, np.where(x > 0, 1.0, 0.1))
    out, (g,) = grads_of(lambda t: tc.elu(t, 2.0), x)
    np.testing.assert_allclose(out, np.where(x > 0, x, 2.0 * np.expm1(x)), rtol=1e-15)
    np.testing.assert_allclose(g, np.where(x > 0, 1.0, 2.0 * np.exp(x)), rtol=1e-15)


def test_gelu_closed_form_and_tail():
    x = np.array([-40.0, -10.0, -3.0, -0.2, 0.0, 0.4, 2.0, 10.0])
    out, (g,) = grads_of(tc.gelu, x)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(out, x * cdf, rtol=1e-13, atol=0)  # relative accuracy also far in the left tail
    np.testing.assert_allclose(g, cdf + x * pdf, rtol=1e-13, atol=1e-300)
    assert out[1] < 0  # -10 * Phi(-10) ~ -7.6e-23, not 0
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        tc.gelu(tc.Tensor([1.0]), approximate="fast")


def test_softplus_linear_above_threshold_and_logsigmoid_stable():
    x = np.array([-100.0, 0.0, 10.0, 10.5, 1000.0])
    out, (g,) = grads_of(lambda t: tc.softplus(t, beta=2.0, threshold=20.0), x)
    assert out[-1] == 1000.0 and out[-2] == 10.5 and g[-1] == 1.0 and g[-2] == 1.0  # 2 * 10.5 > 20: linear
    np.testing.assert_allclose(out[:3], np.log1p(np.exp(2 * x[:3])) / 2, rtol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, (g,) = grads_of(tc.logsigmoid, np.array([-1000.0, -1.0, 0.0, 1000.0]))
    np.testing.assert_allclose(out, [-1000.0, -math.log1p(math.e), -math.log(2), 0.0], rtol=1e-15)
    np.testing.assert_allclose(g, [1.0, 1 / (1 + math.exp(-1)), 0.5, 0.0], rtol=1e-15)


def test_hardtanh_gradient_is_zero_on_the_bounds_unlike_clamp():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert grads_of(tc.hardtanh, x)[1][0].tolist() == [0, 0, 1, 0, 0]
    assert grads_of(lambda t: tc.clamp(t, -1, 1), x)[1][0].tolist() == [0, 1, 1, 1, 0]
    assert grads_of(tc.relu6, np.array([0.0, 3.0, 6.0]))[1][0].tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        tc.hardtanh(tc.Tensor([1.0]), 2.0, 1.0)


def test_bad_arguments_name_themselves():
    x = tc.Tensor([1.0])
    with pytest.raises(TypeError, match="leaky_relu: negative_slope must be a real number"):
        tc.leaky_relu(x, "0.1")
    with pytest.raises(TypeError, match="elu: alpha must be a real number"):
        tc.elu(x, None)
    with pytest.raises(TypeError, match="relu: inplace must be a bool"):
        tc.relu(x, inplace=1)
    with pytest.raises(TypeError, match="softplus: beta"):
        tc.softplus(x, beta="2")
    assert tc.relu(x, inplace=True).data is not x.data  # accepted, ignored


# --- softmax, log_softmax --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4), (2, 3, 2, 2)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_every_dim_against_torch(rng, name, shape, dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape) * 3
    rtol, atol = (1e-12, 1e-15) if dtype == np.float64 else (1e-5, 1e-6)
    for dim in range(-max(len(shape), 1), max(len(shape), 1)):
        compare_with_torch(lambda t: getattr(tc, name)(t, dim), lambda t: getattr(torch, name)(t, dim), [x], dtype,
                           rtol, atol)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        ours = getattr(tc, name)(tc.Tensor(x.astype(dtype))).data
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x.astype(dtype))).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


# --- layers ----------------------------------------------------------------------------------------
LAYERS = [
    (nn.ReLU(), "ReLU()", tc.relu), (nn.ReLU(inplace=True), "ReLU(inplace=True)", tc.relu),
    (nn.ReLU6(), "ReLU6()", tc.relu6), (nn.SiLU(), "SiLU()", tc.silu), (nn.Sigmoid(), "Sigmoid()", tc.sigmoid),
    (nn.Tanh(), "Tanh()", tc.tanh), (nn.LogSigmoid(), "LogSigmoid()", tc.logsigmoid),
    (nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)", tc.leaky_relu),
    (nn.LeakyReLU(0.2, True), "LeakyReLU(negative_slope=0.2, inplace=True)", lambda t: tc.leaky_relu(t, 0.2)),
    (nn.ELU(), "ELU(alpha=1.0)", tc.elu), (nn.ELU(alpha=0.5), "ELU(alpha=0.5)", lambda t: tc.elu(t, 0.5)),
    (nn.GELU(), "GELU(approximate='none')", tc.gelu),
    (nn.GELU("tanh"), "GELU(approximate='tanh')", lambda t: tc.gelu(t, approximate="tanh")),
    (nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)", tc.softplus),
    (nn.Softplus(2, 5), "Softplus(beta=2.0, threshold=5.0)", lambda t: tc.softplus(t, 2, 5)),
    (nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)", tc.hardtanh),
    (nn.Hardtanh(-2, 3), "Hardtanh(min_val=-2.0, max_val=3.0)", lambda t: tc.hardtanh(t, -2, 3)),
    (nn.Softmax(dim=1), "Softmax(dim=1)", lambda t: tc.softmax(t, 1)),
    (nn.LogSoftmax(dim=-1), "LogSoftmax(dim=-1)", lambda t: tc.log_softmax(t, -1)),
]


@pytest.mark.parametrize("layer, text, fn", LAYERS, ids=[text for _, text, _ in LAYERS])
def test_layers_repr_and_call_their_function(rng, layer, text, fn):
    assert repr(layer) == text
    x = tc.Tensor(rng.standard_normal((2, 5)) * 3)
    np.testing.assert_array_equal(layer(x).data, fn(x).data)
    assert list(layer.parameters()) == []


def test_layer_reprs_match_torch():
    torch_nn = pytest.importorskip("torch").nn
    for layer, text, _ in LAYERS:
        name, args = text.split("(", 1)
        theirs = eval(f"torch_nn.{name}({args[:-1]})", {"torch_nn": torch_nn})  # noqa: S307 - the table above
        assert repr(theirs) == text


def test_layer_bad_arguments():
    with pytest.raises(ValueError, match=r"Hardtanh: max_val \(1\) must be greater than min_val \(2\)"):
        nn.Hardtanh(2, 1)
    with pytest.raises(ValueError, match="GELU: approximate"):
        nn.GELU("fast")
    with pytest.raises(TypeError, match="LeakyReLU: negative_slope"):
        nn.LeakyReLU("0.1")
    with pytest.raises(TypeError, match="ReLU: inplace must be a bool"):
        nn.ReLU(inplace="yes")
    with pytest.raises(TypeError, match="Softmax: dim must be an int"):
        nn.Softmax(dim=1.0)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        nn.Softmax()(tc.Tensor(np.ones((2, 3))))
