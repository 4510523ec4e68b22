"""gradcheck's user-facing behaviour: unknown op names, low-precision inputs, and a failed backward."""

import warnings

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv.registry import Op


def test_gradcheck_op_on_an_unknown_name_says_so():
    with pytest.raises(ValueError, match=r"no op named 'no_such_op' is registered; known ops: \[.*'conv2d'"):
        tc.gradcheck_op("no_such_op")
    with pytest.raises(TypeError, match="op must be an Op or a registered op's name, got int"):
        tc.gradcheck_op(3)
    assert tc.gradcheck_op("relu") >= 1


def test_float32_inputs_are_checked_in_float64_with_a_warning(rng):
    x32 = tc.Tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    w64 = tc.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    with pytest.warns(UserWarning, match=r"gradcheck needs float64.*input 0 \(float32\)"):
        assert tc.gradcheck(lambda a, b: (a * b).sum_of_squares(), [x32, w64])
    assert x32.dtype == np.float32 and x32.grad is None  # the caller's tensor is left as it was
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tc.gradcheck(lambda a, b: (a * b).sum_of_squares(), [w64, tc.Tensor(w64.data.copy())])


def test_gradcheck_still_catches_a_wrong_gradient_in_float32_inputs():
    wrong = Op("wrong_double", lambda x: (2 * x, None), lambda g, saved, needs_grad: (3 * g,), ("x",))
    x = tc.Tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.warns(UserWarning), pytest.raises(tc.GradcheckError, match="input 0"):
        tc.gradcheck(lambda t: wrong(t), [x])


def test_backward_after_a_failed_backward_says_what_happened():
    calls = []

    def flaky_vjp(g, saved, needs_grad):
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("a bug in this vjp")
        return (2 * g,)

    flaky = Op("flaky_double", lambda x: (2 * x, None), flaky_vjp, ("x",))
    x = tc.Tensor(np.ones(3), requires_grad=True)
    loss = (flaky(x) * 3).sum()  # the mul and sum nodes are released before the flaky vjp raises
    with pytest.raises(ZeroDivisionError):
        loss.backward()
    with pytest.raises(RuntimeError, match="earlier backward\\(\\) raised part-way.*run the forward again") as info:
        loss.backward()
    assert "retain_graph" not in str(info.value)
    loss = (flaky(x) * 3).sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad, np.full(3, 6.0))
    with pytest.raises(RuntimeError, match="retain_graph=True"):  # a real second backward keeps its message
        loss.backward()
