"""Where the course keeps what it downloads or computes once: one rule for all."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_home"]


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
