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

from .tensor import Tensor


def save(state_dict: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``state_dict`` (names to Tensors or numeric arrays) to ``path`` as an uncompressed ``.npz``.

    The file is written to exactly ``path`` (numpy would otherwise append ``.npz``).

    Raises:
        TypeError: if state_dict is not a mapping of str to numeric arrays or Tensors.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to arrays, got {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"state_dict keys must be non-empty str, got {key!r}")
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"state_dict[{key!r}] must be numeric, got dtype {array.dtype}")
        arrays[key] = array
    with open(path, "wb") as file:
        np.savez(file, **arrays)


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
        if array.dtype.kind not in "biuf":
            raise ValueError(f"cannot load {where}: entry {name!r} has non-numeric dtype {array.dtype}")
    return state
