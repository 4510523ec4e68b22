"""batch_norm, layer_norm, group_norm and their layers: a numpy reference, PyTorch (values, gradients,
running statistics over several steps, state dicts), finite differences, train/eval, errors."""

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv import nn

SHAPES = [(6, 3), (4, 3, 5), (2, 3, 4, 5)]


def _reference_batch_norm(x, weight, bias, eps=1e-5):
    """Per-channel standardization, looping over the channels (not the pixels)."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        values = x[:, c]
        out[:, c] = (values - values.mean()) / np.sqrt(values.var() + eps) * weight[c] + bias[c]
    return out


def _tc_and_torch(arrays, torch, requires_grad=True):
    ours = [None if a is None else tc.Tensor(a, requires_grad=requires_grad) for a in arrays]
    theirs = [None if a is None else torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    return ours, theirs


def _assert_grads(ours, theirs, **tol):
    for mine, their in zip(ours, theirs):
        if mine is not None:
            np.testing.assert_allclose(mine.grad, their.grad.numpy(), **tol)


# --- batch_norm ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_training_matches_the_per_channel_reference_and_updates_the_stats(shape, rng):
    x = rng.standard_normal(shape) * 3 + 1
    weight, bias = rng.standard_normal(3), rng.standard_normal(3)
    mean, var = np.zeros(3), np.ones(3)
    out = tc.batch_norm(x, mean, var, weight, bias, training=True, momentum=0.25)
    np.testing.assert_allclose(out.data, _reference_batch_norm(x, weight, bias), rtol=1e-12, atol=1e-12)
    axes = (0, *range(2, len(shape)))
    np.testing.assert_allclose(mean, 0.25 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(var, 0.75 + 0.25 * x.var(axis=axes, ddof=1), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_torch_in_float64(shape, training, affine, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape) * 2 + 0.5
    params = [rng.standard_normal(3), rng.standard_normal(3)] if affine else [None, None]
    stats = [rng.standard_normal(3), rng.random(3) + 0.5]
    (xt, w, b), (xr, wr, br) = _tc_and_torch([x, *params], torch)
    ours_stats = [s.copy() for s in stats]
    theirs_stats = [torch.tensor(s) for s in stats]
    out = tc.batch_norm(xt, *ours_stats, w, b, training, 0.3, 1e-4)
    ref = torch.nn.functional.batch_norm(xr, *theirs_stats, wr, br, training, 0.3, 1e-4)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, their in zip(ours_stats, theirs_stats):
        np.testing.assert_allclose(mine, their.numpy(), rtol=1e-12)
    g = rng.standard_normal(shape)
    out.backward(g)
    ref.backward(torch.tensor(g))
    _assert_grads([xt, w, b], [xr, wr, br], rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_matches_torch_in_float32_and_stays_float32(shape, rng):
    torch = pytest.importorskip("torch")
    arrays = [(rng.standard_normal(shape) * 3 + 2).astype(np.float32), *(rng.standard_normal((2, 3)).astype(np.float32))]
    (xt, w, b), (xr, wr, br) = _tc_and_torch(arrays, torch)
    stats = np.zeros(3), np.ones(3)  # float64 statistics do not promote a float32 input
    out = tc.batch_norm(xt, *stats, w, b, training=True)
    ref = torch.nn.functional.batch_norm(xr, torch.zeros(3), torch.ones(3), wr, br, training=True)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = rng.standard_normal(shape).astype(np.float32)
    out.backward(g)
    ref.backward(torch.tensor(g))
    assert xt.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    _assert_grads([xt, w, b], [xr, wr, br], rtol=1e-3, atol=1e-4)


def test_batch_norm_gradcheck_in_training_with_running_stats_and_in_eval(rng):
    x = tc.Tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True)
    w = tc.Tensor(rng.standard_normal(2), requires_grad=True)
    b = tc.Tensor(rng.standard_normal(2), requires_grad=True)
    mean, var = np.zeros(2), np.ones(2)  # mutated by every call, which the training output does not read
    assert tc.gradcheck(lambda x, w, b: tc.batch_norm(x, mean, var, w, b, training=True), [x, w, b])
    assert tc.gradcheck(lambda x, w, b: tc.batch_norm(x, mean, var, w, b, training=False), [x, w, b])


def test_batch_norm_updates_tensor_running_stats_in_place(rng):
    mean, var = tc.Tensor(np.zeros(3)), tc.Tensor(np.ones(3))
    before = mean.data
    tc.batch_norm(rng.standard_normal((4, 3)), mean, var, training=True)
    assert mean.data is before and np.all(mean.data != 0)
    frozen = mean.data.copy()
    tc.batch_norm(rng.standard_normal((4, 3)), mean, var, training=False)
    np.testing.assert_array_equal(mean.data, frozen)


def test_batch_norm_without_running_stats_uses_the_batch(rng):
    x = rng.standard_normal((5, 3))
    out = tc.batch_norm(x, None, None, training=True)
    np.testing.assert_allclose(out.data, _reference_batch_norm(x, np.ones(3), np.zeros(3)), rtol=1e-12, atol=1e-12)


def test_batch_norm_errors_name_the_argument_and_shapes():
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size \(1, 3\)"):
        tc.batch_norm(np.ones((1, 3)), np.zeros(3), np.ones(3), training=True)
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\).*input \(4, 3\).*\(4,\)"):
        tc.batch_norm(x, np.zeros(4), np.ones(3))
    with pytest.raises(ValueError, match=r"running_var must have shape \(3,\)"):
        tc.batch_norm(x, np.zeros(3), np.ones(2))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\).*got weight \(2,\)"):
        tc.batch_norm(x, np.zeros(3), np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        tc.batch_norm(x, np.zeros(3), np.ones(3), None, np.ones(5))
    with pytest.raises(ValueError, match="evaluation mode"):
        tc.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"at least 2 dims.*\(3,\)"):
        tc.batch_norm(np.ones(3), np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match="running_mean must be a float ndarray or a Tensor"):
        tc.batch_norm(x, [0.0, 0.0, 0.0], np.ones(3))
    with pytest.raises(TypeError, match="training must be a bool"):
        tc.batch_norm(x, np.zeros(3), np.ones(3), training=1)
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        tc.batch_norm(x, frozen, np.ones(3), training=True)


# --- BatchNorm layers --------------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("layer, shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                          ("BatchNorm2d", (4, 3, 3, 3))])
def test_batchnorm_layers_track_torch_over_several_steps(layer, shape, momentum, rng):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, layer)(3, momentum=momentum)
    theirs = getattr(torch.nn, layer)(3, momentum=momentum).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.standard_normal(3)))
        theirs.bias.copy_(torch.tensor(rng.standard_normal(3)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for _ in range(4):
        x = rng.standard_normal(shape) * 2 + 1
        np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-12, err_msg=key)
    assert ours.num_batches_tracked.dtype == np.int64 and int(ours.num_batches_tracked) == 4
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    assert int(ours.num_batches_tracked) == 4


def test_batchnorm_eval_freezes_the_stats_and_train_resumes(rng):
    bn = nn.BatchNorm1d(3)
    bn(rng.standard_normal((4, 3)))
    frozen = {k: v.copy() for k, v in bn.state_dict().items()}
    assert bn.eval() is bn and not bn.training
    bn(rng.standard_normal((4, 3)))
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(value, frozen[key])
    bn.train()
    bn(rng.standard_normal((4, 3)))
    assert int(bn.num_batches_tracked) == 2 and not np.allclose(bn.running_mean.data, frozen["running_mean"])


def test_batchnorm_without_running_stats_matches_torch_in_both_modes(rng):
    torch = pytest.importorskip("torch")
    ours = nn.BatchNorm2d(3, track_running_stats=False, affine=False)
    theirs = torch.nn.BatchNorm2d(3, track_running_stats=False, affine=False).double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    assert ours.running_mean is None and list(ours.buffers()) == []
    x = rng.standard_normal((2, 3, 4, 4))
    for mode in (True, False):
        ours.train(mode)
        theirs.train(mode)
        np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"affine": False}, {"bias": False}, {"track_running_stats": False}])
def test_batchnorm_state_dict_keys_match_torch(kwargs):
    torch = pytest.importorskip("torch")
    for layer in ("BatchNorm1d", "BatchNorm2d"):
        ours, theirs = getattr(nn, layer)(3, **kwargs), getattr(torch.nn, layer)(3, **kwargs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
        assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert list(nn.BatchNorm2d(3).state_dict().keys()) == list(torch.nn.BatchNorm2d(3).state_dict().keys())


def test_a_torch_model_with_batchnorm_loads_and_gives_the_same_outputs(rng):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 4), torch.nn.BatchNorm1d(4)).double()
    ours = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 4),
                         nn.BatchNorm1d(4))
    for _ in range(3):  # give torch's running statistics something to hold
        theirs(torch.tensor(rng.standard_normal((5, 2, 6, 6))))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    assert int(ours[1].num_batches_tracked) == 3
    x = rng.standard_normal((5, 2, 6, 6))
    for mode in (False, True):
        ours.train(mode)
        theirs.train(mode)
        np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-9, atol=1e-11)
    back = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(3 * 4 * 4, 4), torch.nn.BatchNorm1d(4)).double()
    back.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    assert int(back[1].num_batches_tracked) == 4


def test_batchnorm_state_survives_save_and_load(tmp_path, rng):
    bn = nn.BatchNorm2d(2)
    for _ in range(3):
        bn(rng.standard_normal((3, 2, 2, 2)))
    tc.save(bn.state_dict(), tmp_path / "bn.npz")
    loaded = tc.load(tmp_path / "bn.npz")
    assert loaded["num_batches_tracked"].dtype == np.int64 and loaded["num_batches_tracked"].shape == ()
    fresh = nn.BatchNorm2d(2)
    fresh.load_state_dict(loaded)
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value)
    assert fresh.num_batches_tracked.dtype == np.int64


def test_batchnorm_load_is_all_or_nothing_with_buffers():
    bn = nn.BatchNorm1d(3)
    state = bn.state_dict()
    state["weight"] = np.full(3, 7.0)
    state["running_var"] = np.ones(4)
    with pytest.raises(ValueError, match=r"running_var: expected \(3,\), got \(4,\)"):
        bn.load_state_dict(state)
    np.testing.assert_array_equal(bn.weight.data, np.ones(3))
    del state["running_var"]
    with pytest.raises(ValueError, match=r"missing keys \['running_var'\]"):
        bn.load_state_dict(state)
    assert bn.load_state_dict(state, strict=False).missing_keys == ["running_var"]
    np.testing.assert_array_equal(bn.weight.data, np.full(3, 7.0))


def test_batchnorm_layer_errors_and_repr():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input"):
        nn.BatchNorm2d(3)(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input"):
        nn.BatchNorm1d(3)(np.ones((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="running_mean must have shape"):
        nn.BatchNorm1d(3)(np.ones((2, 4)))
    with pytest.raises(ValueError, match="num_features must be >= 1"):
        nn.BatchNorm1d(0)
    with pytest.raises(TypeError, match="affine must be a bool"):
        nn.BatchNorm1d(3, affine="yes")
    for kwargs in ({}, {"affine": False}, {"bias": False}, {"momentum": None, "track_running_stats": False}):
        assert repr(nn.BatchNorm2d(3, **kwargs)) == repr(torch.nn.BatchNorm2d(3, **kwargs))
    assert nn.BatchNorm1d(3, momentum=None).momentum is None


def test_batchnorm_float32_layer_trains(rng):
    bn = nn.BatchNorm2d(3, dtype=np.float32)
    assert bn.running_mean.dtype == bn.weight.dtype == np.float32
    x = tc.Tensor(rng.standard_normal((2, 3, 4, 4)).astype(np.float32), requires_grad=True)
    out = bn(x)
    (out * out).sum().backward()
    assert out.dtype == x.grad.dtype == bn.weight.grad.dtype == np.float32
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]


# --- buffers -------------------------------------------------------------------------------
class WithBuffers(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2, rng=0)
        self.register_buffer("scale", tc.Tensor(np.ones(2)))
        self.register_buffer("steps", np.array(0))
        self.register_buffer("cache", np.zeros(3), persistent=False)
        self.register_buffer("nothing", None)


def test_register_buffer_state_dict_and_assignment():
    m = WithBuffers()
    assert list(m.state_dict()) == ["scale", "steps", "lin.weight", "lin.bias"]
    assert [n for n, _ in m.named_buffers()] == ["scale", "steps", "cache"]
    assert [n for n, _ in m.named_parameters()] == ["lin.weight", "lin.bias"]
    m.steps = np.array(5)
    assert int(m.state_dict()["steps"]) == 5
    m.nothing = tc.Tensor([1.0])
    assert "nothing" in m.state_dict()
    with pytest.raises(TypeError, match="buffer must be a Tensor that requires no grad"):
        m.scale = tc.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="buffer must be"):
        m.register_buffer("bad", [1.0, 2.0])
    with pytest.raises(ValueError, match="already exists"):
        m.register_buffer("lin", None)
    with pytest.raises(ValueError, match="no dot"):
        m.register_buffer("a.b", None)
    del m.scale
    assert "scale" not in m.state_dict()
    m.load_state_dict({"steps": np.array(9), "lin.weight": np.zeros((2, 2)), "lin.bias": np.zeros(2),
                       "nothing": np.array([3.0])})
    assert int(m.steps) == 9 and m.nothing.data[0] == 3.0


# --- layer_norm ------------------------------------------------------------------------
@pytest.mark.parametrize("shape, normalized", [((3, 5), 5), ((2, 3, 4), (3, 4)), ((2, 3, 2, 2), [2, 2]), ((4,), (4,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, normalized, affine, rng):
    torch = pytest.importorskip("torch")
    dims = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    params = [rng.standard_normal(dims), rng.standard_normal(dims)] if affine else [None, None]
    for dtype, tol in ((np.float64, {"rtol": 1e-10, "atol": 1e-12}), (np.float32, {"rtol": 1e-4, "atol": 1e-5})):
        arrays = [(rng.standard_normal(shape) * 2 + 1).astype(dtype)] + [p if p is None else p.astype(dtype) for p in params]
        (xt, w, b), (xr, wr, br) = _tc_and_torch(arrays, torch)
        out = tc.layer_norm(xt, normalized, w, b, 1e-3)
        ref = torch.nn.functional.layer_norm(xr, dims, wr, br, 1e-3)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.data, ref.detach().numpy(), **tol)
        g = rng.standard_normal(shape).astype(dtype)
        out.backward(g)
        ref.backward(torch.tensor(g))
        _assert_grads([xt, w, b], [xr, wr, br], rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)


def test_layer_norm_reference(rng):
    x = rng.standard_normal((3, 4))
    expected = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(tc.layer_norm(x, 4).data, expected, rtol=1e-12)


def test_layernorm_layer_matches_torch(rng):
    torch = pytest.importorskip("torch")
    for kwargs in ({}, {"bias": False}, {"elementwise_affine": False}):
        ours, theirs = nn.LayerNorm((3, 4), **kwargs), torch.nn.LayerNorm((3, 4), **kwargs).double()
        assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():
        theirs = torch.nn.LayerNorm(4).double()
        theirs.weight.copy_(torch.tensor(rng.standard_normal(4)))
    ours = nn.LayerNorm(4)
    ours.load_state_dict(theirs.state_dict())
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    assert repr(ours) == repr(theirs)
    assert repr(nn.LayerNorm(3, bias=False)) == repr(torch.nn.LayerNorm(3, bias=False))


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"normalized_shape=\(4,\) must be the last dims of input, got input \(2, 6, 3\)"):
        tc.layer_norm(np.ones((2, 6, 3)), (4,))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\).*got weight \(2,\)"):
        tc.layer_norm(np.ones((2, 3)), 3, np.ones(2))
    with pytest.raises(ValueError, match="non-empty"):
        tc.layer_norm(np.ones((2, 3)), ())
    with pytest.raises(TypeError, match="normalized_shape must be an int"):
        tc.layer_norm(np.ones((2, 3)), 3.0)
    with pytest.raises(ValueError, match="must be the last dims"):
        tc.layer_norm(np.ones(3), (2, 3))


# --- group_norm ------------------------------------------------------------------------
@pytest.mark.parametrize("shape, groups", [((2, 6), 3), ((2, 4, 5), 2), ((2, 6, 3, 3), 3), ((3, 4, 2, 2), 1),
                                           ((2, 4, 2, 2), 4)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch(shape, groups, affine, rng):
    torch = pytest.importorskip("torch")
    channels = shape[1]
    params = [rng.standard_normal(channels), rng.standard_normal(channels)] if affine else [None, None]
    for dtype, tol in ((np.float64, {"rtol": 1e-10, "atol": 1e-12}), (np.float32, {"rtol": 1e-4, "atol": 1e-5})):
        arrays = [(rng.standard_normal(shape) * 2 + 1).astype(dtype)] + [p if p is None else p.astype(dtype) for p in params]
        (xt, w, b), (xr, wr, br) = _tc_and_torch(arrays, torch)
        out = tc.group_norm(xt, groups, w, b, 1e-3)
        ref = torch.nn.functional.group_norm(xr, groups, wr, br, 1e-3)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.data, ref.detach().numpy(), **tol)
        g = rng.standard_normal(shape).astype(dtype)
        out.backward(g)
        ref.backward(torch.tensor(g))
        _assert_grads([xt, w, b], [xr, wr, br], rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)


def test_group_norm_reference(rng):
    x = rng.standard_normal((2, 4, 3))
    out = tc.group_norm(x, 2).data
    for n in range(2):
        for group in range(2):
            block = x[n, 2 * group : 2 * group + 2]
            expected = (block - block.mean()) / np.sqrt(block.var() + 1e-5)
            np.testing.assert_allclose(out[n, 2 * group : 2 * group + 2], expected, rtol=1e-12)


def test_groupnorm_layer_and_errors(rng):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.GroupNorm(2, 6), torch.nn.GroupNorm(2, 6).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert repr(nn.GroupNorm(1, 3, affine=False)) == repr(torch.nn.GroupNorm(1, 3, affine=False))
    x = rng.standard_normal((3, 6, 2, 2))
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"expected input \(N, 6, \.\.\.\), got input \(3, 4\)"):
        ours(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"C=6 channels of input \(2, 6, 3\) are not divisible by num_groups=4"):
        tc.group_norm(np.ones((2, 6, 3)), 4)
    with pytest.raises(ValueError, match=r"weight must have shape \(6,\).*got weight \(2,\)"):
        tc.group_norm(np.ones((2, 6, 3)), 3, np.ones(2))
    with pytest.raises(ValueError, match="at least 2 dims"):
        tc.group_norm(np.ones(6), 3)
    with pytest.raises(TypeError, match="num_groups must be an int"):
        tc.group_norm(np.ones((2, 6)), 2.0)
