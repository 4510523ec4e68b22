"""Sequential from an OrderedDict, ModuleDict, Identity, Unflatten and the lazy layers, as in PyTorch."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_conv as tc

nn = tc.nn


def test_sequential_from_an_ordered_dict_names_its_children():
    model = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU()), ("flat", nn.Flatten())]))
    assert [name for name, _ in model.named_children()] == ["conv", "act", "flat"]
    assert list(model.state_dict()) == ["conv.weight", "conv.bias"]
    assert model(np.ones((1, 1, 4, 4))).shape == (1, 8)
    assert isinstance(model[0], nn.Conv2d) and model.conv is model[0]
    with pytest.raises(ValueError, match="identifiers"):
        nn.Sequential(OrderedDict([("a b", nn.ReLU())]))


def test_module_dict_registers_its_modules():
    heads = nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.Linear(2, 1)})
    assert list(heads) == ["a", "b"] and len(heads) == 2 and "a" in heads
    assert sorted(heads.state_dict()) == ["a.bias", "a.weight", "b.bias", "b.weight"]
    heads["c"] = nn.Identity()
    assert heads.keys() == ["a", "b", "c"] and heads.pop("c") is not None and len(heads) == 2
    with pytest.raises(KeyError, match="no module 'z'"):
        heads["z"]
    with pytest.raises(TypeError, match="must be a Module"):
        heads["d"] = 3


def test_identity_and_unflatten():
    x = tc.Tensor(np.arange(12.0).reshape(2, 6), requires_grad=True)
    assert nn.Identity(54, unused="x")(x) is x
    out = nn.Unflatten(1, (2, 3))(x)
    assert out.shape == (2, 2, 3)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 6)))
    with pytest.raises(ValueError, match="unflatten"):
        nn.Unflatten(1, (4, 2))(x)


def test_lazy_layers_read_their_input_size_at_the_first_call():
    model = nn.Sequential(nn.LazyConv2d(4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.LazyLinear(5))
    assert list(model.parameters()) == []
    out = model(np.ones((2, 3, 6, 6)))
    assert out.shape == (2, 5)
    assert type(model[0]) is nn.Conv2d and model[0].in_channels == 3 and model[0].weight.shape == (4, 3, 3, 3)
    assert type(model[3]) is nn.Linear and model[3].weight.shape == (5, 4 * 36)
    assert len(list(model.parameters())) == 4


def test_lazy_layers_match_pytorch_shapes():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    ours(np.ones((2, 7), np.float32))
    theirs(torch.ones(2, 7))
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert ours.weight.dtype == np.float32
