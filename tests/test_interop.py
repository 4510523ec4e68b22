"""Tensors in numpy and Python protocols, PyTorch's tensor API, comparisons, repr, and the bridge to PyTorch."""

import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_conv as tc


@pytest.fixture
def float32_default():
    previous = tc.get_default_dtype()
    tc.set_default_dtype(np.float32)
    yield
    tc.set_default_dtype(previous)


# --- numpy's __array__ protocol ---------------------------------------------------------------
def test_asarray_shares_the_data_and_array_copies(rng):
    t = tc.Tensor(rng.standard_normal((2, 3)))
    assert np.asarray(t) is t.data
    copied = np.array(t)
    assert np.array_equal(copied, t.data) and not np.shares_memory(copied, t.data)
    np.testing.assert_allclose(t, t.data)
    np.testing.assert_allclose(np.asarray(t, dtype=np.float32), t.data.astype(np.float32))


def test_array_protocol_copy_argument():
    t = tc.Tensor([1.0, 2.0])
    assert np.asarray(t, copy=False) is t.data
    assert not np.shares_memory(np.asarray(t, copy=True), t.data)
    assert np.asarray(t, dtype=np.float64, copy=False) is t.data
    with pytest.raises(ValueError, match="copy"):
        np.asarray(t, dtype=np.float32, copy=False)


def test_ndarray_operators_defer_to_tensor_and_ufuncs_refuse():
    t = tc.Tensor([1.0, 2.0], requires_grad=True)
    out = np.array([3.0, 4.0]) * t
    assert isinstance(out, tc.Tensor) and out.requires_grad
    with pytest.raises(TypeError):
        np.exp(t)


# --- Python scalars, len, iteration, format -------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_element_tensors_convert_to_python_scalars(shape):
    t = tc.Tensor(np.full(shape, -2.75))
    assert float(t) == -2.75 and type(float(t)) is float
    assert int(t) == -2 and type(int(t)) is int  # truncates toward 0, as int(-2.75)
    assert bool(t) is True and bool(tc.Tensor(np.zeros(shape))) is False


def test_scalar_conversions_of_larger_tensors_raise_as_pytorch():
    t = tc.Tensor([1.0, 2.0])
    for convert in (float, int):
        with pytest.raises(ValueError, match="only one element tensors can be converted to Python scalars"):
            convert(t)
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(t)
    with pytest.raises(RuntimeError, match="with no values is ambiguous"):
        bool(tc.zeros(0))
    with pytest.raises(TypeError):
        [0, 1][tc.Tensor(1.0)]  # no __index__: a float tensor is not an index


def test_scalar_conversion_errors_match_pytorch_types():
    torch = pytest.importorskip("torch")
    for convert in (float, int, bool):
        errors = []
        for module in (torch, tc):
            try:
                convert(module.ones(2))
            except Exception as error:  # noqa: BLE001 - comparing the two libraries' exception types
                errors.append(type(error))
        assert errors[0] is errors[1], convert


def test_len_and_iteration(rng):
    t = tc.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(r, tc.Tensor) and r.shape == (2,) for r in rows)
    weights = [1.0, 2.0, 3.0]
    sum(w * r.sum() for w, r in zip(weights, rows)).backward()  # each row stays in the graph
    np.testing.assert_array_equal(t.grad, np.repeat(np.array(weights)[:, None], 2, axis=1))
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(tc.Tensor(1.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(tc.Tensor(1.0))
    a, b = tc.Tensor([1.0, 2.0])  # unpacking
    assert float(a) == 1.0 and float(b) == 2.0


def test_format():
    assert f"{tc.Tensor(2.5):.3f}" == "2.500"
    assert format(tc.Tensor(np.float32(1 / 3)), ".2e") == "3.33e-01"
    t = tc.Tensor([1.0, 2.0])
    assert f"{t}" == str(t) == repr(t)
    with pytest.raises(TypeError, match="unsupported format string"):
        format(t, ".3f")
    with pytest.raises(TypeError, match="unsupported format string"):
        format(tc.Tensor([1.0]), ".3f")  # as PyTorch: only a 0-d tensor formats its value


# --- PyTorch's tensor API ---------------------------------------------------------------------------
def test_size_is_numpys_count_and_pytorchs_shape(rng):
    t = tc.Tensor(rng.standard_normal((2, 3, 4)))
    assert t.size == 24 and isinstance(t.size, int) and t.size * 2 == 48
    assert t.size() == (2, 3, 4) and t.size(0) == 2 and t.size(-1) == 4 and t.size(dim=1) == 3
    assert t.numel() == 24 and t.dim() == 3 and t.device == "cpu" and t.is_floating_point()
    assert tc.Tensor(1.0).size() == () and tc.Tensor(1.0).size == 1
    with pytest.raises(ValueError, match=r"dim=3 is out of range.*\(2, 3, 4\)"):
        t.size(3)
    with pytest.raises(TypeError, match="dim"):
        t.size(1.0)


def test_size_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    data = rng.standard_normal((2, 3, 4))
    ours, theirs = tc.Tensor(data), torch.tensor(data)
    assert ours.size() == tuple(theirs.size()) and ours.numel() == theirs.numel() and ours.dim() == theirs.dim()
    assert [ours.size(d) for d in range(-3, 3)] == [theirs.size(d) for d in range(-3, 3)]


def test_tolist():
    assert tc.Tensor([[1, 2], [3, 4]]).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert tc.Tensor(2.5).tolist() == 2.5


def test_T_and_mT_are_differentiable(rng):
    x = tc.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    np.testing.assert_array_equal(x.T.data, x.data.T)
    np.testing.assert_array_equal(x.mT.data, np.swapaxes(x.data, -1, -2))
    g = rng.standard_normal((4, 3, 2))
    x.T.backward(g)
    np.testing.assert_array_equal(x.grad, g.T)
    v = tc.Tensor([1.0, 2.0])
    assert v.T is v and tc.Tensor(1.0).T.shape == ()
    with pytest.raises(ValueError, match="mT"):
        v.mT


def test_abs_operator(rng):
    if not hasattr(tc.Tensor, "abs"):
        pytest.skip("the abs op is not registered on this branch")
    x = tc.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    out = abs(x)
    np.testing.assert_array_equal(out.data, np.abs(x.data))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.sign(x.data))


def test_clone_is_a_differentiable_copy(rng):
    x = tc.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = x.clone()
    assert not np.shares_memory(y.data, x.data) and y.node.op.name == "clone"
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 3.0))
    assert tc.clone(x).shape == (2, 3)


def test_casts_are_differentiable_and_cast_the_gradient_back(rng):
    x = tc.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32 and y.node.op.name == "to"
    np.testing.assert_array_equal(y.data, x.data.astype(np.float32))
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))
    assert y.double().dtype == np.float64 and y.astype("float64").dtype == np.float64


def test_to_accepts_pytorch_spellings():
    x = tc.Tensor([1.0, 2.0])
    assert x.to(np.float64) is x and x.double() is x and x.cpu() is x  # nothing to change: the tensor itself
    assert x.to("cpu") is x and x.to(device="cpu") is x and x.to("cpu", np.float64) is x
    assert x.to(np.float64, copy=True) is not x and x.astype(np.float64) is not x
    assert x.astype(np.float64, copy=False) is x
    assert x.to("float32").dtype == np.float32 and x.to(dtype=tc.float32).dtype == np.float32
    assert x.to(tc.float).dtype == np.float32 and x.to(tc.double) is x
    assert x.to(tc.Tensor(np.zeros(1, np.float32))).dtype == np.float32  # another tensor's dtype
    assert tc.to(x, np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="device must be 'cpu'"):
        x.to("cuda")
    with pytest.raises(TypeError, match="floating dtype"):
        x.to(np.int64)
    with pytest.raises(TypeError, match="floating dtype"):
        x.to(np.float16)


def test_to_accepts_torch_dtypes_and_devices():
    torch = pytest.importorskip("torch")
    x = tc.Tensor([1.0, 2.0])
    assert x.to(torch.float32).dtype == np.float32 and x.to(torch.float64) is x
    assert x.to(torch.device("cpu")) is x and x.to(device=torch.device("cpu"), dtype=torch.float32).dtype == np.float32
    assert x.to(torch.zeros(1)).dtype == np.float32  # a torch tensor's dtype
    with pytest.raises(TypeError, match="floating dtype"):
        x.to(torch.int64)


def test_detach_and_requires_grad_():
    x = tc.Tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    assert x.requires_grad_(False) is x and not x.requires_grad
    y = x.requires_grad_(True) * 2
    y.requires_grad_(True)  # already on: allowed, as PyTorch
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    with pytest.raises(TypeError, match="bool"):
        x.requires_grad_("yes")
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.data, y.data)
    assert y.grad_fn is y.node and x.grad_fn is None


def test_in_place_fill_and_zero():
    x = tc.Tensor([1.0, 2.0])
    assert x.fill_(3).tolist() == [3.0, 3.0] and x.zero_().tolist() == [0.0, 0.0]
    x.fill_(tc.Tensor(1.5))
    assert x.tolist() == [1.5, 1.5]
    w = tc.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w.zero_()
    with tc.no_grad():
        w.fill_(0.5)
    assert w.tolist() == [0.5, 0.5]
    with pytest.raises(TypeError, match="value"):
        x.fill_("a")


# --- comparisons ----------------------------------------------------------------------------------
COMPARISONS = [
    (lambda a, b: a == b, np.equal), (lambda a, b: a != b, np.not_equal), (lambda a, b: a < b, np.less),
    (lambda a, b: a <= b, np.less_equal), (lambda a, b: a > b, np.greater), (lambda a, b: a >= b, np.greater_equal),
]


@pytest.mark.parametrize(("compare", "ufunc"), COMPARISONS)
def test_comparisons_give_numpy_bool_arrays_outside_the_graph(compare, ufunc):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b = np.array([2.0, 2.0, 2.0])
    x = tc.Tensor(a, requires_grad=True)
    for other in (tc.Tensor(b), b, b.tolist(), 2.0, 2, np.float32(2.0)):
        out = compare(x, other)
        assert type(out) is np.ndarray and out.dtype == bool
        np.testing.assert_array_equal(out, ufunc(a, np.asarray(other)))
    np.testing.assert_array_equal(compare(b, x), ufunc(b, a))  # ndarray on the left: numpy defers to Tensor
    np.testing.assert_array_equal(compare(2.0, x), ufunc(2.0, a))  # number on the left: the reflected comparison


@pytest.mark.parametrize(("compare", "ufunc"), COMPARISONS)
def test_comparisons_match_pytorch(compare, ufunc, rng):
    torch = pytest.importorskip("torch")
    a, b = rng.integers(0, 3, (3, 4)).astype(float), rng.integers(0, 3, (4,)).astype(float)
    np.testing.assert_array_equal(compare(tc.Tensor(a), tc.Tensor(b)), compare(torch.tensor(a), torch.tensor(b)).numpy())


def test_comparison_errors():
    x = tc.Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\).*broadcast"):
        x == np.zeros(4)  # noqa: B015
    assert (x == None) is False and (x != None) is True  # noqa: E711 - identity fallback, as PyTorch
    assert (x == "a") is False
    with pytest.raises(TypeError):
        x < "a"  # noqa: B015


def test_tensors_hash_by_identity_so_sets_and_dicts_of_tensors_work():
    a, b = tc.Tensor([1.0, 2.0]), tc.Tensor([1.0, 2.0])
    assert len({a, b}) == 2 and {a: 1, b: 2}[b] == 2 and b in {a, b}
    # A list compares by ==, elementwise, as in PyTorch: only the first item is found by identity alone.
    params = [a, b]
    assert a in params and params.index(a) == 0
    with pytest.raises(ValueError, match="ambiguous"):
        params.index(b)
    assert any(p is b for p in params)  # what the library itself does (optimizers, modules, graph walks)


def test_contains():
    t = tc.Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert 3 in t and 5.0 not in t and tc.Tensor(2.0) in t
    with pytest.raises(TypeError, match="'in'"):
        "a" in t  # noqa: B015


def test_masks_from_comparisons_index_tensors(rng):
    x = tc.Tensor(rng.standard_normal(6), requires_grad=True)
    positive = x[x > 0]
    positive.sum().backward()
    np.testing.assert_array_equal(x.grad, (x.data > 0).astype(float))
    assert (x == x).all() and float((x > 0).mean()) == np.mean(x.data > 0)


# --- repr ---------------------------------------------------------------------------------------------
def test_repr_reads_like_pytorch():
    assert repr(tc.Tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert repr(tc.Tensor(3.5)) == "tensor(3.5000)"
    assert repr(tc.Tensor([1.5, 2.0], dtype=np.float32)) == "tensor([1.5000, 2.0000], dtype=tc.float32)"
    assert repr(tc.Tensor([1.0, 2.0], requires_grad=True) * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert repr(tc.max_pool2d(tc.ones(1, 2, 2, requires_grad=True), 2)) == "tensor([[[1.]]], grad_fn=<MaxPool2dBackward>)"
    assert repr(tc.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(tc.Tensor([1.0], name="w")) == "tensor([1.], name='w')"
    assert repr(tc.nn.Parameter([1.0, 2.0])) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert str(tc.Tensor(1.0)) == "tensor(1.)"


def test_repr_leaves_numpys_print_options_alone():
    before = np.get_printoptions()
    repr(tc.Tensor(np.arange(5000.0) / 3))
    assert np.get_printoptions() == before


REPR_CASES = [
    [1.0, 2.0], 3.5, 3.0, [1.5, 2.0], [1e-5, 1.0], [float("nan"), 1.5, float("inf")], [-1.0, 0.5], [1e9, 1.0],
    [123456.789, 1.5], np.arange(12.0).reshape(3, 4) / 7, np.zeros((0, 3)), np.zeros(0), [[1.0, -2.0], [300.0, 4.0]],
    np.linspace(-1, 1, 30).reshape(2, 15), np.arange(50.0), np.linspace(-3, 3, 40).reshape(2, 2, 10),
]


@pytest.mark.parametrize("data", REPR_CASES, ids=range(len(REPR_CASES)))
def test_repr_matches_pytorch(data, float32_default):
    torch = pytest.importorskip("torch")
    array = np.asarray(data, dtype=np.float32)
    assert repr(tc.tensor(array)) == repr(torch.tensor(array))
    x, t = tc.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
    assert repr(x) == repr(t)
    assert repr(x * 3) == re.sub(r"Backward\d+", "Backward", repr(t * 3))
    ours, theirs = repr(x.double()).replace("tc.", "torch."), re.sub(r"ToCopyBackward\d+", "ToBackward", repr(t.double()))
    assert ours.split() == theirs.split()  # the longer name ToCopyBackward0 may wrap onto its own line


def test_repr_of_a_large_tensor_is_summarized():
    text = repr(tc.Tensor(np.arange(5000.0)))
    assert "..." in text and text.count("\n") < 5


# --- the PyTorch bridge --------------------------------------------------------------------------------
def test_tensors_from_torch_tensors_keep_their_dtype():
    torch = pytest.importorskip("torch")
    t32 = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    for make in (tc.Tensor, tc.tensor):
        x = make(t32)
        assert x.dtype == np.float32 and x.shape == (2, 3)
        np.testing.assert_array_equal(x.data, t32.numpy())
        assert not np.shares_memory(x.data, t32.numpy())
    assert tc.Tensor(torch.zeros(2, dtype=torch.float64, requires_grad=True)).dtype == np.float64  # detached
    assert tc.tensor(torch.ones(2), dtype=np.float64).dtype == np.float64
    assert tc.Tensor(torch.nn.Parameter(torch.ones(3))).shape == (3,)
    assert tc.tensor(torch.ones(2), requires_grad=True).requires_grad
    assert tc.tensor(torch.tensor([1, 2])).dtype == tc.get_default_dtype()  # ints become the default float


def test_torch_tensors_from_tensors():
    torch = pytest.importorskip("torch")
    x = tc.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    a, b = torch.as_tensor(np.asarray(x)), torch.from_numpy(x.numpy())
    assert a.dtype == b.dtype == torch.float64 and a.shape == b.shape == (2, 3)
    np.testing.assert_array_equal(a.numpy(), x.data)
    b[0, 0] = 7.0  # from_numpy shares the memory, as it does for any ndarray
    assert x.data[0, 0] == 7.0
    assert torch.tensor(x.tolist()).shape == (2, 3)


def _tc_cnn():
    nn = tc.nn
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(6 * 2 * 2, 5))


def _torch_cnn(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(6 * 2 * 2, 5)).double()


def test_a_cnn_moves_between_tinygrad_conv_and_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 1, 8, 8))
    tc.manual_seed(0)
    ours, theirs = _tc_cnn(), _torch_cnn(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())

    theirs.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in ours.state_dict().items()})
    expected = ours(tc.Tensor(x))
    np.testing.assert_allclose(theirs(torch.from_numpy(x)).detach().numpy(), expected.data, rtol=1e-10, atol=1e-12)

    torch.manual_seed(1)
    theirs = _torch_cnn(torch)
    ours.load_state_dict(theirs.state_dict())  # torch tensors as values
    out, target = ours(tc.Tensor(x)), theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out.data, target.detach().numpy(), rtol=1e-10, atol=1e-12)

    out.sum_of_squares().backward()
    target.pow(2).sum().backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_pytorch_bridge_page_runs(tmp_path, monkeypatch):
    """Every ```python block of docs/pytorch_bridge.md runs, in order, in one namespace."""
    pytest.importorskip("torch")
    page = Path(__file__).resolve().parent.parent / "docs" / "pytorch_bridge.md"
    blocks = re.findall(r"^```python\n(.*?)^```$", page.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_pytorch_bridge"}
    for code in blocks:
        exec(compile(code, str(page), "exec"), namespace)  # noqa: S102 - running the docs is the point
