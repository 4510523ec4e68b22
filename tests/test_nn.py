"""tc.nn: Module registration rules, state dicts through files, strict loading, safe loading, learning."""

import math
import os
import pickle
import zipfile

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1, rng=0)
        self.scale = nn.Parameter(np.ones(2))
        self.constant = tc.Tensor([1.0, 2.0])  # not a parameter: it does not require grad

    def forward(self, x):
        return self.conv(x) * self.scale.reshape(2, 1, 1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3, rng=1))

    def forward(self, x):
        return self.head(self.block(x))


def test_nested_registration_and_names():
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    # As in PyTorch: a module's own parameters come before its sub-modules'.
    assert names == ["block.scale", "block.conv.weight", "block.conv.bias", "head.1.weight", "head.1.bias"]
    assert [type(m).__name__ for m in net.children()] == ["Block", "Sequential"]
    assert len(list(net.modules())) == 6
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert net(np.ones((2, 1, 4, 4))).shape == (2, 3)


def test_registration_rules():
    net = Net()
    net.block.scale = tc.Tensor([1.0, 1.0])  # replacing a parameter by a constant unregisters it
    assert "block.scale" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="Parameter"):
        net.block.extra = tc.Tensor([1.0], requires_grad=True)
    shared = nn.Linear(2, 2, rng=0)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.parameters())) == 2  # shared parameters are listed once
    del net.head
    assert all(not name.startswith("head") for name, _ in net.named_parameters())

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(RuntimeError, match="super"):
        Forgot()
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(nn.ReLU(), "relu")


class Tower(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(2, 2, rng=i) for i in range(depth))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def test_module_list_registers_its_modules():
    tower = Tower(2)
    tower.layers.append(nn.Linear(2, 2, rng=5)).extend([nn.ReLU(), nn.Linear(2, 3, rng=6)])
    assert len(tower.layers) == 5
    assert [name for name, _ in tower.named_parameters()] == [
        f"layers.{i}.{p}" for i in (0, 1, 2, 4) for p in ("weight", "bias")]
    assert [name for name, _ in tower.layers.named_children()] == ["0", "1", "2", "3", "4"]
    assert isinstance(tower.layers[3], nn.ReLU) and tower.layers[-1].out_features == 3
    assert isinstance(tower.layers[1:3], nn.ModuleList) and len(tower.layers[1:3]) == 2
    assert tower(np.ones((4, 2))).shape == (4, 3)
    del tower.layers[3]
    assert [type(m).__name__ for m in tower.layers] == ["Linear"] * 4
    assert list(tower.layers._modules) == ["0", "1", "2", "3"]
    tower.layers.insert(0, nn.Tanh())
    tower.layers[1] = nn.Sigmoid()
    assert [type(m).__name__ for m in tower.layers] == ["Tanh", "Sigmoid", "Linear", "Linear", "Linear"]
    assert len(list(tower.parameters())) == 6
    with pytest.raises(TypeError, match="ModuleList item 5 must be a Module, got int"):
        tower.layers.append(3)
    with pytest.raises(IndexError, match="out of range for 5"):
        tower.layers[5]
    with pytest.raises(TypeError, match="index must be an int"):
        tower.layers["0"]
    with pytest.raises(NotImplementedError):
        nn.ModuleList()(1)


@pytest.mark.parametrize("value", [
    [nn.Linear(2, 2)], (nn.ReLU(),), {"a": nn.Linear(2, 2)}, [nn.Parameter(np.ones(2))],
    [1, tc.Tensor(np.ones(2), requires_grad=True)],
])
def test_plain_containers_of_modules_or_parameters_are_refused(value):
    block = Block()
    with pytest.raises(TypeError, match=r"Block\.parts: a plain \w+ of Modules or Parameters.*ModuleList"):
        block.parts = value
    block.numbers = [1, 2, tc.Tensor(1.0)]  # nothing trainable inside: allowed
    assert block.numbers[0] == 1


def test_layer_arguments_are_checked_at_construction():
    with pytest.raises(ValueError, match=r"Conv2d: stride must be >= 1, got 0"):
        nn.Conv2d(1, 1, 3, stride=0)
    with pytest.raises(ValueError, match=r"Conv2d: dilation must be >= 1, got \(1, 0\)"):
        nn.Conv2d(1, 1, 3, dilation=(1, 0))
    with pytest.raises(ValueError, match="Conv2d: padding must be >= 0"):
        nn.Conv2d(1, 1, 3, padding=-1)
    with pytest.raises(ValueError, match="same"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(TypeError, match="Conv2d: in_channels must be an int"):
        nn.Conv2d(1.0, 1, 3)


def test_parameter_accepts_a_name():
    p = nn.Parameter(np.ones(2), name="w")
    assert p.name == "w" and p.requires_grad
    with pytest.raises(TypeError, match="name"):
        nn.Parameter(np.ones(2), name=3)


def test_train_eval_zero_grad_and_call():
    net = Net()
    assert net.eval() is net and not net.block.conv.training and not net.head[1].training
    net.train()
    assert all(m.training for m in net.modules())
    out = net(np.random.default_rng(0).standard_normal((2, 1, 4, 4)))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(NotImplementedError):
        nn.Module()(1)
    assert "Conv2d(1, 2, kernel_size=(3, 3)" in repr(net)


def test_default_init_matches_pytorch_bounds_and_is_seedable():
    conv = nn.Conv2d(3, 8, (3, 5), rng=np.random.default_rng(0))
    bound = 1 / math.sqrt(3 * 3 * 5)
    assert conv.weight.shape == (8, 3, 3, 5) and np.abs(conv.weight.data).max() <= bound
    assert np.abs(conv.bias.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.9 * bound  # uniform over the whole range
    lin = nn.Linear(1000, 50, rng=1)
    assert np.abs(lin.weight.data).max() <= 1 / math.sqrt(1000)
    assert lin.weight.data.std() == pytest.approx(1 / math.sqrt(1000) / math.sqrt(3), rel=0.02)
    nn.init.manual_seed(3)
    a = nn.Linear(4, 4).weight.data
    nn.init.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Linear(4, 4).weight.data)
    np.testing.assert_array_equal(nn.Linear(4, 4, rng=7).weight.data, nn.Linear(4, 4, rng=7).weight.data)
    assert nn.Linear(4, 4, bias=False).bias is None
    assert nn.Conv2d(1, 1, 2, dtype=np.float32).weight.dtype == np.float32
    with pytest.raises(TypeError, match="rng"):
        nn.Linear(2, 2, rng="seed")
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(0, 2)


def test_layers_match_functional_and_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, rng=0)
    np.testing.assert_allclose(conv(x).data, tc.conv2d(x, conv.weight, conv.bias, 2, 1).data)
    lin = nn.Linear(6, 2, rng=0)
    np.testing.assert_allclose(lin(x).data, x @ lin.weight.data.T + lin.bias.data)
    with pytest.raises(ValueError, match="in_features=6"):
        lin(np.ones((2, 5)))
    for layer, ref in [(nn.ReLU(), np.maximum(x, 0)), (nn.Tanh(), np.tanh(x)), (nn.Sigmoid(), 1 / (1 + np.exp(-x))),
                       (nn.Flatten(), x.reshape(2, -1))]:
        np.testing.assert_allclose(layer(x).data, ref)
    torch = pytest.importorskip("torch")
    tconv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1).double()
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor(conv.weight.data))
        tconv.bias.copy_(torch.tensor(conv.bias.data))
    np.testing.assert_allclose(conv(x).data, tconv(torch.tensor(x)).detach().numpy(), atol=1e-12)


def test_state_dict_round_trip_through_file(tmp_path):
    net, other = Net(), Net()
    for p in other.parameters():
        p.data[...] = 0
    path = tmp_path / "model.weights"  # saved to exactly this name, no .npz appended
    tc.save(net.state_dict(), path)
    assert os.path.exists(path)
    result = other.load_state_dict(tc.load(path))
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, a), (_, b) in zip(net.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    x = np.ones((1, 1, 4, 4))
    np.testing.assert_array_equal(net(x).data, other(x).data)
    state = net.state_dict()
    state["block.scale"][...] = 5  # a state dict is a copy
    assert not np.any(net.block.scale.data == 5)


def test_strict_load_errors_name_the_keys():
    net = Net()
    state = net.state_dict()
    del state["block.scale"]
    state["block.extra"] = np.zeros(2)
    state["head.1.bias"] = np.zeros(4)
    with pytest.raises(ValueError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert "block.scale" in message and "block.extra" in message and "head.1.bias" in message and "(3,)" in message
    state["head.1.bias"] = np.full(3, 7.0)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["block.scale"] and result.unexpected_keys == ["block.extra"]
    np.testing.assert_array_equal(net.head[1].bias.data, 7.0)
    state["head.1.bias"] = np.zeros(4)
    with pytest.raises(ValueError, match="head.1.bias"):
        net.load_state_dict(state, strict=False)  # shapes must match even when not strict
    with pytest.raises(TypeError, match="mapping"):
        net.load_state_dict([1, 2])


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


def test_load_rejects_pickle_bearing_file_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.ones(2), evil=np.array([_Payload()], dtype=object))
    with pytest.raises(ValueError, match="evil.npz"):
        tc.load(path)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"weight": _Payload()}))
    with pytest.raises(ValueError, match="model.pkl"):
        tc.load(pickled)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


def test_load_rejects_garbage_truncated_and_single_arrays(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(os.urandom(256))
    with pytest.raises(ValueError, match="garbage.npz"):
        tc.load(garbage)
    good = tmp_path / "good.npz"
    tc.save({"w": np.arange(100.0)}, good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:150])
    with pytest.raises(ValueError, match="truncated.npz"):
        tc.load(truncated)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(ValueError, match="single"):
        tc.load(single)
    with pytest.raises(FileNotFoundError):
        tc.load(tmp_path / "missing.npz")
    with pytest.raises(TypeError, match="numeric"):
        tc.save({"w": np.array(["a"])}, tmp_path / "s.npz")


def test_load_state_dict_rejects_ragged_values():
    lin = nn.Linear(2, 1, rng=0)
    with pytest.raises(ValueError, match=r"state_dict\['weight'\] is not a rectangular array"):
        lin.load_state_dict({"weight": [[1.0, 2.0], [3.0]], "bias": [0.0]})


def test_save_accepts_any_str_key_and_load_rejects_non_npy_members(tmp_path):
    state = {"file": np.ones(2), "allow_pickle": np.arange(3), "a.npy": np.zeros((1, 2), np.float32),
             "x/y": np.array(True)}
    tc.save(state, tmp_path / "keys.npz")
    loaded = tc.load(tmp_path / "keys.npz")
    assert list(loaded) == list(state)
    for key, value in state.items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].dtype == value.dtype
    odd = tmp_path / "odd.npz"
    with zipfile.ZipFile(odd, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(ValueError, match=r"odd\.npz.*'a\.txt' is not a \.npy array"):
        tc.load(odd)
    with pytest.raises(ValueError, match=r"state_dict\['w'\] is not a rectangular array"):
        tc.save({"w": [[1.0], [1.0, 2.0]]}, tmp_path / "ragged.npz")


def test_batches():
    X, y = np.arange(10).reshape(10, 1), np.arange(10)
    seen = [yb for _, yb in tc.data.batches(X, y, 4, rng=0)]
    assert [len(b) for b in seen] == [4, 4, 2]
    assert sorted(np.concatenate(seen).tolist()) == list(range(10))
    for xb, yb in tc.data.batches(X, y, 3, rng=1):
        np.testing.assert_array_equal(xb[:, 0], yb)
    ordered = [yb.tolist() for _, yb in tc.data.batches(X, y, 5, shuffle=False)]
    assert ordered == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    a = [yb.tolist() for _, yb in tc.data.batches(X, y, 4, rng=2)]
    assert a == [yb.tolist() for _, yb in tc.data.batches(X, y, 4, rng=2)]
    generator = np.random.default_rng(2)
    epochs = [[yb.tolist() for _, yb in tc.data.batches(X, y, 10, rng=generator)] for _ in range(2)]
    assert epochs[0] != epochs[1]  # a Generator advances: a new order each epoch
    generator = np.random.default_rng(2)
    assert epochs == [[yb.tolist() for _, yb in tc.data.batches(X, y, 10, rng=generator)] for _ in range(2)]
    with pytest.raises(ValueError, match="same length"):
        tc.data.batches(X, y[:5], 2)
    with pytest.raises(ValueError, match="batch_size"):
        tc.data.batches(X, y, 0)
    with pytest.raises(TypeError, match="batch_size"):
        tc.data.batches(X, y, 2.0)


def test_tiny_cnn_overfits_32_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    X = (digits.images[:32] / 16.0)[:, None]
    y = digits.target[:32]
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 2 * 2, 10, rng=rng),
    )
    optimizer = tc.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        loss = tc.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert (model(X).data.argmax(axis=1) == y).mean() == 1.0
    assert loss.item() < 0.05
