"""A tiny archive in the MovieLens-100K layout, a local HTTP server, and file
snapshots: what the loader tests share (tests/test_movielens.py and
tests/test_loader_faults.py)."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
import time
import zipfile
from pathlib import Path

from recsys_utils.movielens import _ML_GENRES

GENRES = list(_ML_GENRES)  # the 19 genre flags of u.item, in their order
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
SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
#: files the loader itself may leave in the cache folder
LOADER_FILES = {".ml-100k.lock"}


def ratings_text(rows) -> str:
    return "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows)


def tiny_files(**overrides) -> dict[str, str]:
    """The members of ``ml-100k/`` (name -> text); ``overrides`` replace some (a
    value of None removes the member)."""
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
        "u.data": ratings_text(RATINGS),
        "u.item": "".join("|".join(r) + "\n" for r in item_rows),
        "u.user": "1|24|M|technician|85711\n2|53|F|other|94043\n"
        "3|23|M|writer|32067\n4|24|M|technician|43537\n",
        "u.genre": "".join(f"{g}|{k}\n" for k, g in enumerate(GENRES)) + "\n",
    }
    for s in SPLITS:
        files[f"{s}.base"] = ratings_text(RATINGS[:6])
        files[f"{s}.test"] = ratings_text(RATINGS[6:])
    for name, text in overrides.items():
        if text is None:
            files.pop(name, None)
        else:
            files[name] = text
    return files


def build_zip(extra_members=None, ratings=RATINGS, **overrides) -> bytes:
    """A tiny archive in the ML-100K layout (latin-1 text files)."""
    files = tiny_files(**overrides)
    if ratings is not RATINGS:
        files["u.data"] = ratings_text(ratings)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(f"ml-100k/{name}", text.encode("latin-1"))
        for name, data in (extra_members or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def zip_of(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    """An archive holding ``ml-100k/<name>`` for each member (bytes as given)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(f"ml-100k/{name}", data)
    return buf.getvalue()


def damaged_zip(member: str = "u.item") -> bytes:
    """The tiny archive, deflated, with the start of one member's stream garbled:
    reading that member raises ``zlib.error``."""
    files = {n: t.encode("latin-1") for n, t in tiny_files().items()}
    data = bytearray(zip_of(files, zipfile.ZIP_DEFLATED))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(f"ml-100k/{member}")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for k in range(4):
        data[start + k] ^= 0xFF
    return bytes(data)


class Server:
    """Serves a byte string at /ml-100k.zip on 127.0.0.1 and counts requests;
    ``delay`` seconds before each answer (a slow network)."""

    def __init__(self, payload: bytes, delay: float = 0.0):
        self.payload, self.requests, self.delay = payload, 0, delay
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                time.sleep(outer.delay)
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


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/ml-100k.zip"


def leftovers(home: Path) -> list:
    """What is in ``home``, the loader's lock file aside."""
    if not home.exists():
        return []
    return sorted(p.name for p in home.iterdir() if p.name not in LOADER_FILES)


def snapshot(*roots: Path) -> dict[Path, str]:
    """sha256 of every file under ``roots`` (following no symlinked folder twice)."""
    out = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and path.name not in LOADER_FILES:
                out[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def assert_kept(before: dict[Path, str]) -> None:
    """Every file of the snapshot is still there, byte for byte."""
    gone = [str(p) for p in before if not p.is_file()]
    changed = [
        str(p)
        for p, digest in before.items()
        if p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest() != digest
    ]
    assert not gone and not changed, f"deleted: {gone}; changed: {changed}"
