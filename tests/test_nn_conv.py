"""Conv1d, Conv2d, ConvTranspose2d, LazyConv2d against torch twins: state dicts, outputs, gradients, init, repr."""

import math

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv import nn

# torch warns that it copies the input for "same" with an even kernel; that is its business.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning")

CONV2D = [  # kwargs for Conv2d(in, out, k, ...) and the input shape
    ({"in_channels": 3, "out_channels": 4, "kernel_size": 3}, (2, 3, 7, 6)),
    ({"in_channels": 3, "out_channels": 4, "kernel_size": (3, 2), "stride": 2, "padding": 1}, (2, 3, 8, 7)),
    ({"in_channels": 2, "out_channels": 2, "kernel_size": 3, "padding": "same", "dilation": 2}, (1, 2, 7, 8)),
    ({"in_channels": 2, "out_channels": 3, "kernel_size": (2, 4), "padding": "same"}, (1, 2, 5, 6)),
    ({"in_channels": 2, "out_channels": 3, "kernel_size": 3, "padding": "valid", "bias": False}, (3, 2, 5, 5)),
    ({"in_channels": 4, "out_channels": 6, "kernel_size": 3, "padding": 1, "groups": 2}, (2, 4, 5, 6)),
    ({"in_channels": 3, "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 3}, (2, 3, 7, 7)),
    ({"in_channels": 2, "out_channels": 6, "kernel_size": 3, "groups": 2, "dilation": (1, 2)}, (1, 2, 6, 8)),
    ({"in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": 1, "padding_mode": "reflect"}, (2, 3, 5, 6)),
    ({"in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": (2, 1), "padding_mode": "replicate",
      "stride": (1, 2)}, (2, 3, 5, 6)),
    ({"in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 2, "padding_mode": "circular",
      "groups": 4, "dilation": 2}, (2, 4, 5, 6)),
    ({"in_channels": 2, "out_channels": 3, "kernel_size": (2, 3), "padding": "same", "padding_mode": "reflect"},
     (1, 2, 5, 6)),
    ({"in_channels": 2, "out_channels": 2, "kernel_size": 3, "padding": 1, "padding_mode": "circular"}, (2, 6, 5)),
    ({"in_channels": 3, "out_channels": 2, "kernel_size": 2, "stride": 2}, (3, 6, 6)),  # unbatched
]
CONV1D = [
    ({"in_channels": 3, "out_channels": 4, "kernel_size": 3}, (2, 3, 9)),
    ({"in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 2}, (2, 4, 9)),
    ({"in_channels": 2, "out_channels": 2, "kernel_size": 4, "padding": "same", "dilation": 2}, (1, 2, 10)),
    ({"in_channels": 3, "out_channels": 3, "kernel_size": 3, "padding": 2, "groups": 3, "padding_mode": "reflect"},
     (2, 3, 7)),
    ({"in_channels": 2, "out_channels": 4, "kernel_size": 3, "padding": 1, "padding_mode": "circular"}, (2, 2, 6)),
    ({"in_channels": 2, "out_channels": 4, "kernel_size": 2, "padding": "same", "padding_mode": "replicate",
      "bias": False}, (2, 8)),  # unbatched
]
CONV_TRANSPOSE2D = [
    ({"in_channels": 3, "out_channels": 2, "kernel_size": 3}, (2, 3, 4, 5), None),
    ({"in_channels": 2, "out_channels": 4, "kernel_size": (3, 2), "stride": 2, "padding": 1, "output_padding": 1},
     (2, 2, 4, 3), None),
    ({"in_channels": 4, "out_channels": 6, "kernel_size": 3, "stride": (2, 1), "groups": 2, "dilation": (1, 2)},
     (1, 4, 3, 4), None),
    ({"in_channels": 3, "out_channels": 3, "kernel_size": 2, "stride": 2, "groups": 3, "bias": False},
     (3, 4, 4), None),  # unbatched, depthwise
    ({"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 3, "padding": 1}, (2, 2, 3, 4), (8, 11)),
    ({"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 2}, (2, 2, 3, 4), (2, 3, 8, 9)),
]


def _twins(name, kwargs, dtype):
    """Our layer and torch's, with torch's parameters copied from ours through the state dict."""
    torch = pytest.importorskip("torch")
    ours = getattr(nn, name)(**kwargs, dtype=dtype, rng=0)
    theirs = getattr(torch.nn, name)(**kwargs, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    state = ours.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    return torch, ours, theirs


def _compare(torch, ours, theirs, shape, dtype, forward_args=()):
    rng = np.random.default_rng(1)
    x_np = rng.standard_normal(shape).astype(dtype)
    x, tx = tc.Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    y, ty = ours(x, *forward_args), theirs(tx, *forward_args)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-5}
    assert y.shape == tuple(ty.shape) and y.dtype == dtype
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **tol)
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.grad.dtype == dtype, name
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), **tol, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs, shape", CONV2D)
def test_conv2d_matches_torch(kwargs, shape, dtype):
    _compare(*_twins("Conv2d", kwargs, dtype), shape, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs, shape", CONV1D)
def test_conv1d_matches_torch(kwargs, shape, dtype):
    _compare(*_twins("Conv1d", kwargs, dtype), shape, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kwargs, shape, output_size", CONV_TRANSPOSE2D)
def test_conv_transpose2d_matches_torch(kwargs, shape, output_size, dtype):
    _compare(*_twins("ConvTranspose2d", kwargs, dtype), shape, dtype, () if output_size is None else (output_size,))


@pytest.mark.parametrize("name, kwargs", [("Conv2d", k) for k, _ in CONV2D] + [("Conv1d", k) for k, _ in CONV1D]
                         + [("ConvTranspose2d", k) for k, _, _ in CONV_TRANSPOSE2D])
def test_repr_and_attributes_match_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "output_padding",
                 "groups", "padding_mode"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert tuple(ours._reversed_padding_repeated_twice) == tuple(theirs._reversed_padding_repeated_twice)


def test_torch_state_dict_loads_and_gives_torch_outputs():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1, groups=2, padding_mode="reflect"),
                                 torch.nn.ConvTranspose2d(4, 2, 2, stride=2), torch.nn.Flatten(1, 2),
                                 torch.nn.Conv1d(20, 3, 3, padding="same")).double()
    ours = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, groups=2, padding_mode="reflect"),
                         nn.ConvTranspose2d(4, 2, 2, stride=2), nn.Flatten(1, 2), nn.Conv1d(20, 3, 3, padding="same"))
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(2).standard_normal((2, 2, 5, 6))
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, args, fan_in", [
    ("Conv2d", (6, 8, (3, 5)), 6 * 15), ("Conv2d", (6, 9, 3, 1, 0, 1, 3), 2 * 9), ("Conv1d", (4, 8, 5), 20),
    ("Conv1d", (4, 8, 3, 1, 0, 1, 4), 3), ("ConvTranspose2d", (6, 8, 3), 8 * 9),
    ("ConvTranspose2d", (6, 8, (2, 3), 1, 0, 0, 2), 4 * 6),
])
def test_init_follows_torchs_formula(name, args, fan_in):
    layer = getattr(nn, name)(*args, rng=np.random.default_rng(0))
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform with a = sqrt(5): gain sqrt(1/3), bound gain * sqrt(3 / fan_in)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound and p.min() < 0 < p.max()
    assert np.abs(layer.weight.data).max() > 0.8 * bound
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.25)
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(*args)
    assert layer.weight.shape == tuple(theirs.weight.shape)
    assert torch.nn.init._calculate_fan_in_and_fan_out(theirs.weight)[0] == fan_in
    assert np.abs(theirs.weight.detach().numpy()).max() <= bound


def test_init_is_seedable_and_dtype_follows():
    a, b = nn.Conv1d(2, 3, 3, rng=5), nn.Conv1d(2, 3, 3, rng=5)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert nn.ConvTranspose2d(2, 3, 3, dtype=np.float32).weight.dtype == np.float32
    assert nn.Conv2d(2, 3, 3, device="cpu").weight.dtype == tc.get_default_dtype()


def test_conv_transpose2d_output_size_picks_the_output_padding():
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, rng=0)
    x = np.ones((1, 2, 4, 4))
    assert layer(x).shape == (1, 3, 7, 7)
    assert layer(x, output_size=(8, 8)).shape == (1, 3, 8, 8)
    assert layer(x, output_size=[1, 3, 8, 7]).shape == (1, 3, 8, 7)
    with pytest.raises(ValueError, match=r"requested an output size of \(9, 8\), but valid sizes range from "
                                         r"\(7, 7\) to \(8, 8\) \(for an input of \(4, 4\)\)"):
        layer(x, output_size=(9, 8))
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        layer(x, output_size=(8,))
    with pytest.raises(TypeError, match="output_size must be a tuple or list of ints"):
        layer(x, output_size=8)


def test_lazy_conv2d_takes_the_new_arguments():
    torch = pytest.importorskip("torch")
    lazy = nn.LazyConv2d(6, 3, padding=1, groups=2, padding_mode="circular", rng=0)
    assert repr(lazy) == "LazyConv2d(<lazy>, 6, kernel_size=(3, 3))" and list(lazy.parameters()) == []
    x = np.random.default_rng(3).standard_normal((2, 4, 5, 5)).astype(np.float32)
    y = lazy(x)
    assert type(lazy) is nn.Conv2d and lazy.weight.shape == (6, 2, 3, 3) and lazy.weight.dtype == np.float32
    theirs = torch.nn.Conv2d(4, 6, 3, padding=1, groups=2, padding_mode="circular")
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in lazy.state_dict().items()})
    assert repr(lazy) == repr(theirs)
    np.testing.assert_allclose(y.data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="LazyConv2d: out_channels=5 must be divisible by groups=2"):
        nn.LazyConv2d(5, 3, groups=2)
    with pytest.raises(ValueError, match="LazyConv2d: padding_mode must be one of"):
        nn.LazyConv2d(4, 3, padding_mode="zero")
    with pytest.raises(ValueError, match="LazyConv2d: in_channels=3 must be divisible by groups=2"):
        nn.LazyConv2d(4, 3, groups=2)(np.ones((1, 3, 5, 5)))


@pytest.mark.parametrize("build, error, match", [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, r"Conv2d: in_channels=3 must be divisible by groups=2"),
    (lambda: nn.Conv2d(4, 3, 3, groups=2), ValueError, r"Conv2d: out_channels=3 must be divisible by groups=2"),
    (lambda: nn.Conv2d(4, 4, 3, groups=0), ValueError, r"Conv2d: groups must be >= 1, got 0"),
    (lambda: nn.Conv2d(4, 4, 3, groups=2.0), TypeError, r"Conv2d: groups must be an int"),
    (lambda: nn.Conv2d(1, 1, 3, padding="full"), ValueError,
     r"Conv2d: padding must be .* 'valid' or 'same', got 'full'"),
    (lambda: nn.Conv2d(1, 1, 3, padding=(1, 1, 1, 1)), TypeError, r"Conv2d: padding must be an int or a pair"),
    (lambda: nn.Conv2d(1, 1, 3, padding=-1), ValueError, r"Conv2d: padding must be >= 0"),
    (lambda: nn.Conv2d(1, 1, 3, stride=2, padding="same"), ValueError,
     r"Conv2d: padding='same' is not supported for strided convolutions, got stride=\(2, 2\)"),
    (lambda: nn.Conv2d(1, 1, 3, padding_mode="zero"), ValueError, r"Conv2d: padding_mode must be one of .*'zero'"),
    (lambda: nn.Conv2d(1, 1, 3, device="cuda"), ValueError, r"Conv2d: device must be 'cpu' or None.*'cuda'"),
    (lambda: nn.Conv2d(1, 1, 3, bias="yes"), TypeError, r"Conv2d: bias must be a bool"),
    (lambda: nn.Conv2d(1, 1, 0), ValueError, r"Conv2d: kernel_size must be >= 1"),
    (lambda: nn.Conv2d(1, 1, 3, dtype=np.int64), TypeError, r"int64"),
    (lambda: nn.Conv1d(1, 1, (3, 3)), TypeError, r"Conv1d: kernel_size must be an int or a 1-tuple"),
    (lambda: nn.Conv1d(1, 1, 3, stride=0), ValueError, r"Conv1d: stride must be >= 1, got 0"),
    (lambda: nn.Conv1d(1, 1, 3, padding="left"), ValueError, r"Conv1d: padding must be .*'left'"),
    (lambda: nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect"), ValueError,
     r'ConvTranspose2d: only "zeros" padding_mode is supported'),
    (lambda: nn.ConvTranspose2d(1, 1, 3, padding="same"), TypeError, r"ConvTranspose2d: padding must be an int"),
    (lambda: nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2), ValueError,
     r"ConvTranspose2d: output_padding \(2, 2\) must be smaller than the stride \(2, 2\) or the dilation"),
    (lambda: nn.ConvTranspose2d(4, 3, 3, groups=2), ValueError, r"out_channels=3 must be divisible by groups=2"),
])
def test_bad_arguments_name_themselves(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_bad_inputs_name_the_shapes():
    with pytest.raises(ValueError, match=r"groups=2 must divide both the input channels \(3, x \(1, 3, 5, 5\)\)"):
        nn.Conv2d(4, 4, 3, groups=2)(np.ones((1, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"pad: reflect padding must be smaller than the padded dim.*\(1, 1, 2, 2\)"):
        nn.Conv2d(1, 1, 3, padding=2, padding_mode="reflect")(np.ones((1, 1, 2, 2)))
    with pytest.raises(TypeError, match="Conv1d: the input is float32 but the layer's weights are float64"):
        nn.Conv1d(1, 1, 3, dtype=np.float64)(np.ones((1, 1, 5), dtype=np.float32))
