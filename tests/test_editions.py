"""The per-framework editions of every chapter: generated, framework-pure, and run.

The book executes each chapter as written (the default framework plus the parity
cells); these tests execute the TensorFlow edition of each chapter, so every
assertion a chapter makes holds in TensorFlow too. It runs with RECSYS_DATA_HOME
pointing at the MovieLens-100K stand-in, so the real-data section runs (in
TensorFlow) as well, and every exercise's self-check must report "correct".
"""

from __future__ import annotations

import ast

import nbformat
import pytest
from notebook_runner import CHAPTERS, ROOT, check_outcomes, execute

from coursetools.notebooks import Bibliography, chapter_number, framework_notebook

FRAMEWORK_MODULES = {
    "pytorch": ("torch", "recsys_utils.torch"),
    "tensorflow": ("tensorflow", "keras", "recsys_utils.tf"),
}


def _edition(path, framework):
    bib = Bibliography.read(ROOT / "book" / "references.bib")
    return framework_notebook(
        nbformat.read(path, as_version=4),
        framework,
        chapter=chapter_number(path),
        bib=bib,
    )


def _imported_modules(nb) -> set[str]:
    found = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = [
            line
            for line in cell.source.splitlines()
            if not line.lstrip().startswith(("%", "!"))
        ]
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                found.add(node.module or "")
                found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_edition_imports_only_its_framework(path, framework):
    other = "tensorflow" if framework == "pytorch" else "pytorch"
    imported = _imported_modules(_edition(path, framework))
    bad = {
        m
        for m in imported
        for o in FRAMEWORK_MODULES[other]
        if m == o or m.startswith(o + ".")
    }
    assert not bad, f"the {framework} edition of {path.name} imports {sorted(bad)}"


@pytest.mark.notebooks
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_tensorflow_edition_runs_with_every_check_correct(path, movielens_standin):
    nb = execute(
        _edition(path, "tensorflow"),
        cwd=path.parent,
        env={"RECSYS_DATA_HOME": str(movielens_standin)},
    )
    outcomes = check_outcomes(nb)
    wrong = [(label, status) for label, status in outcomes if status != "correct"]
    assert not wrong, f"{path.name} (TensorFlow edition): checks not correct: {wrong}"
    calls = sum(
        c.source.count("ru.exercises.check(") for c in nb.cells if c.cell_type == "code"
    )
    assert len(outcomes) == calls, (
        f"{calls} check calls but {len(outcomes)} reported outcomes"
    )
