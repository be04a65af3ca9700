"""The per-framework editions of every chapter: generated, framework-pure, and run.

The book executes each chapter as written (the default framework plus the parity
cells) without MovieLens; these tests execute each chapter's PyTorch and TensorFlow
editions, so every assertion a chapter makes holds in TensorFlow too. They run with
RECSYS_DATA_HOME pointing at the MovieLens-100K stand-in, so the real-data section
runs in both frameworks as well; every exercise's self-check must report "correct",
and then, in the same kernel, the student notebook's stubs "not attempted".
"""

from __future__ import annotations

import ast

import nbformat
import pytest
from notebook_runner import CHAPTERS, ROOT, check_outcomes, execute, is_student_cell

from coursetools.notebooks import Bibliography, chapter_number, framework_notebook
from coursetools.student import exercises, student_edition

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
@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_edition_runs_every_check_correct_then_the_stubs_not_attempted(
    path, framework, movielens_standin
):
    """One kernel per edition: the edition as written, then the student's cells.

    The edition (the solution notebook) runs top to bottom with the MovieLens
    stand-in, so the real-data section runs too, and every self-check must report
    "correct". Then, in the same kernel, the student notebook's stubs and checks run
    in their order, and every check must report "not attempted". Together with
    tests/test_student_notebooks.py (the student notebook is the edition with those
    cells in place of the solutions, and no other cell reads what a stub defines),
    this shows that a student running every cell reaches the end and sees every
    check report, without executing the chapter a second time.
    """
    edition = _edition(path, framework)
    student = student_edition(
        nbformat.read(path, as_version=4),
        framework,
        chapter=chapter_number(path),
        bib=Bibliography.read(ROOT / "book" / "references.bib"),
    )
    tail = [c for c in student.cells if is_student_cell(c)]
    for k, cell in enumerate(tail):
        cell["id"] = f"student-{k}"  # the student notebook's cells carry none
    first_tail = len(edition.cells)
    edition.cells.extend(tail)
    nb = execute(
        edition, cwd=path.parent, env={"RECSYS_DATA_HOME": str(movielens_standin)}
    )
    solved = nbformat.v4.new_notebook(cells=nb.cells[:first_tail])
    outcomes = check_outcomes(solved)
    wrong = [(label, status) for label, status in outcomes if status != "correct"]
    assert not wrong, f"{path.name} ({framework} edition): checks not correct: {wrong}"
    calls = sum(
        c.source.count("ru.exercises.check(")
        for c in solved.cells
        if c.cell_type == "code"
    )
    assert len(outcomes) == calls, (
        f"{calls} check calls but {len(outcomes)} reported outcomes"
    )
    stubbed = check_outcomes(nbformat.v4.new_notebook(cells=nb.cells[first_tail:]))
    expected = [
        e.label
        for e in exercises(nbformat.read(path, as_version=4), None)
        if e.autograded
    ]
    assert sorted(stubbed) == sorted((label, "not attempted") for label in expected)
