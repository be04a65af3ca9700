"""Small cached results handed from one section of a chapter to the next.

Every section runs on its own from a fresh kernel. When a later section needs what an
earlier one computed (trained weights, item vectors, a validation table), it calls the
same function the earlier section called, through :func:`cached_arrays`: the first call
computes and stores the arrays, later calls (in any section, any kernel) load them.
Computing or loading gives the same arrays, so a section prints the same numbers
whether its predecessor ran first or not.

The key names everything the result depends on (framework, seed, settings, and a
version of the code: pass the exported module so that editing the chapter's model
invalidates its stored weights). Results live under ``$RECSYS_CACHE_DIR`` (CI sets it
to a folder of the build), else ``<data home>/artifacts``, as ``.npz`` files read
without pickle.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import types
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from .paths import data_home, write_atomic

__all__ = ["ENV_VAR", "cache_dir", "artifact_key", "cached_arrays"]

ENV_VAR = "RECSYS_CACHE_DIR"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


def cache_dir() -> Path:
    """``$RECSYS_CACHE_DIR`` if set, else ``<data home>/artifacts`` (not created)."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else data_home() / "artifacts"


def _canonical(value):
    """A JSON-able, order-independent rendering of a key part."""
    if isinstance(value, types.ModuleType):
        try:
            return {"module": value.__name__, "source": inspect.getsource(value)}
        except (OSError, TypeError) as err:
            raise ValueError(
                f"key: module {value.__name__} has no Python source to version"
            ) from err
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=str)}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, np.ndarray):
        return {"array": hashlib.sha256(np.ascontiguousarray(value)).hexdigest()}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return {type(value).__name__: _canonical(dataclasses.asdict(value))}
    raise ValueError(
        "key: parts must be str, numbers, None, lists, dicts, dataclasses, NumPy "
        f"arrays or modules; got {type(value).__name__}"
    )


def artifact_key(key: Mapping) -> str:
    """A short, stable hash of ``key`` (see :func:`cached_arrays`)."""
    if not isinstance(key, Mapping) or not key:
        raise ValueError(f"key must be a non-empty dict; got {key!r}")
    text = json.dumps(_canonical(key), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_arrays(
    name: str,
    compute: Callable[[], Mapping[str, np.ndarray]],
    *,
    key: Mapping,
    folder: str | os.PathLike | None = None,
) -> dict[str, np.ndarray]:
    """Compute a dict of NumPy arrays once; load it on later calls with the same key.

    Args:
        name: a file-name-safe name (``"ch03-two-tower-weights"``).
        compute: called without arguments when nothing is stored; returns a dict
            ``{str: array-like}`` (numbers and arrays; no objects).
        key: everything the result depends on, e.g. ``{"framework": "pytorch",
            "seed": 0, "config": CONFIG, "code": ch03_torch}`` (a module stands for
            its source code).
        folder: where results are stored (default :func:`cache_dir`).

    Returns:
        The arrays, as a new dict (loaded or computed).

    Raises:
        ValueError: ``name`` or ``key`` is malformed, or ``compute`` returned
            something other than a dict of arrays.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            "name must be 1-81 letters, digits, '.', '_' or '-' (a file name); "
            f"got {name!r}"
        )
    if not callable(compute):
        raise ValueError(f"compute must be callable; got {compute!r}")
    where = Path(folder).expanduser() if folder is not None else cache_dir()
    path = where / f"{name}-{artifact_key(key)}.npz"
    if path.is_file() and not path.is_symlink():
        with np.load(path, allow_pickle=False) as stored:
            return {k: stored[k] for k in stored.files}
    result = compute()
    if not isinstance(result, Mapping) or not result:
        raise ValueError(
            f"compute must return a non-empty dict of arrays; got {type(result)}"
        )
    arrays = {}
    for k, v in result.items():
        arr = np.asarray(v)
        if not isinstance(k, str) or arr.dtype == object:
            raise ValueError(
                f"compute must return {{str: numeric array}}; entry {k!r} is "
                f"{type(v).__name__} of dtype {arr.dtype}"
            )
        arrays[k] = arr
    where.mkdir(parents=True, exist_ok=True)
    # written under a name of our own, then renamed into place: a reader never sees
    # half a file, and two kernels computing the same result both succeed
    write_atomic(path, lambda handle: np.savez(handle, **arrays))
    return {k: v.copy() for k, v in arrays.items()}
