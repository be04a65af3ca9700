"""MovieLens-100K: download once, check, cache, load with 0-based contiguous ids.

:func:`load_movielens_100k` downloads the official archive from GroupLens once into the
cache folder (:func:`recsys_utils.paths.data_home`), checks it and extracts it; without
network a clear :class:`MovieLensUnavailable` error tells where to put the archive by
hand. :func:`movielens_available` tells a chapter whether its real-data section can run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .paths import data_home as data_home_of

__all__ = [
    "MovieLens",
    "MovieLensUnavailable",
    "load_movielens_100k",
    "movielens_available",
    "movielens_home",
    "ML100K_URL",
    "ML100K_SHA256",
    "ML100K_COUNTS",
    "ML100K_SPLITS",
]

ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
#: sha256 of the official ml-100k.zip. Not pinned yet (it could not be verified
#: offline when this module was written): integrity rests on ML100K_COUNTS. Once
#: known, pass it as ``checksum=`` to enforce it.
ML100K_SHA256 = None
#: (ratings, users, items) of the official archive: the integrity check.
ML100K_COUNTS = (100_000, 943, 1_682)
ML100K_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
_ML_DIR = "ml-100k"
_ML_ZIP = "ml-100k.zip"
_ML_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


class MovieLensUnavailable(RuntimeError):
    """MovieLens-100K is neither cached nor downloadable (offline, bad archive...)."""


@dataclass
class MovieLens:
    """MovieLens-100K with 0-based contiguous ids.

    Attributes:
        ratings: ``user_id, item_id, rating`` (float 1-5), ``timestamp`` (int seconds).
        items: ``item_id, title, release_date, genres`` (list of names) + one 0/1
            column per genre.
        users: ``user_id, age, gender, occupation, zip``.
        splits: ``{"u1".."u5", "ua", "ub": (train_df, test_df)}``, the official splits.
        num_users: number of users (943).
        num_items: number of items (1,682).
        path: the extracted directory.
    """

    ratings: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    splits: dict
    num_users: int
    num_items: int
    path: Path


def movielens_home(data_home=None) -> Path:
    """The folder that holds ``ml-100k.zip`` and its extracted copy.

    Args:
        data_home: explicit directory or ``None`` (see :func:`recsys_utils.paths.data_home`).

    Returns:
        the directory as a ``Path`` (not created).
    """
    return data_home_of(data_home)


def movielens_available(data_home=None) -> bool:
    """Whether MovieLens-100K can be loaded without network.

    Args:
        data_home: cache directory (see :func:`movielens_home`).

    Returns:
        ``True`` when the cache holds a verified extracted copy (``ml-100k/`` with
        its ``.verified`` marker) or the archive ``ml-100k.zip``.
    """
    home = movielens_home(data_home)
    return (home / _ML_DIR / ".verified").is_file() or (home / _ML_ZIP).is_file()


def _manual_instructions(home: Path, url: str) -> str:
    return (
        f"Download {url} by hand (e.g. in a browser) and save it as {home / _ML_ZIP} "
        f"(or set RECSYS_DATA_HOME to a directory holding {_ML_ZIP}); "
        "then call load_movielens_100k() again."
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(url: str, dest: Path, timeout: float = 30.0) -> None:
    """Download to a temporary file in dest's directory, then rename atomically."""
    fd, tmp = tempfile.mkstemp(prefix=".ml-100k-", suffix=".part", dir=dest.parent)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=timeout) as resp,
        ):
            shutil.copyfileobj(resp, out)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _safe_members(zf: zipfile.ZipFile) -> list:
    """Check every member BEFORE extracting anything: no absolute path, no '..'."""
    names = zf.namelist()
    for name in names:
        norm = name.replace("\\", "/")
        if (
            norm.startswith("/")
            or (len(norm) > 1 and norm[1] == ":")
            or ".." in norm.split("/")
        ):
            raise ValueError(
                f"unsafe path in the archive: {name!r} (absolute or with '..')"
            )
    return names


def _extract(zip_path: Path, home: Path) -> Path:
    """Extract to a temporary directory in ``home``, then rename to ``home/ml-100k``."""
    tmp = Path(tempfile.mkdtemp(prefix=".ml-100k-extract-", dir=home))
    try:
        with zipfile.ZipFile(zip_path) as zf:
            _safe_members(zf)
            zf.extractall(tmp)
        src = tmp / _ML_DIR
        if not (src / "u.data").is_file():
            raise ValueError(
                f"{zip_path} has no {_ML_DIR}/u.data: not the MovieLens-100K archive"
            )
        final = home / _ML_DIR
        if final.exists():
            shutil.rmtree(final)
        os.replace(src, final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _read_ml(path: Path, expected_counts) -> MovieLens:
    enc = "latin-1"
    cols = ["user_id", "item_id", "rating", "timestamp"]

    def read_ratings(name):
        df = pd.read_csv(
            path / name,
            sep="\t",
            header=None,
            names=cols,
            encoding=enc,
            dtype={
                "user_id": np.int64,
                "item_id": np.int64,
                "rating": np.float64,
                "timestamp": np.int64,
            },
        )
        df["user_id"] -= 1
        df["item_id"] -= 1
        return df

    ratings = read_ratings("u.data")
    items = pd.read_csv(
        path / "u.item",
        sep="|",
        header=None,
        encoding=enc,
        names=[
            "item_id",
            "title",
            "release_date",
            "video_release_date",
            "imdb_url",
            *_ML_GENRES,
        ],
    )
    items["item_id"] = items["item_id"].astype(np.int64) - 1
    flags = items[list(_ML_GENRES)].to_numpy(dtype=np.int64)
    names = np.asarray(_ML_GENRES, dtype=object)
    items["genres"] = [list(names[row.astype(bool)]) for row in flags]
    items = items[["item_id", "title", "release_date", "genres", *_ML_GENRES]]
    users = pd.read_csv(
        path / "u.user",
        sep="|",
        header=None,
        encoding=enc,
        names=["user_id", "age", "gender", "occupation", "zip"],
        dtype={"zip": str},
    )
    users["user_id"] = users["user_id"].astype(np.int64) - 1

    n_ratings, n_users, n_items = expected_counts
    got = (len(ratings), ratings["user_id"].nunique(), ratings["item_id"].nunique())
    if (
        got != (n_ratings, n_users, n_items)
        or len(users) != n_users
        or len(items) != n_items
    ):
        raise ValueError(
            f"integrity check failed in {path}: expected {n_ratings} ratings by {n_users} users "
            f"on {n_items} items; u.data has {got[0]} ratings, {got[1]} users, {got[2]} items, "
            f"u.user {len(users)} rows, u.item {len(items)} rows"
        )
    if (
        ratings["user_id"].max() != n_users - 1
        or ratings["item_id"].max() != n_items - 1
        or not ratings["rating"].between(1, 5).all()
    ):
        raise ValueError(
            f"integrity check failed in {path}: ids not contiguous or ratings outside 1-5"
        )
    splits = {}
    for s in ML100K_SPLITS:
        if (path / f"{s}.base").is_file():
            splits[s] = (read_ratings(f"{s}.base"), read_ratings(f"{s}.test"))
    return MovieLens(ratings, items, users, splits, n_users, n_items, path)


def load_movielens_100k(
    data_home=None,
    download: bool = True,
    checksum: str | None = None,
    url: str = ML100K_URL,
    expected_counts: tuple = ML100K_COUNTS,
) -> MovieLens:
    """Load MovieLens-100K, downloading and caching it on first use.

    Order: a verified extracted copy in the cache; else the cached ``ml-100k.zip``;
    else a download from ``url`` (to a temporary file renamed when complete).
    The archive's members are checked (no absolute path, no ``..``) before anything is
    extracted; extraction goes to a temporary directory renamed at the end; the
    counts are checked against ``expected_counts``. A failure leaves no partial file.

    Args:
        data_home: cache directory (default ``$RECSYS_DATA_HOME`` or
            ``~/.cache/recsys_utils``).
        download: allow a download when the cache is empty.
        checksum: expected sha256 of the zip (e.g. ``ML100K_SHA256``); ``None`` skips
            the hash check (the count check always runs).
        url: where to download from.
        expected_counts: ``(num_ratings, num_users, num_items)`` the data must have.

    Returns:
        a :class:`MovieLens`.

    Raises:
        MovieLensUnavailable: not cached and the download failed or is disabled; the
            message says where to put ``ml-100k.zip`` by hand.
        ValueError: wrong checksum, unsafe or corrupted archive, failed integrity check
            (the bad archive is removed from the cache).
    """
    if checksum is not None and (not isinstance(checksum, str) or len(checksum) != 64):
        raise ValueError(
            f"checksum must be a 64-character sha256 hex string; got {checksum!r}"
        )
    if len(tuple(expected_counts)) != 3:
        raise ValueError(
            f"expected_counts must be (num_ratings, num_users, num_items); got {expected_counts!r}"
        )
    home = movielens_home(data_home)
    extracted = home / _ML_DIR
    marker = extracted / ".verified"
    if marker.is_file():
        return _read_ml(extracted, expected_counts)

    zip_path = home / _ML_ZIP
    if not zip_path.is_file():
        if not download:
            raise MovieLensUnavailable(
                f"MovieLens-100K is not in the cache {home} and download=False. "
                + _manual_instructions(home, url)
            )
        home.mkdir(parents=True, exist_ok=True)
        try:
            _download(url, zip_path)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise MovieLensUnavailable(
                f"could not download MovieLens-100K from {url}: {exc}. "
                + _manual_instructions(home, url)
            ) from exc
    try:
        if checksum is not None:
            digest = _sha256(zip_path)
            if digest != checksum.lower():
                raise ValueError(
                    f"checksum mismatch for {zip_path}: expected sha256 {checksum}, got {digest}"
                )
        try:
            path = _extract(zip_path, home)
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{zip_path} is not a valid zip archive: {exc}") from exc
        try:
            data = _read_ml(path, expected_counts)
        except Exception:
            shutil.rmtree(path, ignore_errors=True)
            raise
    except Exception:
        zip_path.unlink(missing_ok=True)
        raise
    marker.write_text(_sha256(zip_path) + "\n")
    return data
