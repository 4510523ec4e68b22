"""Wrong calls a new user makes: each must raise ValueError or TypeError naming the argument (and the shapes),
never an IndexError, KeyError, AssertionError or a bare numpy error."""

import io

import numpy as np
import pytest

import tinygrad_conv as tc

nn = tc.nn


def _x4():
    return tc.randn(2, 3, 8, 8)


def _x2():
    return tc.randn(4, 5, requires_grad=True)


def _sgd_step_with_wrong_grad():
    p = tc.randn(3, requires_grad=True)
    opt = tc.optim.SGD([p], lr=0.1)
    p.grad = np.zeros(4)
    opt.step()


CASES = [
    # nn layers: channels, ranks, dtypes, constructor arguments
    ("Conv2d channels", lambda: nn.Conv2d(4, 2, 3)(_x4()), ValueError, r"channel mismatch.*\(2, 3, 8, 8\)"),
    ("Conv2d rank", lambda: nn.Conv2d(3, 2, 3)(tc.randn(5)), ValueError, r"x must be .*got x \(5,\)"),
    ("Conv2d dtype", lambda: nn.Conv2d(3, 2, 3)(_x4().float()), TypeError, r"float32.*float64"),
    ("Conv2d kernel 0", lambda: nn.Conv2d(3, 2, 0), ValueError, r"kernel_size must be >= 1"),
    ("Conv2d float channels", lambda: nn.Conv2d(3.0, 2, 3), TypeError, r"in_channels must be an int"),
    ("Conv2d input too small", lambda: nn.Conv2d(3, 2, 5)(tc.randn(1, 3, 2, 2)), ValueError, r"larger than the padded"),
    ("ConvTranspose2d channels", lambda: nn.ConvTranspose2d(4, 2, 3)(_x4()), ValueError, r"channel mismatch"),
    ("Conv1d rank", lambda: nn.Conv1d(3, 2, 3)(_x4()), ValueError, r"conv1d: x must be .*\(2, 3, 8, 8\)"),
    ("BatchNorm2d channels", lambda: nn.BatchNorm2d(4)(_x4()), ValueError, r"running_mean.*\(2, 3, 8, 8\)"),
    ("BatchNorm2d rank", lambda: nn.BatchNorm2d(3)(tc.randn(4, 5)), ValueError, r"expected 4D input.*\(4, 5\)"),
    ("BatchNorm1d one value", lambda: nn.BatchNorm1d(3)(tc.randn(1, 3)), ValueError, r"more than 1 value.*\(1, 3\)"),
    ("BatchNorm2d affine int", lambda: nn.BatchNorm2d(3, affine=1), TypeError, r"affine must be a bool"),
    ("Linear features", lambda: nn.Linear(3, 2)(tc.randn(4, 5)), ValueError, r"in_features=3.*|\(4, 5\)"),
    ("Linear 0-d", lambda: nn.Linear(3, 2)(tc.tensor(1.0)), ValueError, r"input of shape \(\)"),
    ("Linear negative", lambda: nn.Linear(-1, 2), ValueError, r"in_features must be >= 1"),
    ("LayerNorm shape", lambda: nn.LayerNorm(3)(tc.randn(4, 5)), ValueError, r"normalized_shape.*\(4, 5\)"),
    ("GroupNorm channels", lambda: nn.GroupNorm(2, 4)(_x4()), ValueError, r"\(2, 3, 8, 8\)"),
    ("MaxPool2d rank", lambda: nn.MaxPool2d(2)(tc.randn(5)), ValueError, r"input must be .*\(5,\)"),
    ("MaxPool2d ceil_mode int", lambda: nn.MaxPool2d(2, ceil_mode=1), TypeError, r"ceil_mode must be a bool"),
    ("AdaptiveAvgPool2d 3 sizes", lambda: nn.AdaptiveAvgPool2d((1, 2, 3))(_x4()), TypeError, r"output_size"),
    ("Flatten dim", lambda: nn.Flatten(5)(_x4()), ValueError, r"start_dim=5 .*\(2, 3, 8, 8\)"),
    ("ReLU inplace int", lambda: nn.ReLU(inplace=1), TypeError, r"inplace must be a bool"),
    # losses: targets
    ("cross_entropy class", lambda: tc.cross_entropy(tc.randn(4, 5), np.array([0, 1, 2, 9])), ValueError,
     r"outside \[0, 5\)"),
    ("cross_entropy target shape", lambda: tc.cross_entropy(tc.randn(4, 5), np.array([0, 1])), ValueError,
     r"target must have shape \(4,\).*\(4, 5\)"),
    ("cross_entropy float target", lambda: tc.cross_entropy(tc.randn(4, 5), np.zeros((4, 3))), TypeError, r"target"),
    ("cross_entropy str target", lambda: tc.cross_entropy(tc.randn(4, 5), "a"), TypeError, r"target"),
    ("cross_entropy weight", lambda: tc.cross_entropy(tc.randn(4, 5), np.arange(4), weight=np.ones(3)), ValueError,
     r"weight must have shape \(5,\)"),
    ("cross_entropy 0-d input", lambda: tc.cross_entropy(tc.tensor(1.0), np.array(0)), ValueError, r"input must be"),
    ("cross_entropy reduction", lambda: tc.cross_entropy(tc.randn(4, 5), np.arange(4), reduction="avg"), ValueError,
     r"reduction must be one of"),
    ("nll_loss negative class", lambda: tc.nll_loss(tc.randn(4, 5), np.array([0, 1, 2, -3])), ValueError, r"-3"),
    ("nll_loss bool target", lambda: tc.nll_loss(tc.randn(4, 5), np.ones(4, bool)), TypeError, r"target"),
    ("mse_loss shapes", lambda: tc.mse_loss(tc.randn(4, 5), np.zeros((3, 5))), ValueError, r"\(4, 5\).*\(3, 5\)"),
    ("binary_cross_entropy range", lambda: tc.binary_cross_entropy(tc.randn(4, 5) * 10, np.zeros((4, 5))),
     ValueError, r"probabilities"),
    ("kl_div shapes", lambda: tc.kl_div(tc.randn(4, 5), np.zeros((2, 5))), ValueError, r"\(4, 5\).*\(2, 5\)"),
    ("MSELoss reduction", lambda: nn.MSELoss(reduction="avg"), ValueError, r"reduction must be one of"),
    ("one_hot negative", lambda: tc.one_hot(np.array([-1, 0])), ValueError, r"non-negative"),
    # shape ops: dims
    ("reshape size", lambda: _x2().reshape(3, 3), ValueError, r"\(4, 5\).*\(3, 3\)"),
    ("permute repeat", lambda: _x2().permute(0, 0), ValueError, r"permutation.*\(4, 5\)"),
    ("transpose dim", lambda: _x2().transpose(0, 5), ValueError, r"dim1=5 .*\(4, 5\)"),
    ("sum dim", lambda: _x2().sum(dim=3), ValueError, r"dim 3 .*\(4, 5\)"),
    ("sum dim str", lambda: _x2().sum(dim="a"), TypeError, r"dim must be"),
    ("sum keepdim int", lambda: _x2().sum(dim=0, keepdim=1), TypeError, r"keepdim must be a bool"),
    ("max dim", lambda: _x2().max(dim=5), ValueError, r"dim 5 .*\(4, 5\)"),
    ("softmax dim", lambda: tc.softmax(_x2(), 3), ValueError, r"dim=3 .*\(4, 5\)"),
    ("cat shapes", lambda: tc.cat([_x2(), tc.randn(3, 4)]), ValueError, r"\(3, 4\).*\(4, 5\)"),
    ("stack shapes", lambda: tc.stack([_x2(), tc.randn(3, 4)]), ValueError, r"\(4, 5\), \(3, 4\)"),
    ("split sections", lambda: tc.split(_x2(), [1, 1]), ValueError, r"\(4, 5\)"),
    ("chunk 0", lambda: tc.chunk(_x2(), 0), ValueError, r"chunks"),
    ("expand", lambda: _x2().expand(3, 5), ValueError, r"\(4, 5\).*\(3, 5\)"),
    ("squeeze dim", lambda: _x2().squeeze(4), ValueError, r"dim=4 .*\(4, 5\)"),
    ("unsqueeze dim", lambda: _x2().unsqueeze(4), ValueError, r"dim=4 .*\(4, 5\)"),
    ("matmul", lambda: _x2() @ tc.randn(4, 5), ValueError, r"\(4, 5\)"),
    ("add broadcast", lambda: _x2() + tc.randn(3), ValueError, r"\(4, 5\) and \(3,\)"),
    ("backward non-scalar", lambda: (_x2() * 1).backward(), ValueError, r"\(4, 5\)"),
    ("backward gradient shape", lambda: (_x2() * 1).backward(np.zeros(3)), ValueError, r"\(3,\).*\(4, 5\)"),
    # optimizers
    ("SGD no params", lambda: tc.optim.SGD([], lr=0.1), ValueError, r"params is empty"),
    ("SGD array param", lambda: tc.optim.SGD([np.zeros(3)], lr=0.1), TypeError, r"params\[0\] must be a Tensor"),
    ("SGD int params", lambda: tc.optim.SGD(5, lr=0.1), TypeError, r"params must be"),
    ("SGD negative lr", lambda: tc.optim.SGD(nn.Linear(2, 2).parameters(), lr=-1), ValueError, r"lr must be >= 0"),
    ("SGD nesterov int", lambda: tc.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9, nesterov=1),
     TypeError, r"nesterov must be a bool"),
    ("Adam betas", lambda: tc.optim.Adam(nn.Linear(2, 2).parameters(), betas=(0.9,)), TypeError, r"betas"),
    ("SGD wrong grad", _sgd_step_with_wrong_grad, ValueError, r"params\[0\]\.grad.*\(3,\)"),
    # save / load
    ("save not a mapping", lambda: tc.save([1, 2], io.BytesIO()), TypeError, r"state_dict must be a mapping"),
    ("save str value", lambda: tc.save({"a": "str"}, io.BytesIO()), TypeError, r"state_dict\['a'\]"),
    ("load file object", lambda: tc.load(io.BytesIO(b"garbage")), TypeError, r"path must be a file name"),
    ("load_state_dict shape", lambda: nn.Linear(2, 2).load_state_dict({"weight": np.zeros((3, 3)),
                                                                        "bias": np.zeros(2)}),
     ValueError, r"weight: expected \(2, 2\), got \(3, 3\)"),
    ("load_state_dict missing", lambda: nn.Linear(2, 2).load_state_dict({"weight": np.zeros((2, 2))}), ValueError,
     r"missing keys \['bias'\]"),
    ("load_state_dict ragged", lambda: nn.Linear(2, 2).load_state_dict({"weight": [[1], [1, 2]],
                                                                         "bias": np.zeros(2)}),
     ValueError, r"state_dict\['weight'\]"),
    # factories
    ("zeros negative", lambda: tc.zeros(-1, 2), ValueError, r"zeros: size must be >= 0"),
    ("zeros float", lambda: tc.zeros(2.5), TypeError, r"zeros: size must be an int"),
    ("zeros too large", lambda: tc.zeros(2**62, 2**62), ValueError, r"zeros: size .* more elements"),
    ("ones nested", lambda: tc.ones((2, (3,))), TypeError, r"ones: size"),
    ("randn negative", lambda: tc.randn(2, -3), ValueError, r"randn: size"),
    ("full fill str", lambda: tc.full((2,), "x"), TypeError, r"fill_value"),
    ("eye negative", lambda: tc.eye(-1), ValueError, r"eye: n"),
    ("arange step 0", lambda: tc.arange(0, 5, 0), ValueError, r"arange: step"),
    ("linspace negative", lambda: tc.linspace(0, 1, -2), ValueError, r"linspace: steps"),
    ("tensor ragged", lambda: tc.tensor([[1, 2], [3]]), ValueError, r"ragged"),
    ("tensor str", lambda: tc.tensor("abc"), TypeError, r"numeric"),
    ("tensor complex", lambda: tc.tensor([1j]), TypeError, r"numeric"),
    ("ones_like str", lambda: tc.ones_like("abc"), TypeError, r"ones_like: input"),
    ("randn generator", lambda: tc.randn(2, generator=5), TypeError, r"generator"),
    # indexing
    ("index out of range", lambda: _x2()[10], ValueError, r"\[10\].*\(4, 5\)"),
    ("negative index", lambda: _x2()[:, -9], ValueError, r"\(4, 5\)"),
    ("too many indices", lambda: _x2()[0, 0, 0], ValueError, r"\(4, 5\)"),
    ("float index", lambda: _x2()[1.5], TypeError, r"index"),
    ("str index", lambda: _x2()["a"], TypeError, r"index"),
    ("list index out of range", lambda: _x2()[[0, 7]], ValueError, r"\(4, 5\)"),
    ("bool mask shape", lambda: _x2()[np.array([True, False])], ValueError, r"\(4, 5\)"),
    ("float array index", lambda: _x2()[np.array([0.5])], TypeError, r"float64"),
    ("float Tensor index", lambda: _x2()[tc.tensor([0.0, 1.0])], TypeError, r"index"),
    ("step 0", lambda: _x2()[::0], ValueError, r"step"),
    ("two ellipses", lambda: _x2()[..., ...], ValueError, r"ellipsis"),
    ("size() dim", lambda: _x2().size(5), ValueError, r"dim=5 .*\(4, 5\)"),
]


@pytest.mark.parametrize("call, error, match", [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_call_names_the_problem(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert isinstance(info.value, (ValueError, TypeError))
    assert not isinstance(info.value, (KeyError, AssertionError))


def test_enough_cases():
    assert len(CASES) >= 30
