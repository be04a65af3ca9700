"""MovieLens-100K loader, tested offline against a small archive in the same format
served by a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from recsys_utils.movielens import (
    MovieLensUnavailable,
    load_movielens_100k,
    movielens_available,
    movielens_home,
)

GENRES = [
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
]
# 4 users, 3 items, 8 ratings (1-based ids as in the real files)
RATINGS = [
    (1, 1, 5, 881250949),
    (1, 2, 3, 881250950),
    (2, 1, 4, 891717742),
    (2, 3, 1, 878887116),
    (3, 2, 2, 880606923),
    (3, 3, 4, 886397596),
    (4, 1, 3, 884182806),
    (4, 3, 5, 881171488),
]
COUNTS = (8, 4, 3)


def _ratings_text(rows):
    return "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows)


def build_zip(extra_members=None, ratings=RATINGS) -> bytes:
    """A tiny archive in the ML-100K layout (latin-1 text files)."""
    item_rows = [
        [
            "1",
            "Café au lait (1995)",
            "01-Jan-1995",
            "",
            "http://x",
            *(["0"] * 5 + ["1"] + ["0"] * 13),
        ],
        [
            "2",
            "Toy Story (1995)",
            "01-Jan-1995",
            "",
            "http://y",
            *(["0", "0", "0", "1", "1", "1"] + ["0"] * 13),
        ],
        [
            "3",
            "Amélie (2001)",
            "01-Jan-2001",
            "",
            "http://z",
            *(["0"] * 8 + ["1"] + ["0"] * 5 + ["1"] + ["0"] * 4),
        ],
    ]
    files = {
        "u.data": _ratings_text(ratings),
        "u.item": "".join("|".join(r) + "\n" for r in item_rows),
        "u.user": "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n4|24|M|technician|43537\n",
        "u.genre": "".join(f"{g}|{k}\n" for k, g in enumerate(GENRES)),
    }
    for s in ("u1", "u2", "u3", "u4", "u5", "ua", "ub"):
        files[f"{s}.base"] = _ratings_text(ratings[:6])
        files[f"{s}.test"] = _ratings_text(ratings[6:])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(f"ml-100k/{name}", text.encode("latin-1"))
        for name, data in (extra_members or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


class Server:
    """Serves a byte string at /ml-100k.zip on 127.0.0.1 and counts requests."""

    def __init__(self, payload: bytes):
        self.payload, self.requests = payload, 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.payload)))
                self.end_headers()
                self.wfile.write(outer.payload)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ml-100k.zip"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def serve():
    servers = []

    def start(payload):
        servers.append(Server(payload))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/ml-100k.zip"


def leftovers(home: Path) -> list:
    return sorted(p.name for p in home.iterdir()) if home.exists() else []


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
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_movielens_100k(
            tmp_path, url=server.url, checksum="0" * 64, expected_counts=COUNTS
        )
    assert leftovers(tmp_path) == []
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
    # default expectations are the official 100,000 / 943 / 1,682: the tiny archive fails
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
