"""Execute a notebook in a fresh kernel, read the outcomes of its exercise checks,
and tell a student notebook's own cells (stubs and checks) from the chapter's.

Shared by the tests that run the per-framework editions and the student versions.
nbclient (the library nbmake and jupyter-book themselves use) does the execution.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from coursetools.student import CHECK_CALL, STUB_MARK
from recsys_utils.checks import CHECK_MIME

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def execute(nb: nbformat.NotebookNode, cwd: Path, env: dict[str, str] | None = None):
    """Run every cell of ``nb`` (changed in place) with ``cwd`` as the working folder.

    ``env`` entries are set in this process's environment while the kernel starts (the
    kernel inherits them) and restored afterwards.
    """
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(
            nb,
            timeout=None,
            kernel_name="python3",
            resources={"metadata": {"path": str(cwd)}},
        ).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return nb


def check_outcomes(nb: nbformat.NotebookNode) -> list[tuple[str | None, str]]:
    """``(exercise label, status)`` of every check the executed notebook reported."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            record = out.get("data", {}).get(CHECK_MIME)
            if record is not None:
                found.append((record.get("exercise"), record.get("status")))
    return found


def is_student_cell(cell) -> bool:
    """A cell a student notebook adds or changes: a stub, or a check (no assert)."""
    return cell.cell_type == "code" and (
        cell.source.startswith(STUB_MARK) or CHECK_CALL.search(cell.source)
    )


def top_level_names(source: str) -> tuple[set[str], set[str]]:
    """(names bound, names read) by a code cell, IPython magics left out."""
    if source.lstrip().startswith("%%"):
        return set(), set()
    code = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )
    bound, read = set(), set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
    return bound, read
