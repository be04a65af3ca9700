"""The code is formatted and linted by ruff (configured in pyproject.toml): the
package, the tooling, the tests and the notebooks, at 88 columns, which the website's
code column shows without a horizontal scroll."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
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


def test_notebook_code_lines_fit_the_column():
    """ruff's E501 does not count a trailing ``# noqa`` pragma; the website does (a
    99-character line scrolled sideways on the desktop column)."""
    long = [
        f"{path.relative_to(ROOT)} cell {index}: {len(line)} characters: {line[:60]}"
        for path in sorted((ROOT / "chapters").glob("*/*.ipynb"))
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if len(line) > 88
    ]
    assert not long, "\n".join(long)
