"""What can go wrong when MovieLens-100K is loaded, and that nothing is lost.

Every test snapshots the files the user placed (archive, own folders) and asserts
they are all still there, byte for byte, whatever the outcome; errors are asserted by
type and by a message that names the argument or the file that was wrong.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from movielens_tiny import (
    COUNTS,
    RATINGS,
    Server,
    assert_kept,
    build_zip,
    damaged_zip,
    leftovers,
    ratings_text,
    snapshot,
    tiny_files,
    zip_of,
)

from recsys_utils import movielens as ML
from recsys_utils.movielens import (
    MovieLensUnavailable,
    load_movielens_100k,
    movielens_available,
)


def load(home, **kw):
    kw = {"download": False, "expected_counts": COUNTS, **kw}
    return load_movielens_100k(home, **kw)


@pytest.fixture
def home(tmp_path) -> Path:
    """A cache folder holding an archive the user placed by hand."""
    (tmp_path / "ml-100k.zip").write_bytes(build_zip())
    return tmp_path


@pytest.fixture
def serve():
    servers = []

    def start(payload, delay=0.0):
        servers.append(Server(payload, delay))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


# ---------------------------------------------------------------------------
# Bad arguments: refused before anything touches the disk
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"checksum": "abc"}, "checksum must be a 64-character"),
        ({"checksum": 123}, "checksum must be a 64-character"),
        ({"checksum": "g" * 64}, "checksum must be a 64-character"),
        ({"expected_counts": (1, 2)}, "expected_counts must be"),
        ({"expected_counts": None}, "expected_counts must be"),
        ({"expected_counts": "843"}, "expected_counts must be"),
        ({"expected_counts": ("a", 4, 3)}, r"expected_counts\[0\] \(num_ratings\)"),
        ({"expected_counts": (8, 4.0, 3)}, r"expected_counts\[1\] \(num_users\)"),
        ({"expected_counts": (8, 4, 0)}, r"expected_counts\[2\] \(num_items\)"),
        ({"download": "no"}, "download must be True or False"),
        ({"url": 42}, "url must be a string"),
        ({"url": "not a url"}, "url must be a string"),
    ],
)
def test_bad_arguments_touch_nothing(home, kwargs, match):
    before = snapshot(home)
    listing = sorted(os.listdir(home))
    with pytest.raises(ValueError, match=match):
        load(home, **kwargs)
    assert_kept(before)
    assert sorted(os.listdir(home)) == listing  # not even the lock file


def test_data_home_that_is_a_file_or_not_a_path(tmp_path):
    (tmp_path / "cache").write_text("mine")
    with pytest.raises(ValueError, match="data_home .*cache exists and is not a"):
        load(tmp_path / "cache")
    assert (tmp_path / "cache").read_text() == "mine"
    with pytest.raises(ValueError, match="data_home"):
        load(12)


# ---------------------------------------------------------------------------
# Wrong checksum, wrong counts, a bad archive: the user's archive stays
# ---------------------------------------------------------------------------


def test_wrong_checksum_keeps_the_users_archive(home):
    before = snapshot(home)
    with pytest.raises(ValueError, match="checksum mismatch.*left in place"):
        load(home, checksum="0" * 64)
    assert_kept(before)
    assert leftovers(home) == ["ml-100k.zip"]
    good = hashlib.sha256((home / "ml-100k.zip").read_bytes()).hexdigest()
    assert len(load(home, checksum=good.upper()).ratings) == 8


def test_wrong_counts_keep_the_archive_and_the_next_call_works(home):
    before = snapshot(home)
    with pytest.raises(ValueError, match=r"integrity check failed.*expected_counts"):
        load(home, expected_counts=(9, 4, 3))
    assert_kept(before)
    assert leftovers(home) == ["ml-100k.zip"]  # no half-extracted folder
    assert len(load(home).ratings) == 8
    assert (home / "ml-100k" / ".verified").is_file()


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"not a zip" * 10, "not a valid zip archive"),
        (build_zip(extra_members={"../evil.txt": b"x"}), "unsafe path"),
        (build_zip(extra_members={"/abs.txt": b"x"}), "unsafe path"),
    ],
    # named ids: the archives' bytes hold the time they were built, so ids made from
    # them differ between pytest-xdist's workers and the run stops at collection
    ids=["not-a-zip", "member-outside-the-folder", "absolute-member"],
)
def test_bad_archive_of_the_user_is_kept(tmp_path, payload, match):
    (tmp_path / "ml-100k.zip").write_bytes(payload)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match=match + ".*left in place"):
        load(tmp_path)
    assert_kept(before)
    assert leftovers(tmp_path) == ["ml-100k.zip"]
    assert not (tmp_path.parent / "evil.txt").exists()


def test_bad_download_is_removed_and_says_so(tmp_path, serve):
    server = serve(b"garbage" * 50)
    with pytest.raises(ValueError, match="not a valid zip.*downloaded just now"):
        load_movielens_100k(tmp_path, url=server.url, expected_counts=COUNTS)
    assert leftovers(tmp_path) == []  # the loader's own bad download only


def test_download_never_replaces_an_archive_placed_meanwhile(tmp_path, serve):
    server = serve(build_zip())
    dest = tmp_path / "ml-100k.zip"
    dest.write_bytes(b"the user's file")
    ML._download(server.url, dest)  # the loader checks first; this is the last guard
    assert dest.read_bytes() == b"the user's file"
    assert leftovers(tmp_path) == ["ml-100k.zip"]


# ---------------------------------------------------------------------------
# Folders the loader did not make
# ---------------------------------------------------------------------------


def test_users_own_folder_named_ml_100k_is_never_wiped(home):
    mine = home / "ml-100k"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    before = snapshot(home)
    with pytest.raises(ValueError, match="ml-100k exists but does not hold"):
        load(home)
    assert_kept(before)
    assert sorted(os.listdir(mine)) == ["notes.txt"]


def test_a_copy_extracted_by_hand_is_read_in_place_and_not_changed(tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    for name, text in tiny_files().items():
        (folder / name).write_bytes(text.encode("latin-1"))
    before = snapshot(tmp_path)
    listing = sorted(os.listdir(folder))
    assert movielens_available(tmp_path)
    ml = load(tmp_path)
    assert len(ml.ratings) == 8 and ml.path == folder
    assert_kept(before)
    assert sorted(os.listdir(folder)) == listing  # no marker written into it


def test_symlinked_folder_is_followed_or_left_alone(home, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "keep.txt").write_text("keep me")
    (home / "ml-100k").symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(home, elsewhere)
    with pytest.raises(ValueError, match="ml-100k exists but does not hold"):
        load(home)
    assert_kept(before)
    assert (home / "ml-100k").is_symlink()
    # a symlink to a folder holding the files is read through
    for name, text in tiny_files().items():
        (elsewhere / name).write_bytes(text.encode("latin-1"))
    assert len(load(home).ratings) == 8
    assert (elsewhere / "keep.txt").read_text() == "keep me"


def test_a_file_named_ml_100k_is_left_alone(home):
    (home / "ml-100k").write_text("a file, not a folder")
    before = snapshot(home)
    with pytest.raises(ValueError, match="ml-100k exists but does not hold"):
        load(home)
    assert_kept(before)


def test_an_empty_folder_is_used(home):
    (home / "ml-100k").mkdir()
    before = snapshot(home)
    assert len(load(home).ratings) == 8
    assert_kept(before)
    assert (home / "ml-100k" / ".verified").is_file()


def test_leftovers_of_a_killed_loader_are_cleaned_and_nothing_else(home):
    stale = home / ".ml-100k-extract-dead" / "ml-100k"
    stale.mkdir(parents=True)
    (stale / "u.data").write_text("1\t1\t5\t1\n")
    (home / ".ml-100k-download-dead.part").write_bytes(b"half")
    (home / "my-file.txt").write_text("mine")
    before = snapshot(home / "ml-100k.zip", home / "my-file.txt")
    assert len(load(home).ratings) == 8
    assert_kept(before)
    assert leftovers(home) == ["ml-100k", "ml-100k.zip", "my-file.txt"]


def test_a_verified_copy_that_fails_its_check_is_left_untouched(home):
    load(home)
    (home / "ml-100k" / "u.data").write_text(ratings_text(RATINGS[:7]))
    before = snapshot(home)
    with pytest.raises(ValueError, match="integrity check failed.*left untouched"):
        load(home)
    assert_kept(before)
    with pytest.raises(ValueError, match="checksum mismatch: the extracted copy"):
        load(home, checksum="0" * 64)
    assert_kept(before)


def test_a_failed_rename_leaves_no_half_copy(home, monkeypatch):
    before = snapshot(home)

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ML.os, "rename", broken)
    with pytest.raises(OSError, match="No space left"):
        load(home)
    assert_kept(before)
    assert leftovers(home) == ["ml-100k.zip"]


def test_lock_held_too_long_is_a_clear_error(home, monkeypatch):
    from filelock import FileLock

    monkeypatch.setattr(ML, "_LOCK_TIMEOUT", 0.2)
    before = snapshot(home)
    with FileLock(str(home / ".ml-100k.lock")):
        with pytest.raises(MovieLensUnavailable, match="held the lock"):
            load(home)
    assert_kept(before)
    assert len(load(home).ratings) == 8  # released: the next call works


# ---------------------------------------------------------------------------
# Every member file is checked
# ---------------------------------------------------------------------------

_DATA = tiny_files()


@pytest.mark.parametrize(
    "overrides, match",
    [
        (  # Toy Story would become a Western: the genre columns shift
            {"u.item": _DATA["u.item"].replace("|01-Jan-1995||", "|01-Jan-1995|", 1)},
            r"u\.item: line 1 has 23 '\|'-separated fields, not 24",
        ),
        (
            {"u.item": _DATA["u.item"].replace("|1|0", "|2|0", 1)},
            r"u\.item: line 1 has genre flags",
        ),
        (
            {"u.item": "\n".join(_DATA["u.item"].split("\n")[:2]) + "\n"},
            r"u\.item must list the items 1\.\.3",
        ),
        (
            {"u.user": _DATA["u.user"].replace("1|24|M|", "1|M|", 1)},
            r"u\.user: line 1 has 4 '\|'-separated fields, not 5",
        ),
        (
            {"u.user": _DATA["u.user"].replace("2|53|", "2|fifty|", 1)},
            r"u\.user: line 2 has age 'fifty'",
        ),
        (
            {"u.data": _DATA["u.data"].replace("\t881250949", "", 1)},
            r"u\.data: line 1 has 3 tab-separated fields, not 4",
        ),
        (
            {"u.data": _DATA["u.data"].replace("\t5\t881250949", "\t4.5\t1", 1)},
            r"u\.data: line 1: rating '4\.5' is not an integer",
        ),
        (
            {"u.data": _DATA["u.data"].replace("\t5\t881250949", "\t6\t1", 1)},
            r"u\.data: line 1 has rating 6, outside 1\.\.5",
        ),
        (
            {"u.data": _DATA["u.data"].replace("1\t2\t3", "1\t1\t3", 1)},
            r"u\.data: line 2 repeats the \(user, item\) pair",
        ),
        (
            {"u1.test": "9\t1\t3\t884182806\n4\t3\t5\t881171488\n"},
            r"u1\.test: line 1 has user_id 9, outside 1\.\.4",
        ),
        (
            {"u2.test": ratings_text([RATINGS[0], RATINGS[7]])},
            "u2.base and u2.test share 1 ratings",
        ),
        (
            {"u3.test": ratings_text([RATINGS[6]])},
            r"u3\.base \(6 rows\) and u3\.test \(1 rows\) must hold the 8 ratings",
        ),
        (
            {"u4.test": ratings_text([(4, 1, 2, 884182806), RATINGS[7]])},
            r"line 1 of u4\.test is not a rating of u\.data",
        ),
        (
            {"u5.base": ratings_text(RATINGS[:5] + [RATINGS[4]])},
            r"u5\.base repeats the rating of user 3 on item 2",
        ),
        ({"ua.test": None}, "ua is incomplete, ua.test is missing"),
        (
            {"u.genre": _DATA["u.genre"].replace("Action|1", "Drama|1", 1)},
            "the genre columns would be mislabelled",
        ),
    ],
)
def test_every_member_file_is_checked(tmp_path, overrides, match):
    (tmp_path / "ml-100k.zip").write_bytes(build_zip(**overrides))
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match=match):
        load(tmp_path)
    assert_kept(before)
    assert leftovers(tmp_path) == ["ml-100k.zip"]


def test_the_tiny_archive_itself_passes(home):
    ml = load(home)
    assert ml.items["genres"].tolist()[1] == ["Animation", "Children's", "Comedy"]
    train, test = ml.splits["ub"]
    assert len(train) + len(test) == 8


# ---------------------------------------------------------------------------
# Several processes at once
# ---------------------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    home, go, url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    counts = tuple(int(c) for c in sys.argv[4].split(","))
    from recsys_utils.movielens import load_movielens_100k
    Path(str(go) + "." + sys.argv[5]).touch()  # ready
    while not go.exists():
        time.sleep(0.002)
    ml = load_movielens_100k(home, url=url, expected_counts=counts)
    print("loaded", len(ml.ratings), ml.path)
    """
)


def _start(home: Path, go: Path, number: int, url: str, counts) -> subprocess.Popen:
    """A loader process: it imports, says it is ready, waits for ``go``, loads."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [str(home), str(go), url, ",".join(map(str, counts)), str(number)]
    return subprocess.Popen(
        [sys.executable, "-c", _WORKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_ready(go: Path, numbers) -> None:
    deadline = time.monotonic() + 300
    while not all(Path(f"{go}.{n}").exists() for n in numbers):
        assert time.monotonic() < deadline, "the loader processes never started"
        time.sleep(0.01)


def _load_at_once(
    home: Path, processes: int, url: str = "http://127.0.0.1:9/x", counts=COUNTS
):
    go = home.parent / f"{home.name}.go"
    workers = [_start(home, go, n, url, counts) for n in range(processes)]
    _wait_ready(go, range(processes))  # every worker imported: start them together
    go.touch()
    results = [w.communicate(timeout=600) for w in workers]
    return [(w.returncode, out, err) for w, (out, err) in zip(workers, results)]


def test_a_loader_waits_while_another_holds_the_lock(home):
    """Deterministic: the lock serialises loaders (without it, this one would
    extract at once, into the folder the other is still writing)."""
    from filelock import FileLock

    go = home.parent / f"{home.name}.go"
    go.touch()
    before = snapshot(home)
    with FileLock(str(home / ".ml-100k.lock")):  # another loader is at work
        worker = _start(home, go, 0, "http://127.0.0.1:9/x", COUNTS)
        _wait_ready(go, [0])
        time.sleep(2.0)  # ample time to extract the tiny archive
        assert worker.poll() is None, worker.communicate()
        assert not (home / "ml-100k").exists()
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err[-2000:]
    assert out.startswith("loaded 8 ")
    assert_kept(before)


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_loading_at_once_all_succeed(tmp_path, movielens_standin, processes):
    # the full-size stand-in: each load reads and checks for a while, so the
    # processes overlap as two notebooks (or pytest-xdist workers) would
    home = tmp_path
    shutil.copy(movielens_standin / "ml-100k.zip", home / "ml-100k.zip")
    before = snapshot(home)
    results = _load_at_once(home, processes, counts=ML.ML100K_COUNTS)
    for code, out, err in results:
        assert code == 0, err[-2000:]
        assert out.startswith("loaded 100000 ")
        assert out.split()[-1] == str(home / "ml-100k")
    assert_kept(before)
    assert leftovers(home) == ["ml-100k", "ml-100k.zip"]  # no temporary folder left
    assert (home / "ml-100k" / ".verified").is_file()


def test_processes_downloading_at_once_download_once(tmp_path, serve):
    server = serve(build_zip(), delay=1.0)  # every process asks before one is done
    results = _load_at_once(tmp_path, 3, server.url)
    for code, out, err in results:
        assert code == 0, err[-2000:]
        assert out.startswith("loaded 8 ")
    assert server.requests == 1  # the others waited for the lock, then read
    assert leftovers(tmp_path) == ["ml-100k", "ml-100k.zip"]


# ---------------------------------------------------------------------------
# Encodings, damaged and incomplete archives: decoded right, or a clear error
# ---------------------------------------------------------------------------


def _members(encoding="latin-1", **overrides) -> dict[str, bytes]:
    return {n: t.encode(encoding) for n, t in tiny_files(**overrides).items()}


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_u_item_saved_as_utf8_is_read_without_mojibake(tmp_path, encoding):
    # GroupLens ships latin-1; an editor may save it again as UTF-8. Read as latin-1,
    # UTF-8 "Café" would become "CafÃ©".
    members = _members()
    members["u.item"] = tiny_files()["u.item"].encode(encoding)
    (tmp_path / "ml-100k.zip").write_bytes(zip_of(members))
    titles = load(tmp_path).items["title"].tolist()
    assert titles == ["Café au lait (1995)", "Toy Story (1995)", "Amélie (2001)"]
    assert not any("Ã" in t for t in titles)


def test_the_encoding_is_told_by_the_bytes(tmp_path):
    cases = {
        "latin1.txt": ("Café", "latin-1", "latin-1"),
        "utf8.txt": ("Café", "utf-8", "utf-8"),
        "ascii.txt": ("Cafe", "ascii", "latin-1"),  # the same text either way
    }
    for name, (text, encoding, _) in cases.items():
        (tmp_path / name).write_bytes(text.encode(encoding))
    got = {name: ML._encoding_of(tmp_path / name) for name in cases}
    assert got == {name: want for name, (_, _, want) in cases.items()}


def test_a_damaged_deflated_archive_is_a_clear_error(tmp_path):
    archive = tmp_path / "ml-100k.zip"
    archive.write_bytes(damaged_zip("u.item"))  # u.item's stream garbled
    before = snapshot(tmp_path)
    with pytest.raises(
        ValueError,
        match=r"ml-100k\.zip is damaged: its member ml-100k/u\.item cannot be "
        r"decompressed \(error: .*\); a complete MovieLens-100K archive is "
        r"expected.*left in place",
    ):
        load(tmp_path)
    assert_kept(before)
    assert leftovers(tmp_path) == ["ml-100k.zip"]  # no half-extracted folder


@pytest.mark.parametrize("member", ["u.item", "u.user", "u.data"])
def test_an_archive_without_a_member_names_it(tmp_path, member):
    members = _members()
    members.pop(member)
    (tmp_path / "ml-100k.zip").write_bytes(zip_of(members))
    before = snapshot(tmp_path)
    with pytest.raises(
        ValueError,
        match=rf"{tmp_path / 'ml-100k.zip'} is not the MovieLens-100K archive: it has "
        rf"no ml-100k/{member} \(expected ml-100k/u\.data, ml-100k/u\.item, "
        r"ml-100k/u\.user; it holds ml-100k/.*left in place",
    ):
        load(tmp_path)
    assert_kept(before)
    assert leftovers(tmp_path) == ["ml-100k.zip"]


def test_a_folder_extracted_by_hand_without_u_item_names_it(tmp_path):
    for name, data in _members().items():
        if name != "u.item":
            (tmp_path / "ml-100k").mkdir(exist_ok=True)
            (tmp_path / "ml-100k" / name).write_bytes(data)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match=r"ml-100k has no u\.item: a copy of"):
        load(tmp_path)
    assert_kept(before)
