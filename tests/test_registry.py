"""Every registered op is gradchecked on its declared samples: no op lands without a gradient check."""

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv.gradcheck import sample_tensors


@pytest.mark.parametrize("name", sorted(tc.OPS))
def test_every_registered_op_passes_gradcheck(name):
    op = tc.OPS[name]
    assert op.samples is not None, f"op {name!r} declares no samples"
    assert tc.gradcheck_op(op, np.random.default_rng(0)) >= 1


@pytest.mark.parametrize("name", sorted(tc.OPS))
def test_every_op_keeps_float32(name):
    op = tc.OPS[name]
    for sample in op.samples(np.random.default_rng(1)):
        inputs = [t if not isinstance(t, tc.Tensor) else tc.Tensor(t.data, requires_grad=True, dtype=np.float32)
                  for t in sample_tensors(sample)]
        out = op(*inputs, **{**op.defaults, **sample.attrs})
        assert out.dtype == np.float32, f"{name} turned float32 into {out.dtype}"
        out.backward(np.ones(out.shape, np.float32))
        for t in inputs:
            if isinstance(t, tc.Tensor) and t.grad is not None:
                assert t.grad.dtype == np.float32 and t.grad.shape == t.shape


def cube_forward(x):
    return x**3, x


def cube_vjp(g, x, needs_grad):
    return (3 * x**2 * g,)


def test_user_registered_op_works_in_backward_gradcheck_and_method(rng):
    cube = tc.register_op("cube_test", cube_forward, cube_vjp,
                          samples=lambda r: [tc.Sample((r.standard_normal((2, 3)),))])
    try:
        x = tc.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
        cube(x).sum_of_squares().backward()
        np.testing.assert_allclose(x.grad, 6 * x.data**5)
        assert x.cube_test().shape == (2, 3)
        assert tc.gradcheck_op("cube_test") == 1
        assert cube(x).node.op is tc.get_op("cube_test")
    finally:
        del tc.OPS["cube_test"]
        delattr(tc.Tensor, "cube_test")


def test_register_op_rejects_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="already registered"):
        tc.register_op("relu", cube_forward, cube_vjp)
    with pytest.raises(ValueError, match="identifier"):
        tc.register_op("not a name", cube_forward, cube_vjp)
    with pytest.raises(ValueError, match="Tensor already has"):
        tc.register_op("backward", cube_forward, cube_vjp)
    with pytest.raises(TypeError, match="callable"):
        tc.register_op("cube_bad", 3, cube_vjp)
    with pytest.raises(ValueError, match="no op named"):
        tc.get_op("nope")


def test_functional_arity_and_unknown_attrs():
    with pytest.raises(TypeError, match="takes 2 tensor"):
        tc.add(tc.Tensor(1.0))
    with pytest.raises(TypeError, match="unexpected keyword"):
        tc.relu(tc.Tensor(1.0), alpha=2)


def test_a_wrong_vjp_shape_is_an_error_not_a_silent_gradient():
    bad = tc.register_op("bad_vjp_test", lambda x: (x * 2, None), lambda g, s, n: (np.ones(5),))
    try:
        x = tc.Tensor(np.ones((2, 3)), requires_grad=True)
        with pytest.raises(RuntimeError, match="bad_vjp_test"):
            bad(x).sum_of_squares().backward()
    finally:
        del tc.OPS["bad_vjp_test"]
        delattr(tc.Tensor, "bad_vjp_test")


def test_gradcheck_reports_the_worst_element():
    wrong = tc.register_op("wrong_grad_test", lambda x: (x**2, x), lambda g, x, n: (2 * x * g + (x > 0.5),),
                           method=False)
    try:
        x = tc.Tensor(np.array([0.1, 0.9, 0.2]), requires_grad=True)
        with pytest.raises(tc.GradcheckError, match=r"index \(1,\).*analytic.*numeric"):
            tc.gradcheck(wrong, [x])
    finally:
        del tc.OPS["wrong_grad_test"]


def test_gradcheck_argument_errors():
    with pytest.raises(ValueError, match="requires_grad"):
        tc.gradcheck(tc.relu, [tc.Tensor([1.0])])
    with pytest.raises(TypeError, match="list or tuple"):
        tc.gradcheck(tc.relu, tc.Tensor([1.0], requires_grad=True))
