"""MovieLens-100K loader, tested offline against a small archive in the same format
served by a local HTTP server (tests/movielens_tiny.py). What goes wrong, and that
nothing the user placed is ever lost: tests/test_loader_faults.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from movielens_tiny import (
    COUNTS,
    RATINGS,
    Server,
    build_zip,
    closed_port_url,
    leftovers,
)

from recsys_utils.movielens import (
    MovieLensUnavailable,
    load_movielens_100k,
    movielens_available,
    movielens_home,
)


@pytest.fixture
def serve():
    servers = []

    def start(payload):
        servers.append(Server(payload))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def test_download_parse_and_cache_reuse(tmp_path, serve):
    server = serve(build_zip())
    assert not movielens_available(tmp_path)
    ml = load_movielens_100k(tmp_path, url=server.url, expected_counts=COUNTS)
    assert server.requests == 1
    assert (ml.num_users, ml.num_items) == (4, 3)
    # 0-based ids, float ratings, int timestamps
    assert ml.ratings["user_id"].tolist() == [u - 1 for u, *_ in RATINGS]
    assert ml.ratings["item_id"].tolist() == [i - 1 for _, i, *_ in RATINGS]
    assert ml.ratings["rating"].dtype == np.float64
    assert ml.ratings["timestamp"].iloc[0] == 881250949
    # latin-1 titles and genres
    assert ml.items["title"].tolist()[0] == "Café au lait (1995)"
    assert ml.items["title"].tolist()[2] == "Amélie (2001)"
    assert ml.items["genres"].tolist()[1] == ["Animation", "Children's", "Comedy"]
    assert ml.items["Drama"].tolist() == [0, 0, 1]
    assert ml.users.loc[1, "gender"] == "F" and ml.users.loc[0, "zip"] == "85711"
    assert sorted(ml.splits) == ["u1", "u2", "u3", "u4", "u5", "ua", "ub"]
    train, test = ml.splits["u1"]
    assert len(train) == 6 and len(test) == 2 and test["user_id"].min() == 3
    assert movielens_available(tmp_path)
    # second call: served from the cache, no request
    ml2 = load_movielens_100k(tmp_path, url=server.url, expected_counts=COUNTS)
    assert server.requests == 1
    assert ml2.ratings.equals(ml.ratings)
    assert not [p for p in leftovers(tmp_path) if p.startswith(".")]


def test_cached_zip_is_used_without_network(tmp_path):
    (tmp_path / "ml-100k.zip").write_bytes(build_zip())
    assert movielens_available(tmp_path)
    ml = load_movielens_100k(tmp_path, url=closed_port_url(), expected_counts=COUNTS)
    assert len(ml.ratings) == 8


def test_checksum_good_and_wrong(tmp_path, serve):
    payload = build_zip()
    server = serve(payload)
    with pytest.raises(ValueError, match="checksum mismatch.*downloaded just now"):
        load_movielens_100k(
            tmp_path, url=server.url, checksum="0" * 64, expected_counts=COUNTS
        )
    assert leftovers(tmp_path) == []  # the loader's own bad download is removed
    good = hashlib.sha256(payload).hexdigest()
    ml = load_movielens_100k(
        tmp_path, url=server.url, checksum=good, expected_counts=COUNTS
    )
    assert len(ml.ratings) == 8
    with pytest.raises(ValueError, match="checksum must be"):
        load_movielens_100k(tmp_path, checksum="abc")


def test_corrupted_archive_leaves_nothing(tmp_path, serve):
    server = serve(b"this is not a zip file" * 10)
    with pytest.raises(ValueError, match="not a valid zip"):
        load_movielens_100k(tmp_path, url=server.url, expected_counts=COUNTS)
    assert leftovers(tmp_path) == []
    assert not movielens_available(tmp_path)


def test_integrity_check_uses_expected_counts(tmp_path, serve):
    server = serve(build_zip())
    # default expectations are the official 100,000 / 943 / 1,682: the tiny one fails
    with pytest.raises(ValueError, match="integrity check failed"):
        load_movielens_100k(tmp_path, url=server.url)
    assert leftovers(tmp_path) == []


def test_path_traversal_rejected_before_extraction(tmp_path, serve):
    home = tmp_path / "cache"
    server = serve(
        build_zip(extra_members={"../evil.txt": b"x", "ml-100k/../../evil2.txt": b"y"})
    )
    with pytest.raises(ValueError, match="unsafe path"):
        load_movielens_100k(home, url=server.url, expected_counts=COUNTS)
    assert (
        not (tmp_path / "evil.txt").exists() and not (tmp_path / "evil2.txt").exists()
    )
    assert leftovers(home) == []
    server2 = serve(build_zip(extra_members={"/abs/evil.txt": b"x"}))
    with pytest.raises(ValueError, match="unsafe path"):
        load_movielens_100k(home, url=server2.url, expected_counts=COUNTS)
    assert leftovers(home) == []


def test_offline_error_says_where_to_put_the_zip(tmp_path):
    url = closed_port_url()
    with pytest.raises(MovieLensUnavailable) as info:
        load_movielens_100k(tmp_path, url=url, expected_counts=COUNTS)
    msg = str(info.value)
    assert "could not download" in msg and url in msg
    assert str(tmp_path / "ml-100k.zip") in msg
    assert isinstance(info.value, RuntimeError)
    assert leftovers(tmp_path) == []
    with pytest.raises(MovieLensUnavailable, match="download=False"):
        load_movielens_100k(tmp_path / "other", download=False)


def test_home_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_DATA_HOME", str(tmp_path / "env"))
    assert movielens_home() == tmp_path / "env"
    assert movielens_home(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("RECSYS_DATA_HOME")
    assert movielens_home() == Path.home() / ".cache" / "recsys_utils"
