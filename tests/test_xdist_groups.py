"""`--dist loadgroup` sends a group's tests to one worker (the book is built once).

`make test` runs pytest on two workers; every test that needs the built book is in the
xdist group "book", so one worker builds it while the other runs the editions. With
pytest 9 and pytest-xdist 3.8 the groups were silently ignored and both workers built
the book at the same time, in the same folder. This runs a small suite the same way
and checks that one worker did the group's work.
"""

from __future__ import annotations

import os
import subprocess
import sys

CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def built(worker_id, tmp_path_factory):
    marker = tmp_path_factory.getbasetemp().parent.parent / f"built_{worker_id}"
    marker.write_text("built")
    return marker
"""

MODULE = """
import time
import pytest

@pytest.mark.xdist_group("book")
@pytest.mark.parametrize("k", range(4))
def test_grouped_{name}(built, k):
    time.sleep(0.2)

@pytest.mark.parametrize("k", range(4))
def test_free_{name}(k):
    time.sleep(0.2)
"""


def test_a_group_runs_on_one_worker(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(CONFTEST)
    for name in ("a", "b"):
        (suite / f"test_{name}.py").write_text(MODULE.format(name=name))
    (tmp_path / "base").mkdir()
    base = tmp_path / "base" / "tmp"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"]
        + ["--dist", "loadgroup", f"--basetemp={base}", str(suite)],
        capture_output=True,
        text=True,
        cwd=suite,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    built = sorted(p.name for p in tmp_path.rglob("built_gw*"))
    assert len(built) == 1, f"the group's session fixture ran on {built}"
