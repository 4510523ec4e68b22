"""AdamW and the learning-rate schedulers: hand-computed steps, closed forms, and PyTorch's numbers."""

import math

import numpy as np
import pytest

import tinygrad_conv as tc


def param(values):
    return tc.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_adamw_first_two_steps_by_hand():
    p = param([1.0, -2.0])
    opt = tc.optim.AdamW([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.5)
    g1, g2 = np.array([0.5, -1.0]), np.array([0.25, 2.0])
    p.grad = g1.copy()
    opt.step()
    # Step 1: decay first, then Adam with bias-corrected moments m_hat = g, v_hat = g^2.
    expected = np.array([1.0, -2.0]) * (1 - 0.1 * 0.5) - 0.1 * g1 / (np.abs(g1) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-12)
    p.grad = g2.copy()
    opt.step()
    m = 0.9 * 0.1 * g1 + 0.1 * g2
    v = 0.999 * 0.001 * g1**2 + 0.001 * g2**2
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = expected * (1 - 0.05) - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-10)


def test_adamw_differs_from_adam_l2():
    a, b = param([3.0]), param([3.0])
    adamw = tc.optim.AdamW([a], lr=0.1, weight_decay=0.1)
    adam = tc.optim.Adam([b], lr=0.1, weight_decay=0.1)
    for opt, p in ((adamw, a), (adam, b)):
        p.grad = np.array([0.0])
        opt.step()
    np.testing.assert_allclose(a.data, 3.0 * (1 - 0.01))  # decoupled: shrinks even with zero grad
    np.testing.assert_allclose(b.data, 3.0 - 0.1, rtol=1e-6)  # L2: the decay is a gradient, normalized by Adam
    assert tc.optim.AdamW([param([1.0])]).weight_decay == 0.01  # PyTorch's default


def test_adamw_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    start, grads = rng.standard_normal((3, 4)), rng.standard_normal((6, 3, 4))
    p = param(start)
    tp = torch.tensor(start, requires_grad=True)
    opt = tc.optim.AdamW([p], lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    topt = torch.optim.AdamW([tp], lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    for g in grads:
        p.grad, tp.grad = g.copy(), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14)


def run(scheduler_cls, epochs, lr=0.1, **kwargs):
    opt = tc.optim.SGD([param([1.0])], lr=lr)
    scheduler = scheduler_cls(opt, **kwargs)
    lrs = [opt.lr]
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        lrs.append(opt.lr)
        assert scheduler.get_last_lr() == [opt.lr]
    return lrs


def test_step_lr_by_hand():
    lrs = run(tc.optim.StepLR, 7, lr=1.0, step_size=3, gamma=0.5)
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_cosine_annealing_closed_form():
    lrs = run(tc.optim.CosineAnnealingLR, 10, lr=0.1, T_max=10, eta_min=0.01)
    closed = [0.01 + 0.09 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
    np.testing.assert_allclose(lrs, closed, rtol=1e-12)
    assert lrs[0] == 0.1 and lrs[-1] == pytest.approx(0.01)


@pytest.mark.parametrize("name,kwargs,epochs", [("StepLR", {"step_size": 2, "gamma": 0.3}, 9),
                                                ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.001}, 17),
                                                ("CosineAnnealingLR", {"T_max": 7}, 7)])
def test_schedulers_match_torch(name, kwargs, epochs):
    torch = pytest.importorskip("torch")
    ours = run(getattr(tc.optim, name), epochs, lr=0.2, **kwargs)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    theirs = [topt.param_groups[0]["lr"]]
    for _ in range(epochs):
        topt.step()
        tsched.step()
        theirs.append(topt.param_groups[0]["lr"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-16)


def test_scheduler_bad_inputs():
    opt = tc.optim.SGD([param([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="step_size"):
        tc.optim.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="gamma"):
        tc.optim.StepLR(opt, step_size=1, gamma=-1)
    with pytest.raises(TypeError, match=r"T_max must be an int, got 2\.5"):
        tc.optim.CosineAnnealingLR(opt, T_max=2.5)
    with pytest.raises(TypeError, match="gamma"):
        tc.optim.StepLR(opt, step_size=1, gamma=True)
    with pytest.raises(ValueError, match="eta_min"):
        tc.optim.CosineAnnealingLR(opt, T_max=2, eta_min=-0.1)
    with pytest.raises(TypeError, match="optimizer"):
        tc.optim.StepLR("sgd", step_size=1)


def test_schedulers_accept_numpy_numbers():
    opt = tc.optim.SGD([param([1.0])], lr=np.float32(0.5))
    scheduler = tc.optim.StepLR(opt, step_size=np.int64(1), gamma=np.float32(0.5))
    scheduler.step()
    assert scheduler.get_last_lr() == [0.25] and isinstance(opt.lr, float)
    assert tc.optim.CosineAnnealingLR(opt, T_max=np.int32(3), eta_min=np.int64(0)).T_max == 3
