"""Losses (issues 12, 13, 16): closed forms, PyTorch's values and gradients over a grid, edge cases, errors, modules."""

import itertools
import warnings

import numpy as np
import pytest

import tinygrad_conv as tc

LOSS_OPS = ["cross_entropy", "_cross_entropy_probs", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
            "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]
TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-12}, np.float32: {"rtol": 2e-5, "atol": 2e-6}}


def T(a, dtype=np.float64):
    return tc.Tensor(np.asarray(a, dtype=dtype), requires_grad=True)


def grads(fn, *arrays, seed=0):
    """Output data and the input grads of sum(fn(*tensors) * r) for a fixed random r."""
    tensors = [T(a) for a in arrays]
    out = fn(*tensors)
    r = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(r)
    return out.data, [t.grad for t in tensors], r


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("name", LOSS_OPS)
def test_registered_with_samples_and_gradchecked(name):
    assert name in tc.OPS and tc.OPS[name].samples is not None
    assert tc.gradcheck_op(name) >= 1


def test_public_functions_and_signatures():
    import inspect
    assert str(inspect.signature(tc.cross_entropy)) == (
        "(input: 'Tensor | np.ndarray', target: 'Tensor | np.ndarray', weight: 'Any' = None, "
        "ignore_index: 'int' = -100, reduction: 'str' = 'mean', label_smoothing: 'float' = 0.0) -> 'Tensor'")
    assert list(inspect.signature(tc.nll_loss).parameters) == ["input", "target", "weight", "ignore_index", "reduction"]
    assert list(inspect.signature(tc.binary_cross_entropy_with_logits).parameters) == [
        "input", "target", "weight", "reduction", "pos_weight"]
    assert list(inspect.signature(tc.smooth_l1_loss).parameters) == ["input", "target", "reduction", "beta"]
    assert list(inspect.signature(tc.huber_loss).parameters) == ["input", "target", "reduction", "delta"]
    assert not hasattr(tc, "_cross_entropy_probs")
    x = T(np.zeros((2, 3)))
    assert x.cross_entropy([0, 1]).item() == pytest.approx(np.log(3))  # the method is kept


# --- closed forms -------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_closed_form(reduction):
    rng = np.random.default_rng(8)
    logits, target = rng.standard_normal((5, 4)), np.array([0, 3, 3, 1, 2])
    out, (g,), r = grads(lambda t: tc.cross_entropy(t, target, reduction=reduction), logits)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    losses = -np.log(p[np.arange(5), target])
    expected = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    np.testing.assert_allclose(out, expected)
    onehot = np.eye(4)[target]
    scale = {"mean": r / 5, "sum": r, "none": np.reshape(r, (-1, 1))}[reduction]
    np.testing.assert_allclose(g, (p - onehot) * scale)


def test_cross_entropy_smoothing_weight_ignore_closed_form():
    """The class-index loss is the probability loss on the smoothed one-hot target, over the picked weights."""
    rng = np.random.default_rng(3)
    logits, target, w, s = rng.standard_normal((6, 4)), np.array([0, 3, -1, 1, 2, -1]), rng.uniform(0.5, 2, 4), 0.25
    out, (g,), r = grads(lambda t: tc.cross_entropy(t, target, weight=w, ignore_index=-1, label_smoothing=s), logits)
    keep = target != -1
    q = (1 - s) * np.eye(4)[np.where(keep, target, 0)] + s / 4
    per = -(q * w * np.log(softmax(logits, 1))).sum(1) * keep
    denominator = w[target[keep]].sum()
    np.testing.assert_allclose(out, per.sum() / denominator)
    mass = q * w * keep[:, None]
    np.testing.assert_allclose(g, (softmax(logits, 1) * mass.sum(1, keepdims=True) - mass) * r / denominator)


def test_cross_entropy_probability_target_closed_form_and_target_grad():
    rng = np.random.default_rng(4)
    logits, p = rng.standard_normal((3, 5, 2)), softmax(rng.standard_normal((3, 5, 2)), 1)
    out, (gx, gp), r = grads(lambda x, t: tc.cross_entropy(x, t, reduction="none", label_smoothing=0.1), logits, p)
    q = 0.9 * p + 0.1 / 5
    logp = np.log(softmax(logits, 1))
    np.testing.assert_allclose(out, -(q * logp).sum(1))
    np.testing.assert_allclose(gx, (softmax(logits, 1) * q.sum(1, keepdims=True) - q) * r[:, None])
    np.testing.assert_allclose(gp, -0.9 * logp * r[:, None])


def test_nll_loss_closed_form():
    rng = np.random.default_rng(5)
    logp, target, w = rng.standard_normal((4, 3, 2)), np.array([[0, 2], [1, 1], [2, 0], [0, 1]]), np.array([1.0, 2, 3])
    out, (g,), r = grads(lambda x: tc.nll_loss(x, target, weight=w), logp)
    picked = np.take_along_axis(logp, target[:, None], 1)[:, 0]
    np.testing.assert_allclose(out, -(w[target] * picked).sum() / w[target].sum())
    expected = np.zeros_like(logp)
    np.put_along_axis(expected, target[:, None], (-w[target] * r / w[target].sum())[:, None], 1)
    np.testing.assert_allclose(g, expected)


def test_elementwise_closed_forms():
    a, b = np.array([0.2, -1.5, 3.0, -0.1]), np.array([0.0, 0.0, 1.0, 0.5])
    d = a - b
    cases = {
        "l1": (lambda x, y: tc.l1_loss(x, y, reduction="none"), np.abs(d), np.sign(d)),
        "smooth": (lambda x, y: tc.smooth_l1_loss(x, y, reduction="none", beta=0.5),
                   np.where(np.abs(d) < 0.5, d**2, np.abs(d) - 0.25), np.clip(d / 0.5, -1, 1)),
        "huber": (lambda x, y: tc.huber_loss(x, y, reduction="none", delta=0.5),
                  np.where(np.abs(d) < 0.5, 0.5 * d**2, 0.5 * (np.abs(d) - 0.25)), np.clip(d, -0.5, 0.5)),
    }
    for name, (fn, loss, derivative) in cases.items():
        out, (ga, gb), r = grads(fn, a, b)
        np.testing.assert_allclose(out, loss, err_msg=name)
        np.testing.assert_allclose(ga, derivative * r, err_msg=name)
        np.testing.assert_allclose(gb, -derivative * r, err_msg=name)
    np.testing.assert_allclose(tc.smooth_l1_loss(a, b, beta=0.0).item(), np.abs(d).mean())
    np.testing.assert_allclose(tc.huber_loss(a, b, delta=0.7).item(), 0.7 * tc.smooth_l1_loss(a, b, beta=0.7).item())


def test_mse_closed_form_and_target_tensor():
    a, b = np.array([1.0, 2.0, 4.0]), np.array([0.0, 2.0, 1.0])
    out, (ga, gb), r = grads(lambda x, y: tc.mse_loss(x, y, reduction="none"), a, b)
    np.testing.assert_allclose(out, (a - b) ** 2)
    np.testing.assert_allclose(ga, 2 * (a - b) * r)
    np.testing.assert_allclose(gb, -2 * (a - b) * r)
    assert tc.mse_loss(T(a), b).item() == pytest.approx(10 / 3)


def test_bce_closed_forms_clamp_and_stability():
    p, t = np.array([0.2, 0.9, 0.5]), np.array([0.0, 1.0, 0.3])
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(tc.binary_cross_entropy(p, t, reduction="none").data, expected)
    # log is clamped at -100, so 0 and 1 give finite losses
    np.testing.assert_allclose(tc.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]),
                                                       reduction="none").data, [100.0, 100.0])
    x = np.array([-1000.0, -3.0, 0.0, 2.0, 1000.0])
    t = np.array([1.0, 0.0, 0.5, 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = tc.binary_cross_entropy_with_logits(x, t, reduction="none").data
    np.testing.assert_allclose(out, [1000.0, np.log1p(np.exp(-3.0)), np.log(2), np.log1p(np.exp(-2.0)), 1000.0])
    sig = 1 / (1 + np.exp(-x[1:4]))
    np.testing.assert_allclose(out[1:4], -(t[1:4] * np.log(sig) + (1 - t[1:4]) * np.log(1 - sig)))


def test_kl_div_closed_form_and_warning():
    x, t = np.log(softmax(np.arange(6.0).reshape(2, 3), 1)), np.array([[0.2, 0.8, 0.0], [0.5, 0.25, 0.25]])
    per = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x
    np.testing.assert_allclose(tc.kl_div(x, t, reduction="batchmean").item(), per.sum() / 2)
    np.testing.assert_allclose(tc.kl_div(x, np.log(t + 1e-300), reduction="sum", log_target=True).item(), per.sum())
    with pytest.warns(UserWarning, match="batchmean"):
        assert tc.kl_div(x, t).item() == pytest.approx(per.mean())


def test_one_hot():
    np.testing.assert_array_equal(tc.one_hot(np.array([0, 2, 1])), np.eye(3, dtype=np.int64)[[0, 2, 1]])
    out = tc.one_hot(tc.Tensor([[1.0, 0.0]]), num_classes=4)
    assert out.dtype == np.int64 and out.shape == (1, 2, 4)
    np.testing.assert_array_equal(out, [[[0, 1, 0, 0], [1, 0, 0, 0]]])
    assert tc.one_hot(np.zeros(0, int), 3).shape == (0, 3)
    assert tc.one_hot(2, 3).tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match="non-negative"):
        tc.one_hot([0, -1])
    with pytest.raises(ValueError, match=r"smaller than num_classes=2, got 2"):
        tc.one_hot([0, 2], 2)
    with pytest.raises(ValueError, match="empty"):
        tc.one_hot(np.zeros(0, int))
    with pytest.raises(TypeError, match="integer"):
        tc.one_hot(np.array([0.5]))
    with pytest.raises(ValueError, match="num_classes must be >= -1"):
        tc.one_hot([0], -2)


def test_one_hot_against_torch():
    torch = pytest.importorskip("torch")
    idx = np.random.default_rng(0).integers(0, 5, (3, 4))
    np.testing.assert_array_equal(tc.one_hot(idx), torch.nn.functional.one_hot(torch.tensor(idx)).numpy())
    np.testing.assert_array_equal(tc.one_hot(idx, 7), torch.nn.functional.one_hot(torch.tensor(idx), 7).numpy())


# --- PyTorch comparisons ---------------------------------------------------------------------------
SHAPES = {"NC": (5, 4), "NCdd": (3, 4, 2, 3), "C": (4,)}


def test_losses_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    logits, target = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    t = T(logits)
    tc.cross_entropy(t, target).backward()
    tt = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.cross_entropy(tt, torch.tensor(target)).backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy(), atol=1e-12)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    ta, tb = T(a), T(b)
    loss = tc.mse_loss(ta, tb)
    loss.backward()
    xa, xb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    torch.nn.functional.mse_loss(xa, xb).backward()
    np.testing.assert_allclose(loss.item(), torch.nn.functional.mse_loss(xa, xb).item())
    np.testing.assert_allclose(ta.grad, xa.grad.numpy())
    np.testing.assert_allclose(tb.grad, xb.grad.numpy())
    ls = tc.log_softmax(T(logits), 0).data
    np.testing.assert_allclose(ls, torch.log_softmax(torch.tensor(logits), 0).numpy())


def _compare(torch, ours_fn, torch_fn, arrays, dtype, seed=0):
    """Run both on the same float arrays (requiring grad); compare the outputs and every gradient."""
    ours = [T(a, dtype) for a in arrays]
    theirs = [torch.tensor(np.asarray(a, dtype=dtype), requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, expected = ours_fn(*ours), torch_fn(*theirs)
    assert out.dtype == dtype and out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOL[dtype])
    r = np.random.default_rng(seed).standard_normal(out.shape).astype(dtype)
    out.backward(r)
    expected.backward(torch.tensor(r))
    for mine, their in zip(ours, theirs):
        assert mine.grad.dtype == dtype
        np.testing.assert_allclose(mine.grad, their.grad.numpy(), **TOL[dtype])


def _class_target(rng, shape, ignore):
    """Class indices for logits of ``shape``; ``ignore`` None, -100 (some are -100) or a class index."""
    target_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    target = rng.integers(0, shape[1 if len(shape) > 1 else 0], target_shape)
    if ignore == -100:
        target = np.where(rng.random(target_shape) < 0.3, -100, target)
    return target


CE_GRID = [
    (layout, kind, reduction, weighted, ignore, smoothing, dtype)
    for layout, kind, reduction, weighted, ignore, smoothing, dtype in itertools.product(
        SHAPES, ["index", "probs"], ["mean", "sum", "none"], [False, True], [None, -100, 2], [0.0, 0.3],
        [np.float64, np.float32])
    if not (kind == "probs" and ignore is not None)
]


@pytest.mark.parametrize("layout, kind, reduction, weighted, ignore, smoothing, dtype", CE_GRID)
def test_cross_entropy_against_torch(layout, kind, reduction, weighted, ignore, smoothing, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(abs(hash((layout, kind, reduction, weighted, ignore, smoothing))) % 2**32)
    shape = SHAPES[layout]
    classes = shape[1] if len(shape) > 1 else shape[0]
    logits = 2 * rng.standard_normal(shape)
    weight = rng.uniform(0.3, 2, classes).astype(dtype) if weighted else None
    kwargs = {"reduction": reduction, "label_smoothing": smoothing}
    if ignore is not None:
        kwargs["ignore_index"] = ignore
    tweight = None if weight is None else torch.tensor(weight)
    if kind == "probs":
        probs = softmax(rng.standard_normal(shape), 1 if len(shape) > 1 else 0)
        _compare(torch, lambda x, p: tc.cross_entropy(x, p, weight=weight, **kwargs),
                 lambda x, p: torch.nn.functional.cross_entropy(x, p, weight=tweight, **kwargs), [logits, probs], dtype)
        return
    target = _class_target(rng, shape, ignore)
    _compare(torch, lambda x: tc.cross_entropy(x, target, weight=weight, **kwargs),
             lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(target), weight=tweight, **kwargs), [logits],
             dtype)
    # nll_loss on the log-probabilities, same grid without smoothing
    if smoothing == 0:
        logp = np.log(softmax(logits, 1 if len(shape) > 1 else 0))
        kwargs.pop("label_smoothing")
        _compare(torch, lambda x: tc.nll_loss(x, target, weight=weight, **kwargs),
                 lambda x: torch.nn.functional.nll_loss(x, torch.tensor(target), weight=tweight, **kwargs), [logp],
                 dtype)


def _elementwise_cases(torch, rng):
    F = torch.nn.functional
    x, t = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    p, u = rng.uniform(0.05, 0.95, (3, 4, 2)), rng.uniform(0, 1, (3, 4, 2))
    w, pw = rng.uniform(0.5, 2, (4, 1)), rng.uniform(0.5, 3, 2)
    logq = np.log(softmax(rng.standard_normal((3, 4, 2)), 1))
    return {
        "mse": (tc.mse_loss, F.mse_loss, [x, t], {}),
        "l1": (tc.l1_loss, F.l1_loss, [x, t], {}),
        "smooth_l1": (tc.smooth_l1_loss, F.smooth_l1_loss, [x, t], {"beta": 0.7}),
        "smooth_l1_beta0": (tc.smooth_l1_loss, F.smooth_l1_loss, [x, t], {"beta": 0.0}),
        "huber": (tc.huber_loss, F.huber_loss, [x, t], {"delta": 0.6}),
        "bce": (tc.binary_cross_entropy, F.binary_cross_entropy, [p, u], {}),
        "bce_weight": (tc.binary_cross_entropy, F.binary_cross_entropy, [p, u], {"weight": w}),
        "bce_logits": (tc.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, [3 * x, u], {}),
        "bce_logits_weights": (tc.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, [3 * x, u],
                               {"weight": w, "pos_weight": pw}),
        "kl_div": (tc.kl_div, F.kl_div, [logq, p], {}),
        "kl_div_log_target": (tc.kl_div, F.kl_div, [logq, np.log(p)], {"log_target": True}),
    }


ELEMENTWISE = ["mse", "l1", "smooth_l1", "smooth_l1_beta0", "huber", "bce", "bce_weight", "bce_logits",
               "bce_logits_weights", "kl_div", "kl_div_log_target"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("case", ELEMENTWISE)
def test_elementwise_losses_against_torch(case, reduction, dtype):
    torch = pytest.importorskip("torch")
    if reduction == "batchmean" and not case.startswith("kl_div"):
        pytest.skip("batchmean is kl_div's")
    ours, theirs, arrays, attrs = _elementwise_cases(torch, np.random.default_rng(11))[case]
    ours_attrs = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in attrs.items()}
    torch_attrs = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in ours_attrs.items()}
    _compare(torch, lambda *ts: ours(*ts, reduction=reduction, **ours_attrs),
             lambda *ts: theirs(*ts, reduction=reduction, **torch_attrs), arrays, dtype)


# --- edge cases ----------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction, expected", [("mean", np.nan), ("sum", 0.0), ("none", np.zeros(0))])
def test_empty_batch(reduction, expected):
    for target in (np.zeros(0, int), np.zeros((0, 3))):
        x = T(np.zeros((0, 3)))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = tc.cross_entropy(x, target, reduction=reduction, label_smoothing=0.1)
            np.testing.assert_array_equal(out.data, expected)
            out.backward(np.ones(out.shape))
        assert x.grad.shape == (0, 3)
    assert np.isnan(tc.nll_loss(np.zeros((0, 3)), np.zeros(0, int)).item())
    assert np.isnan(tc.mse_loss(np.zeros(0), np.zeros(0)).item())


@pytest.mark.parametrize("smoothing", [0.0, 0.4])
def test_all_ignored_is_nan_with_zero_gradient(smoothing):
    x = T(np.random.default_rng(0).standard_normal((3, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = tc.cross_entropy(x, [-100, -100, -100], weight=[1.0, 2, 3, 4], label_smoothing=smoothing)
        assert np.isnan(loss.item())
        loss.backward()
    np.testing.assert_array_equal(x.grad, np.zeros((3, 4)))
    assert tc.cross_entropy(x, [-100, -100, -100], reduction="sum", label_smoothing=smoothing).item() == 0.0


def test_label_smoothing_with_ignore_index_against_torch():
    torch = pytest.importorskip("torch")
    logits, target = np.random.default_rng(1).standard_normal((4, 3)), np.array([0, 1, 1, 2])
    for reduction in ("mean", "sum", "none"):
        kwargs = {"ignore_index": 1, "label_smoothing": 0.5, "reduction": reduction}
        _compare(torch, lambda x, kw=kwargs: tc.cross_entropy(x, target, **kw),
                 lambda x, kw=kwargs: torch.nn.functional.cross_entropy(x, torch.tensor(target), **kw), [logits],
                 np.float64)


def test_targets_as_lists_tensors_and_int_dtypes():
    x = np.random.default_rng(2).standard_normal((3, 4))
    expected = tc.cross_entropy(x, np.array([0, 3, 1])).item()
    for target in ([0, 3, 1], np.array([0, 3, 1], np.uint8), tc.Tensor([0.0, 3.0, 1.0]), np.array([0, 3, 1], np.int32)):
        assert tc.cross_entropy(x, target).item() == expected
    assert tc.cross_entropy(x.astype(np.float32), [0, 3, 1], weight=np.ones(4)).dtype == np.float32


# --- errors --------------------------------------------------------------------------------------
def test_loss_bad_inputs():
    logits = T(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"target must have shape \(3,\)"):
        tc.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"outside \[0, 4\)"):
        tc.cross_entropy(logits, np.array([0, 1, 4]))
    with pytest.raises(TypeError, match="integer"):
        tc.cross_entropy(logits, np.array([0.5, 1, 2]))
    with pytest.raises(ValueError, match="reduction"):
        tc.cross_entropy(logits, np.array([0, 1, 2]), reduction="avg")
    # (2, 3, 4) logits are N=2, C=3, d1=4: the target must be (2, 4)
    with pytest.raises(ValueError, match=r"target must have shape \(2, 4\) for input of shape \(2, 3, 4\)"):
        tc.cross_entropy(T(np.zeros((2, 3, 4))), np.zeros(2, int))
    with pytest.raises(ValueError, match=r"mse_loss.*\(3,\).*\(2,\)"):
        tc.mse_loss(T(np.zeros(3)), np.zeros(2))
    assert tc.log_softmax(T(1.0), 0).item() == 0.0  # as in PyTorch
    assert tc.cross_entropy(logits, tc.Tensor([0, 1, 2])).item() == pytest.approx(np.log(4))


@pytest.mark.parametrize("call, error, message", [
    (lambda x: tc.cross_entropy(x, np.zeros((3, 2), int)), ValueError,
     r"target must have shape \(3,\) for input of shape \(3, 4\) \(class axis 1\), got \(3, 2\)"),
    (lambda x: tc.cross_entropy(x, np.zeros((3, 4, 2), int)), ValueError,
     r"target must have shape \(3,\).*\(3, 4, 2\)"),
    (lambda x: tc.cross_entropy(x, [0, 1, -100], ignore_index=-1), ValueError, r"outside \[0, 4\).*-100"),
    (lambda x: tc.cross_entropy(x, [0, 1, 2], label_smoothing=1.5), ValueError, r"label_smoothing must be in \[0, 1\]"),
    (lambda x: tc.cross_entropy(x, [0, 1, 2], label_smoothing=-0.1), ValueError, "label_smoothing must be >= 0"),
    (lambda x: tc.cross_entropy(x, np.ones((3, 4)) / 4, label_smoothing=2.0), ValueError, "label_smoothing"),
    (lambda x: tc.cross_entropy(x, [0, 1, 2], weight=np.ones(3)), ValueError,
     r"weight must have shape \(4,\).*got \(3,\)"),
    (lambda x: tc.cross_entropy(x, np.ones((3, 4)) / 4, weight=np.ones(5)), ValueError,
     r"weight must have shape \(4,\)"),
    (lambda x: tc.cross_entropy(x, np.ones((3, 4), int)), TypeError, "probabilities and must be floating"),
    (lambda x: tc.cross_entropy(x, np.ones((3, 4)) / 4, ignore_index=0), ValueError, "not supported for probability"),
    (lambda x: tc.cross_entropy(x, [0, 1, 2], ignore_index=1.0), TypeError, "ignore_index must be an int"),
    (lambda x: tc.cross_entropy(x, [0, 1, 2], weight=["a"] * 4), TypeError, "weight must be a numeric"),
    (lambda x: tc.cross_entropy(x, [True, False, True]), TypeError, "integer class indices"),
    (lambda x: tc.cross_entropy(x.sum(), 0), ValueError, "0-d input"),
    (lambda x: tc.nll_loss(x, [0, 1, 5]), ValueError, r"nll_loss: target holds class indices outside \[0, 4\)"),
    (lambda x: tc.nll_loss(x, [0, 1, 2], reduction="batchmean"), ValueError, "nll_loss: reduction"),
    (lambda x: tc.binary_cross_entropy(x, np.zeros((3, 4))), ValueError, r"in \[0, 1\]"),
    (lambda x: tc.binary_cross_entropy(x.sigmoid(), np.zeros((3, 4)), weight=np.ones(3)), ValueError,
     r"weight of shape \(3,\) must broadcast to the input's shape \(3, 4\)"),
    (lambda x: tc.binary_cross_entropy_with_logits(x, np.zeros((3, 4)), pos_weight=np.ones((2, 3, 4))), ValueError,
     "pos_weight of shape"),
    (lambda x: tc.binary_cross_entropy_with_logits(x, np.zeros(4)), ValueError, r"input \(3, 4\) and target \(4,\)"),
    (lambda x: tc.smooth_l1_loss(x, x, beta=-1.0), ValueError, "beta must be >= 0"),
    (lambda x: tc.huber_loss(x, x, delta=0.0), ValueError, "delta must be > 0"),
    (lambda x: tc.l1_loss(x, x, reduction=None), ValueError, "l1_loss: reduction"),
    (lambda x: tc.kl_div(x, x, reduction="avg"), ValueError, "kl_div: reduction"),
])
def test_errors_name_the_argument_and_shapes(call, error, message):
    x = T(np.random.default_rng(0).standard_normal((3, 4)) - 2)
    with pytest.raises(error, match=message):
        call(x)


def test_log_softmax_of_an_empty_axis_is_empty_and_cross_entropy_refuses_it():
    assert tc.log_softmax(np.ones((2, 0)), 1).shape == (2, 0)  # as in PyTorch
    assert tc.log_softmax(np.ones((0, 3)), 1).shape == (0, 3)
    with pytest.raises(ValueError, match="cross_entropy: .* no classes"):
        tc.cross_entropy(np.ones((0, 0)), np.zeros(0, int))


@pytest.mark.parametrize("target, message", [
    ([0.0, 1e20, 2.0], r"outside \[0, 4\).*1e\+20"),
    ([0.0, 1.5, 2.0], r"whole class indices, got 1\.5"),
    ([0.0, np.nan, 2.0], r"whole class indices, got nan"),
    ([0.0, np.inf, 2.0], r"whole class indices, got inf"),
])
def test_cross_entropy_float_target_tensor_errors_cleanly(target, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from a float -> int cast
        with pytest.raises(ValueError, match=message):
            tc.cross_entropy(T(np.zeros((3, 4))), tc.Tensor(target))


# --- modules ---------------------------------------------------------------------------------------
def test_loss_modules_call_their_functionals():
    rng = np.random.default_rng(6)
    x, target, w = rng.standard_normal((4, 3)), np.array([0, 2, 1, -1]), np.array([1.0, 2.0, 0.5])
    module = tc.nn.CrossEntropyLoss(weight=w, ignore_index=-1, reduction="sum", label_smoothing=0.2)
    assert module(x, target).item() == tc.cross_entropy(x, target, w, -1, "sum", 0.2).item()
    assert isinstance(module.weight, tc.Tensor) and not module.weight.requires_grad
    assert list(module.parameters()) == [] and list(module.state_dict()) == ["weight"]  # a buffer, as in PyTorch
    np.testing.assert_array_equal(module.state_dict()["weight"], w)
    assert tc.nn.CrossEntropyLoss().state_dict() == {}
    assert repr(module) == "CrossEntropyLoss()"  # as PyTorch: loss modules have no extra_repr
    logp = tc.log_softmax(x, 1)
    assert tc.nn.NLLLoss(w, -1)(logp, target).item() == tc.nll_loss(logp, target, w, -1).item()
    y = rng.standard_normal((4, 3))
    assert tc.nn.MSELoss("sum")(x, y).item() == tc.mse_loss(x, y, "sum").item()
    assert tc.nn.L1Loss()(x, y).item() == tc.l1_loss(x, y).item()
    assert tc.nn.SmoothL1Loss(beta=0.5)(x, y).item() == tc.smooth_l1_loss(x, y, beta=0.5).item()
    assert tc.nn.HuberLoss(delta=0.5)(x, y).item() == tc.huber_loss(x, y, delta=0.5).item()
    p, u = 1 / (1 + np.exp(-x)), rng.uniform(0, 1, (4, 3))
    assert tc.nn.BCELoss(weight=tc.Tensor(w))(p, u).item() == tc.binary_cross_entropy(p, u, w).item()
    module = tc.nn.BCEWithLogitsLoss(pos_weight=w, reduction="none")
    np.testing.assert_array_equal(module(x, u).data, tc.binary_cross_entropy_with_logits(x, u, None, "none", w).data)
    assert tc.nn.KLDivLoss("batchmean")(logp, p).item() == tc.kl_div(logp, p, "batchmean").item()
    # a weight Tensor that requires grad is data: detached, sharing its values
    weight = tc.Tensor(w, requires_grad=True)
    module = tc.nn.CrossEntropyLoss(weight)
    assert not module.weight.requires_grad and np.shares_memory(module.weight.data, weight.data)


def test_loss_modules_train_a_model():
    tc.nn.manual_seed(0)
    model = tc.nn.Linear(2, 3)
    x = np.random.default_rng(0).standard_normal((30, 2))
    y = np.argmax(x @ np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]]), axis=1)
    loss_fn, opt = tc.nn.CrossEntropyLoss(label_smoothing=0.05), tc.optim.SGD(model.parameters(), lr=0.5)
    first = None
    for _ in range(50):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first


@pytest.mark.parametrize("make, message", [
    (lambda: tc.nn.CrossEntropyLoss(reduction="avg"), "CrossEntropyLoss: reduction"),
    (lambda: tc.nn.CrossEntropyLoss(label_smoothing=1.2), r"CrossEntropyLoss: label_smoothing must be in \[0, 1\]"),
    (lambda: tc.nn.NLLLoss(ignore_index=0.5), "NLLLoss: ignore_index"),
    (lambda: tc.nn.SmoothL1Loss(beta=-1.0), "SmoothL1Loss: beta"),
    (lambda: tc.nn.HuberLoss(delta=0.0), "HuberLoss: delta"),
    (lambda: tc.nn.KLDivLoss("avg"), "KLDivLoss: reduction"),
])
def test_loss_module_settings_are_checked(make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make()


def test_loss_modules_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, target, w = rng.standard_normal((4, 3, 2)), rng.integers(0, 3, (4, 2)), rng.uniform(0.5, 2, 3)
    kwargs = {"ignore_index": 1, "reduction": "mean", "label_smoothing": 0.1}
    _compare(torch, lambda t: tc.nn.CrossEntropyLoss(w, **kwargs)(t, target),
             lambda t: torch.nn.CrossEntropyLoss(torch.tensor(w), **kwargs)(t, torch.tensor(target)), [x], np.float64)
    u = rng.uniform(0, 1, (4, 3, 2))
    pw = rng.uniform(0.5, 2, 2)
    _compare(torch, lambda t: tc.nn.BCEWithLogitsLoss(pos_weight=pw)(t, u),
             lambda t: torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw))(t, torch.tensor(u)), [x], np.float64)


def test_losses_compute_in_the_input_dtype():
    x32 = T(np.random.default_rng(8).standard_normal((3, 4)), np.float32)
    target64 = tc.Tensor(np.random.default_rng(9).uniform(0, 1, (3, 4)), requires_grad=True)
    for loss in (tc.mse_loss(x32, target64), tc.cross_entropy(x32, target64 / 4), tc.l1_loss(x32, [[0.0] * 4] * 3),
                 tc.binary_cross_entropy_with_logits(x32, target64, pos_weight=np.ones(4))):
        assert loss.dtype == np.float32
        loss.backward()
    assert x32.grad.dtype == np.float32 and target64.grad.dtype == np.float64
