"""Optimizers refuse bad hyperparameters and bad parameters with messages that name them, and change nothing then."""

import numpy as np
import pytest

import tinygrad_conv as tc

OPTIMIZERS = {
    "SGD": lambda ps: tc.optim.SGD(ps, lr=0.1),
    "momentum": lambda ps: tc.optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam": lambda ps: tc.optim.Adam(ps, lr=0.1),
    "AdamW": lambda ps: tc.optim.AdamW(ps, lr=0.1),
}


def param(*shape):
    return tc.Tensor(np.ones(shape), requires_grad=True)


@pytest.mark.parametrize(("make", "match"), [
    (lambda w: tc.optim.SGD([w], lr="0.1"), "SGD: lr must be a real number, got '0.1'"),
    (lambda w: tc.optim.Adam([w], lr="0.1"), "Adam: lr must be a real number"),
    (lambda w: tc.optim.SGD([w], lr=0.1, momentum="0.9"), "SGD: momentum must be a real number"),
    (lambda w: tc.optim.SGD([w], lr=0.1, weight_decay=None), "SGD: weight_decay must be a real number"),
    (lambda w: tc.optim.Adam([w], betas=("0.9", 0.999)), r"Adam: betas\[0\] must be a real number"),
    (lambda w: tc.optim.Adam([w], betas="ab"), "Adam: betas must be a pair"),
    (lambda w: tc.optim.AdamW([w], eps="1e-8"), "AdamW: eps must be a real number"),
    (lambda w: tc.optim.AdamW([w], weight_decay=[0.1]), "AdamW: weight_decay must be a real number"),
    (lambda w: tc.optim.SGD([w], lr=0.1, nesterov="yes"), "SGD: nesterov must be a bool"),
])
def test_hyperparameters_of_the_wrong_type_are_named(make, match):
    with pytest.raises(TypeError, match=match):
        make(param(2))


@pytest.mark.parametrize(("make", "match"), [
    (lambda w: tc.optim.SGD([w], lr=-1), "SGD: lr must be >= 0"),
    (lambda w: tc.optim.SGD([w], lr=0.1, momentum=-0.5), "momentum must be >= 0"),
    (lambda w: tc.optim.Adam([w], betas=(0.9, 1.0)), r"betas must be two numbers in \[0, 1\)"),
    (lambda w: tc.optim.Adam([w], eps=float("nan")), "eps must be finite"),
])
def test_hyperparameters_out_of_range_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make(param(2))


def test_assigning_lr_later_is_checked_too():
    opt = tc.optim.Adam([param(2)], lr=0.1)
    with pytest.raises(TypeError, match="Adam: lr must be a real number"):
        opt.lr = "0.01"
    assert opt.lr == 0.1
    opt.lr = np.float32(0.5)
    assert opt.lr == 0.5 and type(opt.lr) is float


@pytest.mark.parametrize("name", ["momentum", "Adam", "AdamW"])
@pytest.mark.parametrize(("old", "new"), [((3,), (4,)), ((3, 1), (3, 3))])
def test_a_parameter_that_changed_shape_is_named_with_both_shapes(name, old, new):
    keep, w = param(2), param(*old)
    opt = OPTIMIZERS[name]([keep, w])
    keep.grad, w.grad = np.ones(2), np.ones(old)
    opt.step()
    w.data, w.grad, keep.grad = np.ones(new), np.ones(new), np.ones(2)
    before = keep.data.copy()
    with pytest.raises(ValueError, match=rf"params\[1\] has shape {re_shape(new)}, but its optimizer state "
                                         rf"'\w+' has shape {re_shape(old)}"):
        opt.step()
    np.testing.assert_array_equal(keep.data, before)  # params[0] was not updated either
    if "step" in opt.state[1]:
        assert int(opt.state[1]["step"]) == 1


def re_shape(shape):
    return str(shape).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_read_only_parameter_is_named(name):
    keep, w = param(2), param(3)
    opt = OPTIMIZERS[name]([keep, w])
    w.data.flags.writeable = False
    keep.grad, w.grad = np.ones(2), np.ones(3)
    with pytest.raises(ValueError, match=r"params\[1\] has read-only data \(shape \(3,\)\)"):
        opt.step()
    np.testing.assert_array_equal(keep.data, np.ones(2))
    assert opt.state[0] == {}
