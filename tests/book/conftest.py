"""Fixtures for the tests that build the website and open it in a browser.

The website is rendered from the notebooks ``make test`` executed (``_executed/``),
never executing one: a missing, stale or failed notebook fails the test that needs
the site, naming the section and the cell. Each framework's site is built once per
session, by the worker that runs its tests (``xdist_group("site-<framework>")``, so
the two builds run in parallel on two workers), into ``_build/html/<framework>``,
under that site's file lock; a test that needs the other site too waits for it, and a
later session (the browser tests) reuses a site built from the same inputs.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from booktools import EXECUTED, FRAMEWORKS, HTML, ROOT
from filelock import FileLock

from coursetools.site import SiteError, render


def _build(framework: str) -> Path:
    """Build (or reuse) one framework's site, holding that site's file lock: a worker
    that needs a site another worker is building waits for it, then reuses it."""
    HTML.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(HTML.parent / f"site-{framework}.lock"):
        return _build_locked(framework)


def _build_locked(framework: str) -> Path:
    start = time.perf_counter()
    try:
        built = render(
            frameworks=(framework,),
            executed=EXECUTED,
            html=HTML,
            work=ROOT / "_build" / "site",
            logs=ROOT / "_build" / "logs",
            reuse=True,
        )
    except SiteError as err:
        pytest.fail(str(err), pytrace=False)
    seconds = built.seconds.get(framework)
    print(
        f"\n{framework} site: "
        + (f"built in {seconds:.1f} s" if seconds else "reused (same inputs)")
        + f" ({time.perf_counter() - start:.1f} s with the checks)"
    )
    return HTML / framework


@pytest.fixture(scope="session")
def pytorch_site() -> Path:
    return _build("pytorch")


@pytest.fixture(scope="session")
def tensorflow_site() -> Path:
    return _build("tensorflow")


@pytest.fixture
def site(request) -> Path:
    """The site of the test's parameter (booktools.per_site)."""
    return request.getfixturevalue(f"{request.param}_site")


@pytest.fixture(scope="session")
def built_sites() -> Path:
    """Both sites and the root page (the browser tests, and the book tests that
    compare the two sites). Each site is built (or reused) under its own file lock."""
    for framework in FRAMEWORKS:
        _build(framework)
    return HTML


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # Chromium drops requests it no longer needs (a page left for the next test);
        # writing the rest of the file then fails. Any other error still prints.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@pytest.fixture(scope="session")
def book_server(built_sites):
    """Serve both sites on 127.0.0.1 (a random free port); yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(built_sites))
    server = _Server(("127.0.0.1", 0), handler)
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
