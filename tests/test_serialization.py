"""tc.save and tc.load: round trips, and crafted hostile files that must all fail with ValueError."""

import gc
import io
import os
import struct
import warnings
import zipfile

import numpy as np
import pytest

import tinygrad_conv as tc
from tinygrad_conv.serialization import DEFAULT_MAX_BYTES


def npy_bytes(array=None, *, descr=None, shape=None, data=None, version=(1, 0)):
    """A .npy file's bytes; a header that lies about ``descr`` or ``shape`` when they are given."""
    buffer = io.BytesIO()
    if array is not None:
        np.lib.format.write_array(buffer, array, version=version)
        return buffer.getvalue()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + (data or b"")


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", compression=compression) as archive:
            for name, payload in members:
                archive.writestr(name, payload)
    return path


def patch_central_size(path, new_size):
    """Make the (only) central directory entry claim ``new_size`` uncompressed bytes."""
    raw = bytearray(path.read_bytes())
    at = raw.rindex(b"PK\x01\x02")
    raw[at + 24 : at + 28] = struct.pack("<I", new_size)
    path.write_bytes(bytes(raw))


def assert_refused(path, match=None, **kwargs):
    with pytest.raises(ValueError, match=match) as info:
        tc.load(path, **kwargs)
    assert os.fspath(path) in str(info.value)


def test_round_trip_keeps_dtype_order_and_values(tmp_path):
    state = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "big_endian": np.arange(3, dtype=">f8"),
        "ints": np.arange(4, dtype=np.int16),
        "flags": np.array([True, False]),
        "scalar": np.array(2.5),
        "empty": np.zeros((0, 3)),
    }
    tc.save(state, tmp_path / "m.npz")
    loaded = tc.load(tmp_path / "m.npz")
    assert list(loaded) == list(state)
    for key, value in state.items():
        np.testing.assert_array_equal(loaded[key], value, err_msg=key)
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
        assert loaded[key].flags.writeable
    loaded["f32"][0, 0] = 9  # a loaded array is writable and independent


def test_reads_files_written_by_numpy(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.ones(3), b=np.arange(2))
    np.savez_compressed(tmp_path / "compressed.npz", a=np.ones((4, 4)))
    assert set(tc.load(tmp_path / "plain.npz")) == {"a", "b"}
    np.testing.assert_array_equal(tc.load(tmp_path / "compressed.npz")["a"], np.ones((4, 4)))
    write_zip(tmp_path / "v2.npz", [("w.npy", npy_bytes(np.arange(5.0), version=(2, 0)))])
    np.testing.assert_array_equal(tc.load(tmp_path / "v2.npz")["w"], np.arange(5.0))
    tc.save({}, tmp_path / "empty.npz")
    assert tc.load(tmp_path / "empty.npz") == {}


def test_header_claiming_a_huge_shape_is_refused_without_allocating(tmp_path):
    path = write_zip(tmp_path / "huge.npz", [("w.npy", npy_bytes(descr="<f8", shape=(10**12,), data=b"\0" * 8))])
    assert_refused(path, match=r"declares shape \(1000000000000,\)")
    assert_refused(path, match="declares shape", max_bytes=None)  # no MemoryError even with no budget
    patch_central_size(path, 2**32 - 1)  # the zip's directory now also claims ~4 GiB
    assert_refused(path, match="max_bytes")


def test_decompression_bomb_is_refused_by_max_bytes(tmp_path):
    bomb = write_zip(tmp_path / "bomb.npz", [("w.npy", npy_bytes(np.zeros(2**21)))], zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 40_000  # 16 MiB of zeros in a few KiB
    assert_refused(bomb, match=r"expand to \d+ bytes, more than max_bytes=1048576", max_bytes=2**20)
    assert tc.load(bomb, max_bytes=2**25)["w"].shape == (2**21,)
    assert DEFAULT_MAX_BYTES == 2**30


def test_member_that_inflates_past_its_declared_size_is_refused(tmp_path):
    honest = npy_bytes(descr="<f8", shape=(4,), data=b"\0" * (32 + 2**20))  # 1 MiB more than the header says
    path = write_zip(tmp_path / "long.npz", [("w.npy", honest)], zipfile.ZIP_DEFLATED)
    assert_refused(path, match="declares shape")
    patch_central_size(path, len(honest) - 2**20)  # now the directory agrees with the header; the stream doesn't
    assert_refused(path, match="CRC|bytes after")


def test_truncated_at_every_point_is_refused(tmp_path):
    good = tmp_path / "good.npz"
    tc.save({"a": np.arange(10.0), "b": np.ones((2, 2), np.float32)}, good)
    raw = good.read_bytes()
    cut = tmp_path / "cut.npz"
    for end in range(len(raw)):
        cut.write_bytes(raw[:end])
        assert_refused(cut)


def test_bytes_before_or_after_the_archive_are_refused(tmp_path):
    good = tmp_path / "good.npz"
    tc.save({"a": np.arange(3.0)}, good)
    (tmp_path / "trailing.npz").write_bytes(good.read_bytes() + b"junk")
    assert_refused(tmp_path / "trailing.npz", match="appended")
    (tmp_path / "leading.npz").write_bytes(b"junk" + good.read_bytes())
    assert_refused(tmp_path / "leading.npz", match="not a zip")


def test_flipping_any_byte_never_leaks_another_exception(tmp_path):
    good = tmp_path / "good.npz"
    tc.save({"a": np.arange(4.0)}, good)
    raw = good.read_bytes()
    flipped = tmp_path / "flipped.npz"
    for at in range(len(raw)):
        flipped.write_bytes(raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1 :])
        try:
            loaded = tc.load(flipped)
        except ValueError:
            continue
        assert all(isinstance(v, np.ndarray) and v.dtype.kind in "biuf" for v in loaded.values())


@pytest.mark.parametrize("descr", ["|O", "<c16", "<U3", [("x", "<f8")], "|V8"])
def test_non_numeric_dtypes_are_refused(tmp_path, descr):
    path = write_zip(tmp_path / "odd.npz", [("w.npy", npy_bytes(descr=descr, shape=(1,), data=b"\0" * 16))])
    assert_refused(path)


def test_pickle_inside_is_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload = b"cos\nsystem\n(S'touch PWNED'\ntR."
    write_zip(tmp_path / "pickle.npz", [("w.npy", npy_bytes(descr="|O", shape=(1,), data=payload))])
    assert_refused(tmp_path / "pickle.npz", match="dtype object")
    write_zip(tmp_path / "raw.npz", [("w.npy", payload)])
    assert_refused(tmp_path / "raw.npz")
    assert not (tmp_path / "PWNED").exists()


def test_malformed_archives_are_refused(tmp_path):
    one = npy_bytes(np.ones(2))
    assert_refused(write_zip(tmp_path / "dup.npz", [("w.npy", one), ("w.npy", one)]), match="more than once")
    assert_refused(write_zip(tmp_path / "txt.npz", [("w.txt", b"hi")]), match="not a .npy array")
    assert_refused(write_zip(tmp_path / "dir.npz", [("w.npy/", b"")]), match="not a .npy array")
    assert_refused(write_zip(tmp_path / "garbage_npy.npz", [("w.npy", b"\x93NUMPY\x01\x00" + b"x" * 50)]))
    assert_refused(write_zip(tmp_path / "version.npz", [("w.npy", npy_bytes(np.ones(2), version=(3, 0)))]),
                   match="version")
    (tmp_path / "empty.npz").write_bytes(b"")
    assert_refused(tmp_path / "empty.npz", match="not a zip")
    np.save(tmp_path / "single.npy", np.ones(3))
    assert_refused(tmp_path / "single.npy", match="single .npy array")


def test_max_bytes_is_checked():
    with pytest.raises(TypeError, match="max_bytes"):
        tc.load("x.npz", max_bytes="1e9")
    with pytest.raises(ValueError, match="max_bytes"):
        tc.load("x.npz", max_bytes=-1)


def test_load_always_closes_the_file(tmp_path):
    good = tmp_path / "good.npz"
    tc.save({"a": np.arange(3.0)}, good)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(good.read_bytes()[:-3])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tc.load(good)
        with pytest.raises(ValueError):
            tc.load(bad)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def small_net(nn):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 10))


def test_load_state_dict_is_all_or_nothing(tmp_path):
    net = small_net(tc.nn)
    before = {k: v.copy() for k, v in net.state_dict().items()}
    good = {k: np.full(v.shape, 7.0) for k, v in before.items()}
    bad_shape = {**good, "4.bias": np.zeros(3)}  # the last key is wrong: nothing before it may be loaded
    with pytest.raises(ValueError, match=r"4\.bias: expected \(10,\), got \(3,\)"):
        net.load_state_dict(bad_shape)
    with pytest.raises(ValueError, match="missing keys"):
        net.load_state_dict({k: v for k, v in good.items() if k != "4.weight"})
    with pytest.raises(TypeError, match="numeric"):
        net.load_state_dict({**good, "4.bias": np.array(["x"] * 10)})
    net[4].bias.data = np.ones(10)
    net[4].bias.data.flags.writeable = False
    with pytest.raises(ValueError, match=r"4\.bias.*read-only"):
        net.load_state_dict(good)
    net[4].bias.data = before["4.bias"].copy()
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    tc.save(good, tmp_path / "good.npz")
    raw = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "bad.npz").write_bytes(raw[:-1])
    with pytest.raises(ValueError):
        net.load_state_dict(tc.load(tmp_path / "bad.npz"))
    net.load_state_dict(tc.load(tmp_path / "good.npz"))
    assert all(np.all(v == 7.0) for v in net.state_dict().values())


def test_load_state_dict_casts_to_the_parameter_dtype():
    lin = tc.nn.Linear(2, 1, rng=0, dtype=np.float32)
    lin.load_state_dict({"weight": np.array([[1, 2]]), "bias": [True]})
    assert lin.weight.dtype == np.float32 and lin.weight.data.tolist() == [[1.0, 2.0]]
    assert lin.bias.data.tolist() == [1.0]


def test_state_dict_matches_torch_both_ways():
    torch = pytest.importorskip("torch")
    ours, theirs = small_net(tc.nn), small_net(torch.nn).double()
    their_state = theirs.state_dict()
    assert list(ours.state_dict()) == list(their_state)
    for key, value in ours.state_dict().items():
        assert value.shape == tuple(their_state[key].shape), key
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8))
    ours.load_state_dict(dict(theirs.named_parameters()))  # torch Parameters that require grad
    np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-12)
    for p in ours.parameters():
        p.data *= 2
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    np.testing.assert_allclose(ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-12)


def test_load_state_dict_accepts_array_likes_and_reports_unconvertible_values():
    class ArrayLike:
        def __array__(self, dtype=None, copy=None):
            return np.array([0.5])

    class BrokenTensor:
        def detach(self):
            raise RuntimeError("device lost")

    lin = tc.nn.Linear(1, 1, rng=0)
    lin.load_state_dict({"weight": [[2.0]], "bias": ArrayLike()})
    assert lin.bias.data.tolist() == [0.5] and lin.weight.data.tolist() == [[2.0]]
    with pytest.raises(TypeError, match=r"state_dict\['bias'\].*BrokenTensor.*device lost"):
        lin.load_state_dict({"weight": [[2.0]], "bias": BrokenTensor()})
