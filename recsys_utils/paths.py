"""Where the course keeps what it downloads or computes once: one rule for every module."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_home"]


def data_home(path=None) -> Path:
    """The course's cache folder: ``path``, else ``$RECSYS_DATA_HOME``, else ``~/.cache/recsys_utils``.

    MovieLens-100K (:mod:`recsys_utils.movielens`) and the text-embedding cache
    (:mod:`recsys_utils.text`) live under it.

    Args:
        path: an explicit folder, or ``None`` for the rule above.

    Returns:
        The folder as a ``Path`` (not created).
    """
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get("RECSYS_DATA_HOME")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "recsys_utils"
