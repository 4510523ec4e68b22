"""dropout, dropout2d, nn.Dropout and nn.Dropout2d: statistics, seeding, gradients, modes, errors, PyTorch."""

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv import nn


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_zeroes_about_p_and_keeps_the_mean(p):
    tc.nn.manual_seed(0)
    out = tc.dropout(np.ones((400, 500)), p).data
    kept = out != 0
    assert abs(1 - kept.mean() - p) < 0.01
    np.testing.assert_allclose(out[kept], 1 / (1 - p))
    assert abs(out.mean() - 1) < 0.02


def test_dropout_is_reproducible_through_manual_seed():
    x = np.ones((20, 30))
    tc.nn.manual_seed(3)
    first = tc.dropout(x).data
    second = tc.dropout(x).data
    tc.nn.manual_seed(3)
    np.testing.assert_array_equal(tc.dropout(x).data, first)
    assert not np.array_equal(first, second)


def test_dropout_gradient_is_the_mask(rng):
    x = tc.Tensor(rng.standard_normal((6, 7)), requires_grad=True)
    out = tc.dropout(x, 0.4)
    g = rng.standard_normal((6, 7))
    out.backward(g)
    mask = (out.data != 0) / 0.6
    np.testing.assert_allclose(out.data, x.data * mask)
    np.testing.assert_allclose(x.grad, g * mask)


def test_dropout_edges_and_eval(rng):
    x = tc.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert tc.dropout(x, 0.5, training=False) is x
    assert tc.dropout2d(x, 0.5, training=False) is x
    np.testing.assert_array_equal(tc.dropout(x, 0.0).data, x.data)
    zeros = tc.dropout(x, 1.0)
    np.testing.assert_array_equal(zeros.data, np.zeros((3, 4)))
    zeros.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((3, 4)))
    assert isinstance(tc.dropout(np.ones(3), training=False), tc.Tensor)


def test_dropout_keeps_float32():
    x = tc.Tensor(np.ones((4, 3, 2, 2), np.float32), requires_grad=True)
    for fn in (tc.dropout, tc.dropout2d):
        out = fn(x, 0.3)
        out.sum().backward()
        assert out.dtype == x.grad.dtype == np.float32


def test_dropout2d_drops_whole_channels():
    tc.nn.manual_seed(1)
    out = tc.dropout2d(np.ones((50, 40, 3, 3)), 0.3).data
    per_channel = out.reshape(50, 40, -1)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # each channel all kept or all zero
    assert abs((per_channel[..., 0] == 0).mean() - 0.3) < 0.03
    np.testing.assert_allclose(per_channel[per_channel != 0], 1 / 0.7)
    # As PyTorch does today, a 3-D input is (N, C, L): one draw per (N, C) pair.
    out3 = tc.dropout2d(np.ones((30, 20, 4)), 0.5).data
    assert np.all(out3.min(axis=2) == out3.max(axis=2))


def test_dropout_errors():
    for fn in (tc.dropout, tc.dropout2d):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
            fn(np.ones((2, 2)), 1.5)
        with pytest.raises(ValueError, match="between 0 and 1"):
            fn(np.ones((2, 2)), -0.1)
        with pytest.raises(TypeError, match="p must be a real number"):
            fn(np.ones((2, 2)), "0.5")
        with pytest.raises(TypeError, match="training must be a bool"):
            fn(np.ones((2, 2)), 0.5, training=None)
    with pytest.raises(ValueError, match=r"at least 2 dims.*\(4,\)"):
        tc.dropout2d(np.ones(4))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(2.0)
    with pytest.raises(ValueError, match=r"mask \(3,\) does not broadcast to input \(2, 2\)"):
        tc.OPS["dropout"](np.ones((2, 2)), mask=np.ones(3))


def test_dropout_layers_follow_train_and_eval(rng):
    x = tc.Tensor(rng.standard_normal((8, 4, 3, 3)))
    for layer in (nn.Dropout(0.5), nn.Dropout2d(0.5)):
        assert list(layer.parameters()) == [] and layer.state_dict() == {}
        tc.nn.manual_seed(0)
        dropped = layer(x)
        tc.nn.manual_seed(0)
        np.testing.assert_array_equal(layer(x).data, dropped.data)
        assert np.any(dropped.data == 0) and not np.array_equal(dropped.data, x.data)
        layer.eval()
        assert layer(x) is x
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.9))
    model.eval()
    assert model[1].training is False


def test_dropout_matches_torch_where_it_is_deterministic(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 2, 2))
    F = torch.nn.functional
    for fn in ("dropout", "dropout2d"):
        np.testing.assert_array_equal(getattr(tc, fn)(x, 0.0).data, getattr(F, fn)(torch.tensor(x), 0.0).numpy())
        np.testing.assert_array_equal(getattr(tc, fn)(x, 1.0).data, getattr(F, fn)(torch.tensor(x), 1.0).numpy())
        np.testing.assert_array_equal(getattr(tc, fn)(x, 0.7, False).data,
                                      getattr(F, fn)(torch.tensor(x), 0.7, False).numpy())
    for ours, theirs in ((nn.Dropout(0.25), torch.nn.Dropout(0.25)), (nn.Dropout2d(), torch.nn.Dropout2d())):
        assert repr(ours) == repr(theirs)
