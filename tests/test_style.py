"""The code is formatted and linted by ruff (configured in pyproject.toml): the
package, the tooling, the tests and the notebooks, at 88 columns, which the website's
code column shows without a horizontal scroll."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> str:
    ruff = Path(sys.executable).parent / "ruff"
    found = str(ruff) if ruff.exists() else shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed: `make venv` installs the pinned version")
    return found


def test_ruff_format():
    proc = subprocess.run(
        [_ruff(), "format", "--check", "--diff", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, (
        "run `make format`:\n" + proc.stdout[-4000:] + proc.stderr[-2000:]
    )


def test_ruff_lint():
    proc = subprocess.run(
        [_ruff(), "check", "--output-format", "concise", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, "ruff found problems:\n" + proc.stdout[-4000:]
