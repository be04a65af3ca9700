"""Helpers shared by the tests of the section notebooks: the sections, the outcomes
of exercise checks in an executed notebook, and a student notebook's own cells.

The notebooks themselves are executed by nbmake (``make test``, coursetools/
pytest_plugin.py); these helpers read what the sources say and what the executions
printed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

from coursetools.pyimports import strip_magics
from coursetools.sections import discover
from coursetools.student import CHECK_CALL, STUB_MARK
from recsys_utils.checks import CHECK_MIME

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = discover(ROOT / "chapters")
FRAMEWORK_SECTIONS = [s for s in SECTIONS if not s.is_parity]
EXERCISE_SECTIONS = [s for s in SECTIONS if s.is_graded]
EXECUTED = ROOT / "_executed"


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
    bound, read = set(), set()
    for node in ast.walk(ast.parse(strip_magics(source))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
    return bound, read
