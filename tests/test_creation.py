"""Factories (tc.zeros, tc.arange, tc.randn_like, ...) against numpy and PyTorch, and the one process-wide seed."""

import numpy as np
import pytest

import tinygrad_conv as tc


@pytest.fixture
def default_dtype():
    """Restore the default dtype after a test that changes it."""
    previous = tc.get_default_dtype()
    yield
    tc.set_default_dtype(previous)


SIZED = ["zeros", "ones", "empty", "rand", "randn"]


@pytest.mark.parametrize("name", SIZED)
def test_sized_factories_take_varargs_or_one_sequence(name):
    make = getattr(tc, name)
    for size in [(2, 3), ((2, 3),), ([2, 3],), (np.int64(2), 3)]:
        t = make(*size)
        assert isinstance(t, tc.Tensor) and t.shape == (2, 3) and t.dtype == np.float64
        assert t.is_leaf and not t.requires_grad
    assert make().shape == () and make(()).shape == () and make(0, 4).shape == (0, 4)


@pytest.mark.parametrize("name", SIZED)
def test_sized_factories_dtype_device_and_requires_grad(name, default_dtype):
    make = getattr(tc, name)
    assert make(2, dtype=np.float32).dtype == np.float32 and make(2, dtype="float32").dtype == np.float32
    assert make(2, dtype=tc.float32).dtype == np.float32
    t = make(2, requires_grad=True, device="cpu")
    assert t.requires_grad and t.is_leaf
    tc.set_default_dtype(np.float32)
    assert make(2).dtype == np.float32
    with pytest.raises(TypeError, match="floating dtype"):
        make(2, dtype=np.int64)
    with pytest.raises(ValueError, match="device must be 'cpu'"):
        make(2, device="cuda")
    with pytest.raises(ValueError, match="size must be >= 0"):
        make(2, -1)
    with pytest.raises(TypeError, match="size must be an int"):
        make(2.0)
    with pytest.raises(TypeError, match="requires_grad"):
        make(2, requires_grad=1)


def test_values():
    np.testing.assert_array_equal(tc.zeros(2, 3).data, np.zeros((2, 3)))
    np.testing.assert_array_equal(tc.ones(2, 3).data, np.ones((2, 3)))
    np.testing.assert_array_equal(tc.full((2, 3), 7).data, np.full((2, 3), 7.0))
    np.testing.assert_array_equal(tc.full(3, -np.inf).data, np.full(3, -np.inf))
    np.testing.assert_array_equal(tc.full([2], True).data, [1.0, 1.0])
    np.testing.assert_array_equal(tc.full((2,), tc.Tensor(2.5)).data, [2.5, 2.5])
    np.testing.assert_array_equal(tc.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(tc.eye(2, 4).data, np.eye(2, 4))
    r = tc.rand(1000)
    assert 0 <= r.data.min() and r.data.max() < 1 and 0.4 < r.data.mean() < 0.6
    n = tc.randn(4000)
    assert abs(n.data.mean()) < 0.1 and 0.9 < n.data.std() < 1.1
    with pytest.raises(TypeError, match="fill_value"):
        tc.full((2,), "a")


def test_tensor_copies_and_converts(rng):
    data = rng.standard_normal((2, 3))
    t = tc.tensor(data, requires_grad=True)
    assert t.requires_grad and t.is_leaf and not np.shares_memory(t.data, data)
    assert tc.tensor([1, 2]).dtype == np.float64 and tc.tensor(np.float32([1])).dtype == np.float32
    assert tc.tensor([1, 2], dtype=np.float32).dtype == np.float32
    source = tc.Tensor([1.0, 2.0], requires_grad=True) * 2
    copy = tc.tensor(source)
    assert copy.is_leaf and not copy.requires_grad and not np.shares_memory(copy.data, source.data)
    with pytest.raises(TypeError):
        tc.tensor("abc")
    with pytest.raises(ValueError, match="device"):
        tc.tensor([1.0], device="cuda:0")


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like", "full_like"])
def test_like_factories_keep_shape_and_floating_dtype(name):
    make = getattr(tc, name)
    args = (3.0,) if name == "full_like" else ()
    for source in (tc.Tensor(np.zeros((2, 3), np.float32)), np.zeros((2, 3), np.float32)):
        out = make(source, *args)
        assert out.shape == (2, 3) and out.dtype == np.float32 and not out.requires_grad
    assert make(np.zeros((4,), np.int64), *args).dtype == tc.get_default_dtype()  # an int array: the default float
    assert make([[1, 2]], *args).shape == (1, 2)
    assert make(tc.zeros(2), *args, dtype=np.float32).dtype == np.float32
    assert make(tc.zeros(2), *args, requires_grad=True).requires_grad
    if name == "full_like":
        np.testing.assert_array_equal(make(tc.zeros(2), 3.0).data, [3.0, 3.0])


@pytest.mark.parametrize(("args", "kwargs"), [
    ((5,), {}), ((2, 7), {}), ((0, 1, 0.1), {}), ((1, 2.5, 0.5), {}), ((-3.0, 3.0, 0.7), {}), ((5, 0, -1), {}),
    ((1.0, 1.0), {}), ((0.0, 1.0, 0.3), {}), ((0, 10), {"step": 3}), ((), {"start": 2, "end": 5}), ((3.5,), {}),
])
def test_arange_matches_pytorch(args, kwargs):
    torch = pytest.importorskip("torch")
    ours = tc.arange(*args, **kwargs)
    theirs = torch.arange(*args, **kwargs, dtype=torch.float64)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float64
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-15)


def test_arange_rejects_bad_steps():
    with pytest.raises(ValueError, match="step must be nonzero"):
        tc.arange(0, 5, 0)
    with pytest.raises(ValueError, match="points away"):
        tc.arange(0, 5, -1)
    with pytest.raises(ValueError, match="finite"):
        tc.arange(0, np.inf)
    with pytest.raises(TypeError, match="end"):
        tc.arange(0, "5")


@pytest.mark.parametrize(("start", "end", "steps"), [(0, 1, 7), (-2.5, 3, 11), (1, 1, 3), (0, 1, 1), (0, 1, 0), (3, -3, 5)])
def test_linspace_matches_pytorch(start, end, steps):
    torch = pytest.importorskip("torch")
    ours = tc.linspace(start, end, steps)
    theirs = torch.linspace(start, end, steps, dtype=torch.float64)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="steps"):
        tc.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="steps"):
        tc.linspace(0, 1, 2.0)


@pytest.mark.parametrize("name", ["zeros", "ones", "eye", "rand", "randn", "empty"])
def test_shapes_and_dtypes_match_pytorch(name):
    torch = pytest.importorskip("torch")
    args = (3, 4)
    ours = getattr(tc, name)(*args, dtype=np.float32)
    theirs = getattr(torch, name)(*args, dtype=torch.float32)
    assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    if name in ("zeros", "ones", "eye"):
        np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_full_like_and_eye_match_pytorch():
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(tc.full((2, 3), 1.5).data, torch.full((2, 3), 1.5, dtype=torch.float64).numpy())
    np.testing.assert_array_equal(tc.eye(3, 5).data, torch.eye(3, 5, dtype=torch.float64).numpy())
    x = torch.zeros(2, 3, dtype=torch.float32)
    assert tc.zeros_like(x).dtype == np.float32 and tc.zeros_like(x).shape == (2, 3)  # a torch tensor as input


# --- the seed -------------------------------------------------------------------------------------------
def test_manual_seed_makes_random_tensors_reproducible():
    tc.manual_seed(7)
    a, b = tc.rand(3), tc.randn(2, 2)
    tc.manual_seed(7)
    np.testing.assert_array_equal(tc.rand(3).data, a.data)
    np.testing.assert_array_equal(tc.randn(2, 2).data, b.data)
    expected = np.random.default_rng(7)
    np.testing.assert_array_equal(a.data, expected.random(3))  # the same stream as np.random.default_rng(seed)


def test_float32_draws_are_the_float64_draws_rounded():
    tc.manual_seed(3)
    a = tc.randn(5)
    tc.manual_seed(3)
    np.testing.assert_array_equal(tc.randn(5, dtype=np.float32).data, a.data.astype(np.float32))


def test_one_seed_for_factories_and_layer_initialization():
    assert tc.nn.init.manual_seed is tc.manual_seed and tc.nn.manual_seed is tc.manual_seed
    assert tc.manual_seed(0) is tc.default_generator and tc.nn.init.get_rng() is tc.default_generator
    tc.manual_seed(0)
    w1, r1 = tc.nn.Linear(4, 3).weight.data.copy(), tc.rand(2)
    tc.nn.init.manual_seed(0)
    w2, r2 = tc.nn.Linear(4, 3).weight.data, tc.rand(2)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(r1.data, r2.data)


def test_a_generator_argument_draws_from_it_alone():
    tc.manual_seed(1)
    expected = tc.rand(3).data
    tc.manual_seed(1)
    tc.rand(4, generator=np.random.default_rng(9))  # leaves the default generator untouched
    np.testing.assert_array_equal(tc.rand(3).data, expected)
    np.testing.assert_array_equal(tc.randn(2, generator=np.random.default_rng(5)).data,
                                  np.random.default_rng(5).standard_normal(2))
    with pytest.raises(TypeError, match="generator"):
        tc.rand(2, generator=5)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "1"])
def test_manual_seed_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        tc.manual_seed(seed)


def test_exported():
    for name in ["tensor", "zeros", "ones", "full", "empty", "rand", "randn", "arange", "linspace", "eye", "zeros_like",
                 "ones_like", "full_like", "rand_like", "randn_like", "manual_seed", "float32", "float64"]:
        assert name in tc.__all__ and hasattr(tc, name)
    assert tc.float is np.float32 and tc.double is np.float64
