"""Where the course keeps what it downloads or computes once: one rule for all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["data_home", "write_atomic"]


def data_home(path=None) -> Path:
    """The course's cache folder.

    ``path`` if given, else ``$RECSYS_DATA_HOME``, else ``~/.cache/recsys_utils``.

    MovieLens-100K (:mod:`recsys_utils.movielens`) and the text-embedding cache
    (:mod:`recsys_utils.text`) live under it.

    Args:
        path: an explicit folder, or ``None`` for the rule above.

    Returns:
        The folder as a ``Path`` (not created).

    Raises:
        ValueError: ``path`` is not a non-empty ``str`` or ``os.PathLike``.
    """
    if path is not None:
        if not isinstance(path, (str, os.PathLike)) or str(path) == "":
            raise ValueError(
                "the cache folder (data_home) must be a non-empty path, a str or a "
                f"pathlib.Path; got {path!r} ({type(path).__name__})"
            )
        return Path(path).expanduser()
    env = os.environ.get("RECSYS_DATA_HOME")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "recsys_utils"


def _umask() -> int:
    """The process's file-creation mask: Linux reports it in /proc; elsewhere reading it
    means setting it (and setting it back at once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` in one step: ``write(handle)`` fills a new file of this process
    in the same folder (created exclusively, so never a planted link or a file of
    someone else), which is then renamed over ``path``. A reader sees the old file or
    the new one, never half of one; on an error the new file is removed and ``path``
    is left as it was.

    Args:
        path: the file to write; its folder must exist.
        write: called once with the open binary handle.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:  # closes fd on every way out
            # mkstemp creates the file for its owner only (0600); the written file gets
            # the mode a plain open() would give it, so a website or a shared cache
            # stays readable by others as before
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
