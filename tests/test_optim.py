"""Optimizers against hand-computed steps and, when installed, PyTorch's numbers."""

import numpy as np
import pytest

import tinygrad_conv as tc


def quadratic_steps(make, steps=5):
    """Run ``steps`` updates on loss = sum(w**2 * c); return the trajectory of w."""
    w = tc.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    c = np.array([0.5, 1.0, 2.0])
    opt = make([w])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        tc.sum_of_squares(w * np.sqrt(c)).backward()
        opt.step()
        out.append(w.data.copy())
    return np.array(out)


def test_sgd_by_hand():
    traj = quadratic_steps(lambda p: tc.optim.SGD(p, lr=0.1), steps=2)
    w0, c = np.array([1.0, -2.0, 3.0]), np.array([0.5, 1.0, 2.0])
    w1 = w0 - 0.1 * 2 * c * w0
    np.testing.assert_allclose(traj[0], w1)
    np.testing.assert_allclose(traj[1], w1 - 0.1 * 2 * c * w1)


def test_sgd_momentum_nesterov_weight_decay_by_hand():
    lr, mu, wd = 0.1, 0.9, 0.01
    w, c = np.array([1.0, -2.0, 3.0]), np.array([0.5, 1.0, 2.0])
    traj = quadratic_steps(lambda p: tc.optim.SGD(p, lr=lr, momentum=mu, weight_decay=wd, nesterov=True), steps=3)
    buf = None
    for step in range(3):
        g = 2 * c * w + wd * w
        buf = g.copy() if buf is None else mu * buf + g
        w = w - lr * (g + mu * buf)
        np.testing.assert_allclose(traj[step], w, rtol=1e-14)


def test_adam_by_hand():
    lr, (b1, b2), eps, wd = 0.01, (0.9, 0.999), 1e-8, 0.1
    w, c = np.array([1.0, -2.0, 3.0]), np.array([0.5, 1.0, 2.0])
    traj = quadratic_steps(lambda p: tc.optim.Adam(p, lr=lr, weight_decay=wd), steps=4)
    m = v = np.zeros(3)
    for t in range(1, 5):
        g = 2 * c * w + wd * w
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(traj[t - 1], w, rtol=1e-12)


def test_zero_grad_and_params_without_grad():
    w = tc.Tensor([1.0], requires_grad=True)
    unused = tc.Tensor([5.0], requires_grad=True)
    opt = tc.optim.SGD([w, unused], lr=0.5)
    tc.sum_of_squares(w).backward()
    opt.step()
    assert w.data[0] == 0.0 and unused.data[0] == 5.0
    opt.zero_grad()
    assert w.grad is None


def test_float32_parameters_stay_float32():
    w = tc.Tensor(np.ones(3, np.float32), requires_grad=True)
    for opt in (tc.optim.SGD([w], lr=0.1, momentum=0.9), tc.optim.Adam([w])):
        tc.sum_of_squares(w).backward()
        opt.step()
        assert w.dtype == np.float32


@pytest.mark.parametrize("kwargs, error, message", [
    ({"params": [], "lr": 0.1}, ValueError, "empty"),
    ({"params": [np.ones(2)], "lr": 0.1}, TypeError, r"params\[0\] must be a Tensor"),
    ({"params": "const", "lr": 0.1}, TypeError, r"params\[0\]"),
    ({"params": "frozen", "lr": 0.1}, ValueError, "does not require grad"),
    ({"params": "ok", "lr": -1.0}, ValueError, "lr must be"),
    ({"params": "ok", "lr": 0.1, "momentum": -0.5}, ValueError, "momentum"),
    ({"params": "ok", "lr": 0.1, "nesterov": True}, ValueError, "nesterov"),
])
def test_sgd_bad_arguments(kwargs, error, message):
    kwargs = dict(kwargs)
    kwargs["params"] = {"const": ["x"], "frozen": [tc.Tensor(1.0)], "ok": [tc.Tensor(1.0, requires_grad=True)]}.get(
        kwargs["params"], kwargs["params"]) if isinstance(kwargs["params"], str) else kwargs["params"]
    with pytest.raises(error, match=message):
        tc.optim.SGD(**kwargs)


def test_adam_bad_betas():
    w = [tc.Tensor(1.0, requires_grad=True)]
    with pytest.raises(ValueError, match="betas"):
        tc.optim.Adam(w, betas=(0.9, 1.0))
    with pytest.raises(TypeError, match=r"betas must be a pair.*0\.9"):
        tc.optim.Adam(w, betas=0.9)
    with pytest.raises(TypeError, match=r"betas\[0\] must be a real number, got 'a'"):
        tc.optim.Adam(w, betas=("a", "b"))
    with pytest.raises(TypeError, match="betas"):
        tc.optim.Adam(w, betas=(0.9,))


def test_params_must_be_a_list_of_distinct_leaves():
    w = tc.Tensor(np.ones((3, 2)), requires_grad=True)
    with pytest.raises(TypeError, match=r"got a Tensor of shape \(3, 2\); wrap it in a list"):
        tc.optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors, got int"):
        tc.optim.SGD(3, lr=0.1)
    with pytest.raises(ValueError, match=r"params\[0\].*can't optimize a non-leaf Tensor"):
        tc.optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[1\].*params\[0\] again"):
        tc.optim.Adam([w, w], lr=0.1)


def test_hyperparameters_accept_any_real_number_type():
    w = [tc.Tensor(np.ones(2), requires_grad=True)]
    opt = tc.optim.SGD(w, lr=np.float32(0.5), momentum=np.int64(0), weight_decay=np.float64(0.1))
    assert type(opt.lr) is float and opt.lr == 0.5
    adam = tc.optim.Adam(w, lr=1, betas=(np.float32(0.5), 0), eps=np.int64(0))
    assert adam.betas == (0.5, 0.0)
    for bad in (True, "0.1", None):
        with pytest.raises(TypeError, match="lr must be a real number"):
            tc.optim.SGD(w, lr=bad)
    with pytest.raises(ValueError, match="lr must be finite"):
        tc.optim.SGD(w, lr=float("nan"))
    with pytest.raises(TypeError, match="nesterov"):
        tc.optim.SGD(w, lr=0.1, momentum=0.9, nesterov="yes")


@pytest.mark.parametrize("grad, got", [
    (np.ones(()), r"shape \(\)"),
    (np.ones((3, 1)), r"shape \(3, 1\)"),
    (np.ones((2, 3)), r"shape \(2, 3\)"),
    (np.ones((3, 2), dtype=np.int64), "dtype int64"),
    ([[1.0, 1.0]] * 3, "a list"),
])
def test_step_rejects_malformed_grad(grad, got):
    a = tc.Tensor(np.ones(4), requires_grad=True)
    w = tc.Tensor(np.ones((3, 2)), requires_grad=True)
    opt = tc.optim.SGD([a, w], lr=0.1)
    a.grad, w.grad = np.ones(4), grad
    with pytest.raises(ValueError, match=r"params\[1\]\.grad.*\(3, 2\).*" + got):
        opt.step()
    np.testing.assert_array_equal(a.data, np.ones(4))  # nothing was updated


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
])
def test_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = quadratic_steps(lambda p: getattr(tc.optim, name)(p, **kwargs), steps=10)
    w = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    c = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    opt = getattr(torch.optim, name)([w], **kwargs)
    for step in range(10):
        opt.zero_grad()
        (w**2 * c).sum().backward()
        opt.step()
        np.testing.assert_allclose(ours[step], w.detach().numpy(), rtol=1e-12, atol=1e-15)
