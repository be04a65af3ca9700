"""Fixtures for the tests that build the book and open it in a browser."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from booktools import ROOT

BUILD_LOG = ROOT / "_build" / "build.log"


@pytest.fixture(scope="session")
def built_book() -> tuple[Path, str]:
    """Build the book once per session, as `make book` does; return (html dir, log).

    Execution is cached in _build/.jupyter_cache, so a second build only re-executes
    notebooks that changed.
    """
    jb = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "-W", "-n", "--keep-going"],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
    )
    log = proc.stdout + proc.stderr
    BUILD_LOG.parent.mkdir(exist_ok=True)
    BUILD_LOG.write_text(log)
    if proc.returncode != 0:
        reports = ROOT / "_build" / "html" / "reports"
        pytest.fail(
            f"jupyter-book build failed (exit {proc.returncode}); log in {BUILD_LOG}, "
            f"execution reports in {reports}\n" + log[-6000:]
        )
    return ROOT / "_build" / "html", log


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="session")
def book_server(built_book):
    """Serve the built HTML on 127.0.0.1 (a random free port); yield its base URL."""
    html, _ = built_book
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "the browser test needs Debian's chromium: `make browser-deps` installs it"
        )
    return path
