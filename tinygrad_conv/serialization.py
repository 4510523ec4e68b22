"""``save`` and ``load`` a state dict as ``.npz``: plain arrays only, never pickles.

``load`` opens the file with ``np.load(..., allow_pickle=False)``, so a file that
carries a pickle (an object array, say) is refused before any of it is unpickled.
Every way a file can be wrong surfaces as one ValueError naming the file.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._checks import state_array


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` (names to Tensors or numeric arrays) to ``path`` as an uncompressed ``.npz``.

    The file is written to exactly ``path`` (numpy would otherwise append ``.npz``). Each entry
    is stored as ``<key>.npy``, so any non-empty str key works (``np.savez`` reserves some).

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


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a state dict written by :func:`save`: a dict of names to numpy arrays.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a pickle-free ``.npz`` of numeric arrays (corrupt,
            truncated, a single ``.npy``, or carrying pickled objects).
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {os.fspath(path)!r}")
    where = repr(os.fspath(path))
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"cannot load {where}: it is a single array, not a .npz state dict")  # noqa: TRY004
        with loaded:
            state = {name: loaded[name] for name in loaded.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        if str(error).startswith("cannot load"):
            raise
        raise ValueError(f"cannot load {where} as a state dict: {error}") from None
    for name, array in state.items():
        if not isinstance(array, np.ndarray):  # np.load hands back a non-.npy member as raw bytes
            raise ValueError(f"cannot load {where}: member {name!r} is not a .npy array")  # noqa: TRY004
        try:
            state_array(name, array)
        except TypeError as error:
            raise ValueError(f"cannot load {where}: {error}") from None
    return state
