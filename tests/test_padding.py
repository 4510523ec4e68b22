"""tc.pad (F.pad) and the nn padding layers: a loop reference, torch's values and gradients, errors."""

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv import nn

MODES = ("constant", "reflect", "replicate", "circular")


# --- a reference by loops over the padded axes (small inputs only) -------------------
def _source(mode, n, left, right, j):
    """The input position that output position j copies along one axis (None: the constant)."""
    if mode == "circular":  # torch crops first, then wraps what is left
        kept = list(range(max(-left, 0), n - max(-right, 0)))
        return kept[(j - max(left, 0)) % len(kept)]
    t = j - left
    if mode == "constant":
        return t if 0 <= t < n else None
    if mode == "replicate":
        return min(max(t, 0), n - 1)
    return -t if t < 0 else (2 * (n - 1) - t if t > n - 1 else t)


def reference_pad(x, pad, mode="constant", value=0.0):
    pairs = [(x.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]
    shape = list(x.shape)
    for axis, left, right in pairs:
        shape[axis] += left + right
    out = np.empty(shape)
    for index in np.ndindex(*shape):
        src = list(index)
        for axis, left, right in pairs:
            src[axis] = _source(mode, x.shape[axis], left, right, index[axis])
        out[index] = value if None in src else x[tuple(src)]
    return out


CASES = [  # (shape, pad, mode, value)
    ((5,), (2, 1), "constant", 0.5),
    ((5,), (-2, 3), "constant", None),
    ((3, 4), (1, 2), "constant", -1.0),
    ((2, 3, 4), (1, -1, -1, 2), "constant", None),
    ((2, 3, 4), (1, 0, 0, 1, 2, -1), "constant", 3.0),
    ((2, 3, 4), (-4, 0), "constant", None),  # an empty output
    ((2, 5), (2, 3), "reflect", None),
    ((2, 5), (-2, 4), "reflect", None),
    ((2, 3, 4), (-1, 2, 2, -1), "reflect", None),
    ((1, 2, 3, 4), (3, 3, 2, 2), "reflect", None),
    ((1, 2, 3, 4, 3), (1, 1, 2, 0, 1, 2), "reflect", None),
    ((2, 3, 4), (2, -1, 3, 1), "replicate", None),
    ((3, 5), (-4, 2), "replicate", None),
    ((1, 3), (2, -4), "replicate", None),
    ((2, 2, 3, 2, 2), (1, 2, 0, 1, 3, -1), "replicate", None),
    ((2, 5), (2, -1), "circular", None),
    ((2, 5), (5, 5), "circular", None),
    ((1, 2, 3, 4), (1, 2, 2, -1), "circular", None),
    ((3, 4, 4), (-1, 3, 4, 0), "circular", None),
    ((1, 2, 2, 3, 4), (4, 4, 1, -1, 1, 2), "circular", None),
]


@pytest.mark.parametrize("shape, pad, mode, value", CASES)
def test_pad_matches_a_loop_reference_and_its_gradient_sums_the_copies(shape, pad, mode, value):
    rng = np.random.default_rng(0)
    x = tc.Tensor(rng.standard_normal(shape), requires_grad=True)
    y = tc.pad(x, pad, mode, value)
    np.testing.assert_array_equal(y.data, reference_pad(x.data, pad, mode, 0.0 if value is None else value))
    # The gradient of sum(y * g) at x[i] is the sum of g over the outputs that copy x[i]: pad the
    # position indices themselves and count.
    g = rng.standard_normal(y.shape)
    (y * g).sum().backward()
    positions = np.arange(x.data.size, dtype=float).reshape(shape)
    sources = reference_pad(positions, pad, mode, -1.0).ravel().astype(int)
    expected = np.bincount(sources[sources >= 0], weights=g.ravel()[sources >= 0], minlength=x.data.size)
    np.testing.assert_allclose(x.grad, expected.reshape(shape), rtol=1e-12, atol=1e-12)


def test_pad_is_a_function_not_a_method_and_keeps_float32():
    assert not hasattr(tc.Tensor, "pad") and tc.pad.op.name == "pad"
    x = tc.Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    y = tc.pad(x, (1, 1), mode="reflect")
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert tc.pad([[1, 2]], [1, 1]).data.tolist() == [[0.0, 1.0, 2.0, 0.0]]
    assert tc.pad(np.ones((2, 2)), ()).shape == (2, 2)
    a = np.ones((2, 2))
    assert not np.shares_memory(tc.pad(a, (0, 0)).data, a)


@pytest.mark.parametrize("shape, pad, mode, value", CASES + [
    ((2, 3), (1, 1), "constant", float("-inf")), ((1, 2, 4), (-1, -1, 0, 0), "reflect", None),
    ((2, 5), (1, 1), "reflect", 0.0),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pad_matches_torch_values_and_gradients(shape, pad, mode, value, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal(shape).astype(dtype)
    x = tc.Tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    y, ty = tc.pad(x, pad, mode=mode, value=value), torch.nn.functional.pad(tx, pad, mode=mode, value=value)
    assert y.shape == tuple(ty.shape) and y.dtype == dtype
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **tol)


@pytest.mark.parametrize("shape, pad, mode", [
    ((4, 3, 6, 5), (2, 1, 3, 0), "reflect"), ((4, 3, 6, 5), (2, -1, 3, 4), "replicate"),
    ((4, 3, 6, 5), (5, 5, -2, 4), "circular"), ((2, 3, 2, 6, 5), (1, 2, 3, 0, 1, 1), "reflect"),
])
def test_pad_fuzz_against_torch(shape, pad, mode):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    y = tc.pad(tc.Tensor(x, requires_grad=True), pad, mode)
    np.testing.assert_array_equal(y.data, torch.nn.functional.pad(torch.tensor(x), pad, mode=mode).numpy())


@pytest.mark.parametrize("shape, pad, kwargs, error, match", [
    ((2, 5), 1, {}, TypeError, r"pad: pad must be a tuple or list of ints"),
    ((2, 5), (1.5, 1), {}, TypeError, r"pad: pad must be a tuple or list of ints.*1\.5"),
    ((2, 5), (True, 1), {}, TypeError, r"pad: pad must be a tuple or list of ints"),
    ((2, 5), (1, 2, 3), {}, ValueError, r"pad: pad must have an even length.*\(1, 2, 3\)"),
    ((5,), (1, 1, 1, 1), {}, ValueError, r"pad: pad \(1, 1, 1, 1\) pads 2 dims but the input \(5,\) has only 1"),
    ((2, 5), (1, 1), {"mode": "zeros"}, ValueError, r"pad: mode must be one of .*'zeros'"),
    ((2, 5), (1, 1), {"mode": 3}, TypeError, r"pad: mode must be a string"),
    ((2, 5), (1, 1), {"value": "a"}, TypeError, r"pad: value must be a real number"),
    ((2, 5), (1, 1), {"mode": "reflect", "value": 2.0}, ValueError, r"pad: mode 'reflect' takes no value"),
    ((5,), (1, 1), {"mode": "reflect"}, ValueError, r"pad: mode 'reflect' pads the last 1, 2 or 3 dims.*input \(5,\)"),
    ((2, 5), (1, 1, 1, 1), {"mode": "replicate"}, ValueError, r"needs a 3-D or 4-D input, got input \(2, 5\)"),
    ((1, 2, 3, 5), (1, 1), {"mode": "circular"}, ValueError, r"needs a 2-D or 3-D input, got input \(1, 2, 3, 5\)"),
    ((2, 5), (5, 0), {"mode": "reflect"}, ValueError, r"reflect padding must be smaller than the padded dim: "
                                                       r"pad \(5, 0\) at dim 1 of input \(2, 5\)"),
    ((2, 5), (6, 0), {"mode": "circular"}, ValueError, r"circular padding wraps around more than once: pad \(6, 0\)"),
    ((2, 5), (2, -4), {"mode": "circular"}, ValueError, r"wraps around more than once.*1 kept elements"),
    ((2, 5), (-3, -3), {}, ValueError, r"pad: pad \(-3, -3\) at dim 1 crops more than the 5 elements of the "
                                       r"input \(2, 5\)"),
    ((2, 5), (-6, 2), {}, ValueError, r"crops more than the 5 elements"),
    ((2, 5), (-3, -2), {"mode": "reflect"}, ValueError, r"pad: pad \(-3, -2\) leaves an empty output"),
    ((2, 0), (1, 1), {"mode": "replicate"}, ValueError, r"needs non-empty dims .*\(2, 0\)"),
])
def test_pad_errors_name_the_argument_and_the_shapes(shape, pad, kwargs, error, match):
    with pytest.raises(error, match=match):
        tc.pad(np.ones(shape), pad, **kwargs)


def test_pad_errors_where_torch_errors():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    agree = 0
    for _ in range(400):
        mode = MODES[rng.integers(4)]
        k = int(rng.integers(1, 4))
        ndim = k + int(rng.integers(0 if mode == "constant" else 1, 3))
        shape = tuple(int(v) for v in rng.integers(1, 5, size=ndim))
        pad = tuple(int(v) for v in rng.integers(-4, 5, size=2 * k))
        x = rng.standard_normal(shape)
        try:
            ty = torch.nn.functional.pad(torch.tensor(x), pad, mode=mode)
        except (RuntimeError, NotImplementedError):
            ty = None
        try:
            y = tc.pad(x, pad, mode)
        except ValueError:
            y = None
        if ty is not None and y is None and mode == "circular":
            continue  # torch returns uninitialised memory when a pad wraps past its cropped length
        assert (ty is None) == (y is None), (shape, pad, mode)
        if y is not None:
            np.testing.assert_array_equal(y.data, ty.numpy())
            agree += 1
    assert agree > 100


# --- nn padding layers -----------------------------------------------------------------
LAYERS = [  # (our class, constructor args, input shape)
    ("ZeroPad1d", (2,), (2, 3, 5)), ("ZeroPad1d", ((1, -2),), (3, 5)),
    ("ZeroPad2d", (1,), (2, 3, 4, 5)), ("ZeroPad2d", ((1, 2, -1, 0),), (3, 4, 5)),
    ("ConstantPad1d", ((1, 2), 3.5), (2, 3, 5)), ("ConstantPad2d", (2, -1.0), (2, 3, 4, 5)),
    ("ConstantPad2d", ((0, 1, 2, 3), 2), (3, 4, 5)),
    ("ReflectionPad1d", (2,), (2, 3, 5)), ("ReflectionPad1d", ((3, 1),), (3, 5)),
    ("ReflectionPad2d", (2,), (2, 3, 4, 5)), ("ReflectionPad2d", ((1, 0, 3, 2),), (3, 4, 5)),
    ("ReplicationPad1d", ((4, 0),), (2, 3, 5)), ("ReplicationPad2d", (3,), (2, 3, 4, 5)),
    ("ReplicationPad2d", ((1, -1, 2, 0),), (3, 4, 5)),
    ("CircularPad1d", ((5, 2),), (2, 3, 5)), ("CircularPad2d", (2,), (2, 3, 4, 5)),
    ("CircularPad2d", ((1, 0, 3, -1),), (3, 4, 5)),
]


@pytest.mark.parametrize("name, args, shape", LAYERS)
def test_padding_layers_match_torch(name, args, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding and list(ours.parameters()) == []
    x_np = np.random.default_rng(4).standard_normal(shape)
    x, tx = tc.Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(5).standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_padding_layer_arguments_are_checked():
    with pytest.raises(TypeError, match=r"ZeroPad2d: padding must be an int or a tuple of 4 ints \(left, right, top, "
                                        r"bottom\), got \(1, 2\)"):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(TypeError, match=r"ReflectionPad1d: padding must be an int or a tuple of 2 ints"):
        nn.ReflectionPad1d(1.0)
    with pytest.raises(TypeError, match=r"ConstantPad2d: value must be a real number"):
        nn.ConstantPad2d(1, "0")
    with pytest.raises(ValueError, match=r"pad: mode 'reflect' pads the last 1, 2 or 3 dims.*input \(4, 5\)"):
        nn.ReflectionPad2d(1)(np.ones((4, 5)))
    assert repr(nn.ConstantPad2d(1, 3)) == "ConstantPad2d(padding=(1, 1, 1, 1), value=3)"
    assert repr(nn.ZeroPad2d((1, 2, 3, 4))) == "ZeroPad2d((1, 2, 3, 4))"
