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
        tc.registry.unregister("cube_test")


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
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'other'"):
        tc.add(tc.Tensor(1.0))
    with pytest.raises(TypeError, match="unexpected keyword"):
        tc.relu(tc.Tensor(1.0), alpha=2)


def test_a_wrong_vjp_shape_is_an_error_not_a_silent_gradient():
    bad = tc.register_op("bad_vjp_test", lambda x: (x * 2, None), lambda g, s, n: (np.ones(5),))
    try:
        x = tc.Tensor(np.ones((2, 3)), requires_grad=True)
        with pytest.raises(ValueError, match=r"bad_vjp_test.*\(5,\).*'x'.*\(2, 3\)"):
            bad(x).sum_of_squares().backward()
    finally:
        tc.registry.unregister("bad_vjp_test")


def test_gradcheck_reports_the_worst_element():
    wrong = tc.register_op("wrong_grad_test", lambda x: (x**2, x), lambda g, x, n: (2 * x * g + (x > 0.5),),
                           method=False)
    try:
        x = tc.Tensor(np.array([0.1, 0.9, 0.2]), requires_grad=True)
        with pytest.raises(tc.GradcheckError, match=r"index \(1,\).*analytic.*numeric"):
            tc.gradcheck(wrong, [x])
    finally:
        tc.registry.unregister("wrong_grad_test")


def test_gradcheck_argument_errors():
    with pytest.raises(ValueError, match="requires_grad"):
        tc.gradcheck(tc.relu, [tc.Tensor([1.0])])
    with pytest.raises(TypeError, match="list or tuple"):
        tc.gradcheck(tc.relu, tc.Tensor([1.0], requires_grad=True))


@pytest.mark.parametrize("name", sorted(tc.OPS))
def test_every_op_is_safe_from_in_place_edits_after_forward(name):
    """Editing inputs' and the output's .data in place after the forward never changes the gradient."""
    op = tc.OPS[name]
    for sample in op.samples(np.random.default_rng(2)):
        attrs = {**op.defaults, **sample.attrs}
        clean = sample_tensors(sample)
        out = op(*clean, **attrs)
        projection = np.random.default_rng(3).standard_normal(out.shape)
        out.backward(projection)

        edited = sample_tensors(sample)
        out = op(*edited, **attrs)
        for t in [*edited, out]:
            if isinstance(t, tc.Tensor):
                t.data[...] = 7.0
        out.backward(projection)
        for before, after in zip(clean, edited):
            if isinstance(before, tc.Tensor):
                np.testing.assert_array_equal(after.grad, before.grad, err_msg=name)


@pytest.mark.parametrize("name", sorted(tc.OPS))
def test_no_op_writes_into_the_gradient_it_is_given(name):
    """backward(g) hands the caller's g to the vjps without a copy, so no vjp may write into it."""
    op = tc.OPS[name]
    for sample in op.samples(np.random.default_rng(4)):
        out = op(*sample_tensors(sample), **{**op.defaults, **sample.attrs})
        g = np.random.default_rng(5).standard_normal(out.shape).astype(out.dtype)
        g.flags.writeable = False  # any write into it raises
        out.backward(g)


def test_backward_leaves_no_alias_of_the_seed_in_a_grad():
    x = tc.Tensor(np.ones(3), requires_grad=True)
    g = np.arange(3.0)
    (x + 0.0).backward(g)
    g[...] = 100.0
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 2.0])


def test_a_saved_list_or_dict_is_protected_too():
    for pack, unpack in ((lambda x: [x], lambda s: s[0]), (lambda x: {"x": x}, lambda s: s["x"])):
        square = tc.register_op("square_saved_test", lambda x, pack=pack: (x * x, pack(x)),
                                lambda g, s, n, unpack=unpack: (2 * unpack(s) * g,), method=False)
        try:
            x = tc.Tensor([1.0, 2.0, 3.0], requires_grad=True)
            y = square(x)
            x.data[...] = 100.0
            y.backward(np.ones(3))
            np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])
        finally:
            tc.registry.unregister("square_saved_test")


def test_none_is_accepted_only_for_optional_inputs():
    with pytest.raises(TypeError, match="argument 'input'.*None"):
        tc.conv2d(None, tc.Tensor(np.ones((2, 2))))
    with pytest.raises(TypeError, match="argument 'other'.*None"):
        tc.Tensor(1.0) + None
    assert tc.conv2d(np.ones((3, 3)), np.ones((2, 2)), None).shape == (2, 2)
    with pytest.raises(ValueError, match="optional"):
        tc.register_op("bad_optional_test", cube_forward, cube_vjp, optional=("y",))


def test_gradcheck_handles_non_contiguous_inputs():
    x = tc.Tensor(np.ones((4, 3)), requires_grad=True)
    x.data = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    assert tc.gradcheck(lambda t: t * t, [x])
    y = tc.Tensor(np.ones((3, 4)), requires_grad=True)
    y.data = np.arange(12.0).reshape(4, 3).T  # a transposed view
    assert tc.gradcheck(lambda t: t.sigmoid(), [y])


def test_an_op_registered_after_import_is_tc_name_and_required_dims_take_their_alias():
    pick = tc.register_op("pick_test", lambda x, *, dim, keepdim: np.take(x, 0, axis=dim),
                          lambda g, s, n, **a: (None,), defaults={"dim": tc.REQUIRED, "keepdim": False}, method=False)
    try:
        assert tc.pick_test is pick
        x = np.arange(6.0).reshape(2, 3)
        np.testing.assert_array_equal(pick(x, 1).data, [0, 3])
        np.testing.assert_array_equal(pick(x, axis=0).data, [0, 1, 2])
        with pytest.raises(TypeError, match="missing required argument 'dim'"):
            pick(x)
        with pytest.raises(TypeError, match="both dim=1 and its alias axis=0"):
            pick(x, 1, axis=0)
    finally:
        tc.registry.unregister("pick_test")
    with pytest.raises(AttributeError, match="pick_test"):
        tc.pick_test  # noqa: B018
