"""``save`` and ``load`` a state dict as ``.npz``: plain arrays only, never pickles.

A file from elsewhere is untrusted input, so ``load`` does not hand it to ``np.load``. It
reads the zip archive itself and, for each ``.npy`` member, parses only the header, checks
the dtype (bool, int or float: no objects, so no pickles), the declared shape and size against
the member's real size and against the ``max_bytes`` budget, and only then allocates and reads
the array. Every way a file can be wrong (not a zip, truncated, trailing bytes, duplicate names,
a header that lies, a decompression bomb) surfaces as one ValueError naming the file.
"""

from __future__ import annotations

import math
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from ._checks import integer, state_array

DEFAULT_MAX_BYTES = 1 << 30
"""``load``'s default budget, 1 GiB: far above any model this library trains (the digits CNN is
under 1 MB), yet small enough that a hostile file cannot make ``load`` allocate more memory than a
laptop has. Pass ``max_bytes=None`` to lift it for a file you trust."""

_LOCAL_HEADER = b"PK\x03\x04"
_END_OF_ARCHIVE = b"PK\x05\x06"
_END_RECORD_SIZE = 22  # the end-of-central-directory record without its comment
_MAX_COMMENT = 0xFFFF
_NPY_HEADER_LIMIT = 10_000  # numpy's own cap on a .npy header (np.load's max_header_size)


class _BadFile(Exception):
    """Raised inside ``load`` with a message; ``load`` re-raises it as ValueError naming the file."""


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` (names to Tensors or numeric arrays) to ``path`` as an uncompressed ``.npz``.

    The file is written to exactly ``path`` (numpy would otherwise append ``.npz``). Each entry
    is stored as ``<key>.npy``, so any non-empty str key works (``np.savez`` reserves some).

    Args:
        state_dict: names to Tensors or numeric array-likes, as ``Module.state_dict()`` returns.
        path: the file to write (overwritten if it exists).

    Raises:
        TypeError: if state_dict is not a mapping of str to numeric arrays or Tensors.
        ValueError: if a value is a ragged sequence.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to arrays, got {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"state_dict keys must be non-empty str, got {key!r}")
        arrays[key] = state_array(key, value)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, array in arrays.items():
            with archive.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def load(path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> dict[str, np.ndarray]:
    """Read a state dict written by ``save`` (or ``np.savez``): a dict of names to numpy arrays.

    Nothing in the file is unpickled or trusted: every size it declares is checked before
    anything is allocated, and the file is always closed.

    Args:
        path: the ``.npz`` file.
        max_bytes: the most bytes the file's members may expand to, all together (their
            uncompressed sizes, which bound the arrays' memory). The default, 1 GiB, guards
            against decompression bombs and headers that claim huge shapes; None lifts it.

    Returns:
        The arrays by name (each member ``<name>.npy`` gives the key ``<name>``), in file order.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        TypeError: if path is not a str or os.PathLike, or max_bytes is not an int or None.
        ValueError: if the file is not a well-formed, pickle-free ``.npz`` of bool, int or float
            arrays (not a zip, corrupt, truncated, with bytes before or after the archive, with
            duplicate or non-``.npy`` members, or holding objects), or if it would expand past
            ``max_bytes``.
    """
    if max_bytes is not None:
        max_bytes = integer(max_bytes, "max_bytes", minimum=0, where="load")
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"load: path must be a file name (str or os.PathLike), got {type(path).__name__}")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {os.fspath(path)!r}")
    try:
        with open(path, "rb") as file:
            _check_archive_bounds(file)
            with zipfile.ZipFile(file) as archive:
                return _read_members(archive, max_bytes)
    except _BadFile as error:
        raise ValueError(f"cannot load {os.fspath(path)!r} as a state dict: {error}") from None
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
            TypeError, ValueError, struct.error, zlib.error, MemoryError) as error:
        if isinstance(error, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise ValueError(f"cannot load {os.fspath(path)!r} as a state dict: {reason}") from None


def _check_archive_bounds(file: IO[bytes]) -> None:
    """Refuse a file that is not exactly one zip archive: no bytes before it, none after it."""
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    start = file.read(4)
    if start not in (_LOCAL_HEADER, _END_OF_ARCHIVE):
        kind = "a single .npy array" if start == b"\x93NUM" else "not a zip archive"
        raise _BadFile(f"it is {kind}, not a .npz state dict")
    tail_start = max(0, size - _END_RECORD_SIZE - _MAX_COMMENT)
    file.seek(tail_start)
    tail = file.read()
    file.seek(0)
    end = tail.rfind(_END_OF_ARCHIVE)
    while end >= 0:
        if end + _END_RECORD_SIZE <= len(tail):
            (comment_length,) = struct.unpack("<H", tail[end + 20 : end + 22])
            if end + _END_RECORD_SIZE + comment_length == len(tail):
                return
        end = tail.rfind(_END_OF_ARCHIVE, 0, end)
    raise _BadFile("it does not end with a zip archive's end record (truncated, or bytes appended after it)")


def _read_members(archive: zipfile.ZipFile, max_bytes: int | None) -> dict[str, np.ndarray]:
    infos = archive.infolist()
    if infos and infos[0].header_offset != 0:
        raise _BadFile("the archive does not start at the first byte of the file")
    declared = sum(info.file_size for info in infos)
    if max_bytes is not None and declared > max_bytes:
        raise _BadFile(f"its members expand to {declared} bytes, more than max_bytes={max_bytes} "
                       "(pass a larger max_bytes, or None, to load a file you trust)")
    state: dict[str, np.ndarray] = {}
    for info in infos:
        if not info.filename.endswith(".npy") or info.is_dir():
            raise _BadFile(f"member {info.filename!r} is not a .npy array")
        key = info.filename[: -len(".npy")]
        if key in state:
            raise _BadFile(f"member {info.filename!r} appears more than once")
        if info.flag_bits & 0x1:
            raise _BadFile(f"member {info.filename!r} is encrypted")
        with archive.open(info) as member:
            state[key] = _read_npy(member, info)
    return state


def _read_npy(member: IO[bytes], info: zipfile.ZipInfo) -> np.ndarray:
    """Parse one ``.npy`` member, checking its header against the member's size before allocating."""
    name = repr(info.filename)
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member, max_header_size=_NPY_HEADER_LIMIT)
    elif version == (2, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member, max_header_size=_NPY_HEADER_LIMIT)
    else:
        raise _BadFile(f"member {name} is a .npy of unsupported format version {version}")
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise _BadFile(f"member {name} holds dtype {dtype}, not bool, int or float numbers")
    nbytes = math.prod(shape) * dtype.itemsize
    header_size = member.tell()  # the magic string and the header: where the data starts
    if header_size + nbytes != info.file_size:
        raise _BadFile(f"member {name} declares shape {shape} of {dtype} ({nbytes} bytes of data) but holds "
                       f"{info.file_size - header_size} bytes of data")
    buffer = bytearray(nbytes)
    view = memoryview(buffer)
    filled = 0
    while filled < nbytes:
        count = member.readinto(view[filled:])
        if not count:
            raise _BadFile(f"member {name} ends after {filled} of its {nbytes} bytes of data")
        filled += count
    if member.read(1):  # reading to the end also makes zipfile check the member's CRC
        raise _BadFile(f"member {name} has bytes after its array data")
    return np.ndarray(shape, dtype=dtype, buffer=buffer, order="F" if fortran_order else "C")

