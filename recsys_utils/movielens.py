"""MovieLens-100K: download once, check, cache, load with 0-based contiguous ids.

:func:`load_movielens_100k` downloads the official archive from GroupLens once into the
cache folder (:func:`recsys_utils.paths.data_home`), checks it and extracts it; without
network a clear :class:`MovieLensUnavailable` error tells where to put the archive by
hand. :func:`movielens_available` tells a chapter whether its real-data section can run.

What the loader promises:

* **nothing it did not write is ever deleted or changed**: an ``ml-100k.zip`` the user
  placed stays, whatever goes wrong; a folder ``ml-100k/`` the loader did not extract
  (no ``.verified`` marker) is read in place when it holds the files, and otherwise
  left alone with an error that says so. Only an archive this call downloaded and
  found bad is removed;
* **several processes can load at once** (two notebooks, pytest-xdist workers): the
  download and the extraction run under a file lock (``filelock``), the archive is
  extracted into a temporary folder that is checked completely, marked, and only then
  renamed to ``ml-100k/`` in one atomic step, so nobody ever sees half a copy;
* **every file is checked**: the field count of every line of ``u.data``, ``u.item``,
  ``u.user`` and the split files, ids, ratings, repeated pairs, and for each official
  split (u1..u5, ua, ub) that its ids are known, that base and test share no rating
  and that together they are exactly ``u.data``;
* argument errors are raised before anything touches the disk.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .paths import data_home as data_home_of
from .validation import check_bool, check_int

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
#: offline when this module was written): integrity rests on the content checks and
#: ML100K_COUNTS. Once known, pass it as ``checksum=`` to enforce it.
ML100K_SHA256 = None
#: (ratings, users, items) of the official archive: the integrity check.
ML100K_COUNTS = (100_000, 943, 1_682)
ML100K_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
_ML_DIR = "ml-100k"
_ML_ZIP = "ml-100k.zip"
_MARKER = ".verified"  # written by the loader into the folders it extracted
_LOCK = ".ml-100k.lock"
_EXTRACT_PREFIX = ".ml-100k-extract-"
_DOWNLOAD_PREFIX = ".ml-100k-download-"
_LOCK_TIMEOUT = 900.0  # seconds another process may hold the lock (a slow download)
_URL_SCHEMES = ("http", "https", "ftp", "file")
_ENCODING = "latin-1"  # the archive's text files (12 accented bytes in u.item)
_REQUIRED = ("u.data", "u.item", "u.user")  # the members every copy must hold
_RATING_COLS = ["user_id", "item_id", "rating", "timestamp"]
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
_ITEM_FIELDS = 5 + len(_ML_GENRES)  # id, title, release, video release, url, flags
_USER_FIELDS = 5  # id, age, gender, occupation, zip


class MovieLensUnavailable(RuntimeError):
    """MovieLens-100K is neither cached nor downloadable (offline, bad archive...)."""


@dataclass
class MovieLens:
    """MovieLens-100K with 0-based contiguous ids.

    Attributes:
        ratings: ``user_id, item_id, rating`` (float 1-5), ``timestamp`` (int
            seconds).
        items: ``item_id, title, release_date, genres`` (list of names) + one 0/1
            column per genre.
        users: ``user_id, age, gender, occupation, zip``.
        splits: ``{"u1".."u5", "ua", "ub": (train_df, test_df)}``, the official
            splits.
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
        data_home: explicit directory, or ``None``: ``$RECSYS_MOVIELENS_HOME`` when set
            (the tests and the website build point it at the stand-in, or at an empty
            folder, without moving the course's other caches), else
            :func:`recsys_utils.paths.data_home`.

    Returns:
        the directory as a ``Path`` (not created).
    """
    if data_home is None and os.environ.get("RECSYS_MOVIELENS_HOME"):
        return Path(os.environ["RECSYS_MOVIELENS_HOME"]).expanduser()
    return data_home_of(data_home)


def _extracted_by_user(folder: Path) -> bool:
    """A folder ``ml-100k/`` with the files but without the loader's marker."""
    return (
        folder.is_dir()
        and not (folder / _MARKER).is_file()
        and (folder / "u.data").is_file()
    )


def movielens_available(data_home=None) -> bool:
    """Whether MovieLens-100K can be loaded without network.

    Args:
        data_home: cache directory (see :func:`movielens_home`).

    Returns:
        ``True`` when the cache holds a verified extracted copy (``ml-100k/`` with
        its ``.verified`` marker), a copy extracted by hand (``ml-100k/u.data``) or
        the archive ``ml-100k.zip``.
    """
    home = movielens_home(data_home)
    folder = home / _ML_DIR
    return (
        (folder / _MARKER).is_file()
        or _extracted_by_user(folder)
        or (home / _ML_ZIP).is_file()
    )


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


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------


def _check_arguments(data_home, download, checksum, url, expected_counts):
    """Every argument, checked before anything touches the disk."""
    home = movielens_home(data_home)
    if home.exists() and not home.is_dir():
        raise ValueError(f"data_home {home} exists and is not a folder")
    check_bool(download, "download")
    if checksum is not None:
        if (
            not isinstance(checksum, str)
            or len(checksum) != 64
            or any(c not in "0123456789abcdefABCDEF" for c in checksum)
        ):
            raise ValueError(
                "checksum must be a 64-character sha256 hex string (or None); got "
                f"{checksum!r}"
            )
        checksum = checksum.lower()
    if not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in (
        _URL_SCHEMES
    ):
        raise ValueError(
            f"url must be a string starting with one of {_URL_SCHEMES} followed by "
            f"'://'; got {url!r}"
        )
    if (
        isinstance(expected_counts, (str, bytes))
        or not hasattr(expected_counts, "__len__")
        or len(expected_counts) != 3
    ):
        raise ValueError(
            "expected_counts must be (num_ratings, num_users, num_items); got "
            f"{expected_counts!r}"
        )
    counts = tuple(
        check_int(v, f"expected_counts[{i}] ({name})", low=1)
        for i, (v, name) in enumerate(
            zip(expected_counts, ("num_ratings", "num_users", "num_items"))
        )
    )
    return home, checksum, counts


# ---------------------------------------------------------------------------
# Reading and checking the files
# ---------------------------------------------------------------------------


def _encoding_of(file: Path) -> str:
    """The encoding of a text member: latin-1 as GroupLens ships it, or UTF-8 when
    someone saved it again as UTF-8 (an editor's default).

    Read as latin-1, a UTF-8 file turns "Café" into mojibake ("CafÃ©"). The two are
    told apart by the bytes: latin-1 text with an accented letter (the archive's
    u.item) is not valid UTF-8, while a UTF-8 file with one decodes cleanly; a file
    of plain ASCII reads the same either way.
    """
    data = file.read_bytes()
    if data.isascii():
        return _ENCODING
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return _ENCODING
    return "utf-8"


def _lines(path: Path, name: str) -> list[str]:
    """The lines of a text member, trailing blank lines dropped (u.genre has one)."""
    text = (path / name).read_text(encoding=_encoding_of(path / name))
    lines = text.split("\n")
    while lines and lines[-1].strip() == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if line.strip() == "":
            raise ValueError(f"{path / name}: line {number} is empty")
    return lines


def _bad_rating_line(path: Path, name: str) -> str:
    """Describe the first line of a ratings file that is not 4 integer fields."""
    for number, line in enumerate(_lines(path, name), start=1):
        fields = line.rstrip("\r").split("\t")
        if len(fields) != 4:
            return (
                f"line {number} has {len(fields)} tab-separated fields, not 4 "
                f"(user id, item id, rating, timestamp): {line!r}"
            )
        for field, col in zip(fields, _RATING_COLS):
            try:
                int(field)
            except ValueError:
                return f"line {number}: {col} {field!r} is not an integer"
    return "it could not be parsed as 4 integer fields per line"


def _read_ratings(
    path: Path, name: str, counts: tuple, check_repeats: bool = True
) -> pd.DataFrame:
    """A ratings file (u.data, u1.base...) checked line by line, ids made 0-based.

    ``check_repeats=False`` skips the repeated-pair check (the split files are
    checked against u.data instead, which finds repeats too)."""
    file = path / name
    try:
        df = pd.read_csv(
            file, sep="\t", header=None, dtype=np.int64, encoding=_ENCODING
        )
        if df.shape[1] != 4:
            raise ValueError("not 4 fields")
    except (ValueError, pd.errors.ParserError):
        raise ValueError(f"{file}: {_bad_rating_line(path, name)}") from None
    df.columns = _RATING_COLS
    _, num_users, num_items = counts
    for col, upper in (("user_id", num_users), ("item_id", num_items)):
        values = df[col].to_numpy()
        bad = (values < 1) | (values > upper)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{file}: line {i + 1} has {col} {values[i]}, outside 1..{upper} (the "
                f"{'users' if col == 'user_id' else 'items'} of the archive)"
            )
    stars = df["rating"].to_numpy()
    bad = (stars < 1) | (stars > 5)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{file}: line {i + 1} has rating {stars[i]}, outside 1..5")
    repeated = (
        df.duplicated(["user_id", "item_id"]).to_numpy()
        if check_repeats
        else np.zeros(len(df), bool)
    )
    if repeated.any():
        i = int(np.flatnonzero(repeated)[0])
        raise ValueError(
            f"{file}: line {i + 1} repeats the (user, item) pair "
            f"({df['user_id'].iloc[i]}, {df['item_id'].iloc[i]})"
        )
    df["rating"] = df["rating"].astype(np.float64)
    df["user_id"] -= 1
    df["item_id"] -= 1
    return df


def _check_table_lines(path: Path, name: str, fields: int, rows: int, what: str):
    """Field count of every line, ids 1..rows in some order (u.item, u.user)."""
    lines = _lines(path, name)
    for number, line in enumerate(lines, start=1):
        got = line.rstrip("\r").split("|")
        if len(got) != fields:
            raise ValueError(
                f"{path / name}: line {number} has {len(got)} '|'-separated fields, "
                f"not {fields}; its columns would shift: {line!r}"
            )
    ids = []
    for number, line in enumerate(lines, start=1):
        head = line.split("|", 1)[0]
        if not head.isdigit():
            raise ValueError(
                f"{path / name}: line {number} has {what} id {head!r}, not an integer"
            )
        ids.append(int(head))
    if sorted(ids) != list(range(1, rows + 1)):
        raise ValueError(
            f"integrity check failed in {path}: {name} must list the {what}s 1..{rows} "
            f"once each; it has {len(ids)} lines with ids {min(ids)}..{max(ids)} "
            f"({len(set(ids))} distinct)"
        )
    return lines


def _read_items(path: Path, num_items: int) -> pd.DataFrame:
    lines = _check_table_lines(path, "u.item", _ITEM_FIELDS, num_items, "item")
    for number, line in enumerate(lines, start=1):
        flags = line.rstrip("\r").split("|")[5:]
        if any(f not in ("0", "1") for f in flags):
            raise ValueError(
                f"{path / 'u.item'}: line {number} has genre flags {flags}, not 0/1"
            )
    items = pd.read_csv(
        path / "u.item",
        sep="|",
        header=None,
        encoding=_encoding_of(path / "u.item"),
        quoting=csv.QUOTE_NONE,  # a quote in a title is a character, as above
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
    return items[["item_id", "title", "release_date", "genres", *_ML_GENRES]]


def _read_users(path: Path, num_users: int) -> pd.DataFrame:
    lines = _check_table_lines(path, "u.user", _USER_FIELDS, num_users, "user")
    for number, line in enumerate(lines, start=1):
        age = line.split("|")[1]
        if not age.isdigit():
            raise ValueError(
                f"{path / 'u.user'}: line {number} has age {age!r}, not an integer"
            )
    users = pd.read_csv(
        path / "u.user",
        sep="|",
        header=None,
        encoding=_encoding_of(path / "u.user"),
        quoting=csv.QUOTE_NONE,
        names=["user_id", "age", "gender", "occupation", "zip"],
        dtype={"zip": str},
    )
    users["user_id"] = users["user_id"].astype(np.int64) - 1
    return users


def _check_genres(path: Path) -> None:
    """u.genre (when present) must name the 19 flags of u.item in their order."""
    if not (path / "u.genre").is_file():
        return
    got = [line.split("|")[0] for line in _lines(path, "u.genre")]
    if tuple(got) != _ML_GENRES:
        raise ValueError(
            f"{path / 'u.genre'} lists the genres {got}; the loader reads the u.item "
            f"flags as {list(_ML_GENRES)}: the genre columns would be mislabelled"
        )


def _key(df: pd.DataFrame, num_items: int) -> np.ndarray:
    return df["user_id"].to_numpy() * num_items + df["item_id"].to_numpy()


def _read_split(path: Path, s: str, ratings: pd.DataFrame, counts: tuple, index):
    """One official split, checked against u.data: same rows, disjoint, complete.

    ``index`` is ``(keys of u.data, their argsort)``. Every row of base and test is
    looked up in u.data (same user, item, rating and timestamp); then each rating of
    u.data must be used exactly once: twice means a repeat within a file or a rating
    in both base and test, never means a rating missing from the split.
    """
    base = _read_ratings(path, f"{s}.base", counts, check_repeats=False)
    test = _read_ratings(path, f"{s}.test", counts, check_repeats=False)
    num_ratings, _, num_items = counts
    key_all, order = index
    found = []
    for part, df in ((f"{s}.base", base), (f"{s}.test", test)):
        k = _key(df, num_items)
        pos = np.minimum(np.searchsorted(key_all, k, sorter=order), len(order) - 1)
        rows = order[pos]
        same = (
            (key_all[rows] == k)
            & (ratings["rating"].to_numpy()[rows] == df["rating"].to_numpy())
            & (ratings["timestamp"].to_numpy()[rows] == df["timestamp"].to_numpy())
        )
        if not same.all():
            j = int(np.flatnonzero(~same)[0])
            raise ValueError(
                f"{path}: line {j + 1} of {part} is not a rating of u.data (user "
                f"{df['user_id'].iloc[j] + 1}, item {df['item_id'].iloc[j] + 1}, "
                f"rating {df['rating'].iloc[j]:g})"
            )
        found.append(rows)
    in_base = np.bincount(found[0], minlength=num_ratings)
    in_test = np.bincount(found[1], minlength=num_ratings)
    for part, used in ((f"{s}.base", in_base), (f"{s}.test", in_test)):
        if (used > 1).any():
            r = int(np.flatnonzero(used > 1)[0])
            raise ValueError(
                f"{path}: {part} repeats the rating of user "
                f"{ratings['user_id'].iloc[r] + 1} on item "
                f"{ratings['item_id'].iloc[r] + 1}"
            )
    shared = (in_base > 0) & (in_test > 0)
    if shared.any():
        r = int(np.flatnonzero(shared)[0])
        raise ValueError(
            f"{path}: {s}.base and {s}.test share {int(shared.sum())} ratings, e.g. "
            f"user {ratings['user_id'].iloc[r] + 1} on item "
            f"{ratings['item_id'].iloc[r] + 1}: a split's test must be held out of "
            "its base"
        )
    if len(base) + len(test) != num_ratings:
        raise ValueError(
            f"{path}: {s}.base ({len(base)} rows) and {s}.test ({len(test)} rows) "
            f"must hold the {num_ratings} ratings of u.data together"
        )
    return base, test


def _read_ml(path: Path, expected_counts) -> MovieLens:
    """Read and check every member of an extracted copy."""
    n_ratings, n_users, n_items = expected_counts
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    if missing:
        raise ValueError(
            f"{path} has no {', '.join(missing)}: a copy of MovieLens-100K holds "
            f"{', '.join(_REQUIRED)} (and the official splits)"
        )
    ratings = _read_ratings(path, "u.data", expected_counts)
    got = (len(ratings), ratings["user_id"].nunique(), ratings["item_id"].nunique())
    if got != (n_ratings, n_users, n_items):
        raise ValueError(
            f"integrity check failed in {path}: expected {n_ratings} ratings by "
            f"{n_users} users on {n_items} items (expected_counts); u.data has "
            f"{got[0]} ratings, {got[1]} users, {got[2]} items"
        )
    _check_genres(path)
    items = _read_items(path, n_items)
    users = _read_users(path, n_users)
    splits = {}
    key_all = _key(ratings, n_items)
    index = (key_all, np.argsort(key_all, kind="stable"))
    for s in ML100K_SPLITS:
        present = [(path / f"{s}.{p}").is_file() for p in ("base", "test")]
        if any(present) and not all(present):
            missing = f"{s}.test" if present[0] else f"{s}.base"
            raise ValueError(f"{path}: {s} is incomplete, {missing} is missing")
        if all(present):
            splits[s] = _read_split(path, s, ratings, expected_counts, index)
    return MovieLens(ratings, items, users, splits, n_users, n_items, path)


# ---------------------------------------------------------------------------
# Download, extraction, lock
# ---------------------------------------------------------------------------


def _download(url: str, dest: Path, timeout: float = 30.0) -> None:
    """Download to a temporary file beside ``dest``, then link it into place.

    The link fails if ``dest`` appeared meanwhile: a file someone else put there is
    never replaced.
    """
    fd, tmp = tempfile.mkstemp(prefix=_DOWNLOAD_PREFIX, suffix=".part", dir=dest.parent)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=timeout) as resp,
        ):
            shutil.copyfileobj(resp, out)
        try:
            os.link(tmp, dest)  # atomic, and never over an existing file
        except FileExistsError:
            pass  # someone placed an archive meanwhile: theirs is used
        except OSError:  # a file system without hard links
            if not dest.exists():
                os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


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


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    """Hold the cache folder's lock: one process downloads and extracts at a time."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(home / _LOCK), timeout=_LOCK_TIMEOUT)
    try:
        lock.acquire()
    except Timeout:
        raise MovieLensUnavailable(
            f"another process has held the lock {home / _LOCK} for more than "
            f"{_LOCK_TIMEOUT:.0f} s while preparing MovieLens-100K; try again later"
        ) from None
    except OSError as exc:
        raise MovieLensUnavailable(
            f"cannot lock the cache folder {home} to prepare MovieLens-100K ({exc}); "
            "is it writable? Set RECSYS_DATA_HOME to a writable folder"
        ) from exc
    try:
        yield
    finally:
        lock.release()


def _clean_stale(home: Path) -> None:
    """Remove what interrupted loaders left (under the lock nobody else is working):
    only folders and files named with the loader's own temporary prefixes."""
    for entry in home.iterdir():
        if entry.name.startswith(_EXTRACT_PREFIX) and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(_DOWNLOAD_PREFIX) and entry.is_file():
            entry.unlink(missing_ok=True)


def _read_existing(folder: Path, counts, checksum) -> MovieLens:
    """Read a copy already in place (the loader's or the user's); change nothing."""
    marker = folder / _MARKER
    ours = marker.is_file()
    if ours and checksum is not None:
        made_from = marker.read_text().strip()
        if made_from != checksum:
            raise ValueError(
                f"checksum mismatch: the extracted copy {folder} was made from an "
                f"archive with sha256 {made_from}, not {checksum}. Nothing was "
                "changed; delete that folder to extract the archive again"
            )
    try:
        return _read_ml(folder, counts)
    except ValueError as exc:
        whose = (
            "extracted earlier by load_movielens_100k"
            if ours
            else "not extracted by the loader (no .verified marker)"
        )
        raise ValueError(
            f"{exc}. The folder {folder} ({whose}) was left untouched: if "
            "expected_counts is right, move that folder away and call again to "
            "extract the archive afresh"
        ) from None


def _check_members(zip_path: Path, names: list) -> None:
    """The archive holds the members the loader reads, before anything is extracted."""
    missing = [n for n in _REQUIRED if f"{_ML_DIR}/{n}" not in names]
    if missing:
        held = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        raise ValueError(
            f"{zip_path} is not the MovieLens-100K archive: it has no "
            f"{', '.join(f'{_ML_DIR}/{n}' for n in missing)} (expected "
            f"{', '.join(f'{_ML_DIR}/{n}' for n in _REQUIRED)}; it holds "
            f"{held or 'nothing'})"
        )


def _extract_member(zf: zipfile.ZipFile, name: str, dest: Path, zip_path: Path):
    """Extract one member; a damaged one is a ValueError naming it and the archive."""
    try:
        zf.extract(name, dest)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise ValueError(
            f"{zip_path} is damaged: its member {name} cannot be decompressed "
            f"({type(exc).__name__}: {exc}); a complete MovieLens-100K archive is "
            "expected (download it again)"
        ) from None


def _extract(zip_path: Path, home: Path, counts) -> MovieLens:
    """Extract into a temporary folder, check everything, mark it, rename it."""
    tmp = Path(tempfile.mkdtemp(prefix=_EXTRACT_PREFIX, dir=home))
    try:
        try:
            with zipfile.ZipFile(zip_path) as zf:
                names = _safe_members(zf)
                _check_members(zip_path, names)
                for name in names:  # one at a time: an error names its member
                    _extract_member(zf, name, tmp, zip_path)
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{zip_path} is not a valid zip archive: {exc}") from None
        src = tmp / _ML_DIR
        data = _read_ml(src, counts)
        (src / _MARKER).write_text(_sha256(zip_path) + "\n")
        final = home / _ML_DIR
        os.rename(src, final)  # atomic; under the lock, final does not exist
        data.path = final
        return data
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_movielens_100k(
    data_home=None,
    download: bool = True,
    checksum: str | None = None,
    url: str = ML100K_URL,
    expected_counts: tuple = ML100K_COUNTS,
) -> MovieLens:
    """Load MovieLens-100K, downloading and caching it on first use.

    Order: a copy already extracted in the cache (``ml-100k/``, by the loader or by
    hand); else the cached ``ml-100k.zip``; else a download from ``url`` (to a
    temporary file linked into place when complete). The archive's members are
    checked (no absolute path, no ``..``) before anything is extracted; extraction
    goes to a temporary folder that is checked completely (see the module docstring)
    and renamed to ``ml-100k/`` at the end, under a lock shared by every process
    loading into the same folder. Nothing the loader did not write is ever deleted.

    Args:
        data_home: cache directory (default ``$RECSYS_DATA_HOME`` or
            ``~/.cache/recsys_utils``).
        download: allow a download when the cache is empty (``True`` or ``False``).
        checksum: expected sha256 of the zip (e.g. ``ML100K_SHA256``); ``None`` skips
            the hash check (the content checks always run).
        url: where to download from (``http``, ``https``, ``ftp`` or ``file``).
        expected_counts: ``(num_ratings, num_users, num_items)`` the data must have.

    Returns:
        a :class:`MovieLens`.

    Raises:
        MovieLensUnavailable: not cached and the download failed or is disabled; the
            message says where to put ``ml-100k.zip`` by hand.
        ValueError: a bad argument (before anything is read or written); a wrong
            checksum, an unsafe or corrupted archive, a failed content check. An
            archive the user placed is left in place; one this call downloaded is
            removed.
    """
    home, checksum, counts = _check_arguments(
        data_home, download, checksum, url, expected_counts
    )
    folder = home / _ML_DIR
    if (folder / _MARKER).is_file() or _extracted_by_user(folder):
        return _read_existing(folder, counts, checksum)  # no lock needed: read only

    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MovieLensUnavailable(
            f"cannot create the cache folder {home}: {exc}"
        ) from exc
    with _locked(home):
        # another process may have finished while this one waited for the lock
        if (folder / _MARKER).is_file() or _extracted_by_user(folder):
            return _read_existing(folder, counts, checksum)
        _clean_stale(home)
        if os.path.lexists(folder):
            if (
                folder.is_dir()
                and not folder.is_symlink()
                and not any(folder.iterdir())
            ):
                folder.rmdir()  # empty: nothing to lose (rmdir refuses otherwise)
            else:
                raise ValueError(
                    f"{folder} exists but does not hold MovieLens-100K (no u.data) and "
                    "was not made by the loader; it was left untouched. Move it away "
                    "(or set data_home to another folder) and call again"
                )
        zip_path = home / _ML_ZIP
        downloaded = False
        if not zip_path.is_file():
            if os.path.lexists(zip_path):
                raise ValueError(
                    f"{zip_path} exists but is not a file; it was left untouched"
                )
            if not download:
                raise MovieLensUnavailable(
                    f"MovieLens-100K is not in the cache {home} and download=False. "
                    + _manual_instructions(home, url)
                )
            try:
                _download(url, zip_path)
            except (
                urllib.error.URLError,
                http.client.HTTPException,
                OSError,
                ValueError,
            ) as exc:
                raise MovieLensUnavailable(
                    f"could not download MovieLens-100K from {url}: {exc}. "
                    + _manual_instructions(home, url)
                ) from exc
            downloaded = True
        try:
            if checksum is not None:
                digest = _sha256(zip_path)
                if digest != checksum:
                    raise ValueError(
                        f"checksum mismatch for {zip_path}: expected sha256 "
                        f"{checksum}, got {digest}"
                    )
            return _extract(zip_path, home, counts)
        except ValueError as exc:
            if downloaded:  # the loader's own download, found bad: remove it
                zip_path.unlink(missing_ok=True)
                note = "the archive downloaded just now was removed"
            else:
                note = f"your archive {zip_path} was left in place"
            raise ValueError(f"{exc} ({note})") from None
