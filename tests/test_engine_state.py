"""Engine state a user can trust: grad mode per thread, validated op results, floating dtypes only, relu's edges."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_conv as tc


# --- grad mode is per thread ------------------------------------------------------------
def test_no_grad_in_one_thread_never_touches_another():
    w = tc.Tensor(np.ones(3), requires_grad=True)
    stop, lost, steps = threading.Event(), [], []

    def evaluator() -> None:
        while not stop.is_set():
            with tc.no_grad():
                (w * 2).sum()

    thread = threading.Thread(target=evaluator)
    thread.start()
    try:
        for _ in range(2000):
            w.grad = None
            (w * w).sum().backward()
            steps.append(1)
            if w.grad is None:
                lost.append(1)
    finally:
        stop.set()
        thread.join()
    assert not lost and len(steps) == 2000


def test_a_new_thread_starts_with_grad_on_even_inside_no_grad():
    seen = []
    with tc.no_grad():
        thread = threading.Thread(target=lambda: seen.append(tc.is_grad_enabled()))
        thread.start()
        thread.join()
        assert not tc.is_grad_enabled()
    assert seen == [True]


def test_enable_grad_and_set_grad_enabled_as_context_managers_functions_and_decorators():
    x = tc.Tensor(1.0, requires_grad=True)
    with tc.no_grad():
        with tc.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    with tc.set_grad_enabled(False):
        assert not tc.is_grad_enabled()
    assert tc.is_grad_enabled()
    tc.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        tc.set_grad_enabled(True)

    @tc.set_grad_enabled(False)
    def evaluate():
        return tc.is_grad_enabled()

    @tc.enable_grad()
    def train():
        return tc.is_grad_enabled()

    assert tc.is_grad_enabled() and evaluate() is False and tc.is_grad_enabled()
    with tc.no_grad():
        assert train() is True
    with pytest.raises(TypeError, match="mode must be a bool"):
        tc.set_grad_enabled("no")


# --- register_op validates what forward and vjp return --------------------------------------
@pytest.fixture
def scratch_op():
    names = []

    def register(forward, vjp=lambda g, s, n: (g,)):
        name = f"scratch_{len(names)}_{id(forward) % 10_000}"
        names.append(name)
        return tc.register_op(name, forward, vjp, method=False)

    yield register
    for name in names:
        tc.registry.unregister(name)


@pytest.mark.parametrize("result, message", [
    ([1.0, 2.0], "forward must return a floating ndarray, got list"),
    (3, "forward must return a floating ndarray, got int"),
    ("x", "forward must return a floating ndarray, got str"),
    (np.arange(3), "floating ndarray, got dtype int64"),
    ((np.ones(2), None, None), "tuple of 3"),
])
def test_forward_results_are_checked(scratch_op, result, message):
    op = scratch_op(lambda x: result)
    with pytest.raises(TypeError, match=f"op 'scratch.*{message}"):
        op(tc.Tensor(np.ones(2)))


def test_a_bare_array_from_forward_is_the_output_not_its_first_row(scratch_op):
    op = scratch_op(lambda x: x * 2)
    out = op(tc.Tensor(np.ones((2, 3)), requires_grad=True))
    assert out.shape == (2, 3)
    out.backward(np.ones((2, 3)))


@pytest.mark.parametrize("vjp, message", [
    (lambda g, s, n: [g], "vjp must return a tuple"),
    (lambda g, s, n: g, "vjp must return a tuple"),
    (lambda g, s, n: (g, g), "returned 2 gradient.*for 1 input"),
    (lambda g, s, n: (None,), "returned None for input 'x', which needs a gradient"),
    (lambda g, s, n: ("grad",), "returned str"),
])
def test_vjp_results_are_checked(scratch_op, vjp, message):
    op = scratch_op(lambda x: x * 2, vjp)
    x = tc.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match=message):
        op(x).sum().backward()
    assert x.grad is None


def test_a_vjp_gradient_of_a_wrong_shape_names_op_input_and_shapes(scratch_op):
    op = scratch_op(lambda x: x * 2, lambda g, s, n: (np.ones(5),))
    with pytest.raises(ValueError, match=r"'scratch.*\(5,\).*'x'.*\(2, 3\)"):
        op(tc.Tensor(np.ones((2, 3)), requires_grad=True)).sum().backward()


def test_after_a_vjp_raised_the_message_does_not_blame_retain_graph(scratch_op):
    calls = []

    def flaky(g, s, n):
        calls.append(1)
        if len(calls) == 1:
            raise ArithmeticError("boom")
        return (g,)

    op = scratch_op(lambda x: x * 2, flaky)
    x = tc.Tensor(np.ones(3), requires_grad=True)
    loss = op(x * 3).sum()
    with pytest.raises(ArithmeticError):
        loss.backward()
    with pytest.raises(RuntimeError, match="raised part-way") as error:
        loss.backward()
    assert "retain_graph" not in str(error.value)


# --- floating dtypes only ---------------------------------------------------------------------
def test_ints_and_bools_become_the_default_float_dtype():
    assert tc.Tensor([1, 2]).dtype == np.float64 and tc.Tensor(np.array([True])).dtype == np.float64
    t = tc.Tensor([1.5, 2.5])
    t.data = np.array([1, 2])
    assert t.dtype == np.float64
    assert (t * 0.5).data.tolist() == [0.5, 1.0]  # later scalar ops do not truncate
    with pytest.raises(TypeError, match="data must be"):
        t.data = "abc"


def test_set_default_dtype_changes_new_tensors_and_layers():
    previous = tc.get_default_dtype()
    tc.set_default_dtype(np.float32)
    try:
        assert tc.Tensor([1, 2]).dtype == np.float32 and tc.Tensor(1.5).dtype == np.float32
        assert tc.nn.Conv2d(1, 2, 3).weight.dtype == np.float32 and tc.nn.Linear(2, 3).bias.dtype == np.float32
        assert tc.Tensor(np.zeros(2)).dtype == np.float64  # a floating array keeps its dtype
    finally:
        tc.set_default_dtype(previous)
    with pytest.raises(TypeError, match="float32 or float64"):
        tc.set_default_dtype(np.int32)


@pytest.mark.parametrize("layer", [lambda d: tc.nn.Conv2d(1, 2, 3, dtype=d), lambda d: tc.nn.Linear(2, 3, dtype=d)])
def test_integer_layer_dtypes_are_refused_not_zeroed(layer):
    with pytest.raises(TypeError, match="float32 or float64"):
        layer(np.int64)
    assert layer(np.float32).weight.dtype == np.float32


def test_a_float32_model_refuses_a_float64_input_instead_of_upcasting():
    conv, linear = tc.nn.Conv2d(1, 2, 3, dtype=np.float32), tc.nn.Linear(4, 2, dtype=np.float32)
    with pytest.raises(TypeError, match="Conv2d: the input is float64 but the layer's weights are float32"):
        conv(np.zeros((1, 1, 5, 5)))
    with pytest.raises(TypeError, match="Linear: the input is float64"):
        linear(tc.Tensor(np.zeros((1, 4))))
    assert conv(np.zeros((1, 1, 5, 5), np.float32)).dtype == np.float32
    assert linear([[1, 2, 3, 4]]).dtype == np.float32  # a list takes the weights' dtype


def test_huge_ints_are_a_value_error():
    with pytest.raises(ValueError, match="too large"):
        tc.Tensor(10**400)


# --- relu's edges, as PyTorch ------------------------------------------------------------------
def test_relu_of_minus_inf_is_zero_never_negative_zero_and_nan_stays_nan():
    out = tc.relu(tc.Tensor([-np.inf, -2.0, -0.0, 0.0, 3.0, np.inf, np.nan])).data
    np.testing.assert_array_equal(out[:6], [0, 0, 0, 0, 3, np.inf])
    assert not np.signbit(out[:4]).any() and np.isnan(out[6])
    x = tc.Tensor([-np.inf, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 0, 1])
