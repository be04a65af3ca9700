"""What the executions of ``make test`` printed (nbmake ran every staged notebook with
``--overwrite``; coursetools/build.py stages them into ``_executed/``).

* every staged notebook was executed from the current sources, every cell, no error;
* each framework's exercises section: every self-check reports *correct*, one report
  per check call;
* each student exercises section: every autograded exercise reports *not attempted*
  (a student who runs every cell reaches the end and sees every check).

Run after the notebooks (``make test`` does); without ``_executed/`` they fail with
the command to run.
"""

from __future__ import annotations

import nbformat
import pytest
from notebook_runner import EXECUTED, ROOT, SECTIONS, check_outcomes

from coursetools.build import DIGEST_KEY, executed_problems, staged_notebooks
from coursetools.notebooks import Bibliography
from coursetools.student import exercises

pytestmark = pytest.mark.executed
STAGED = staged_notebooks(SECTIONS, Bibliography.read(ROOT / "book" / "references.bib"))


@pytest.mark.parametrize("item", STAGED, ids=lambda i: i.rel)
def test_executed_completely_from_the_current_sources(item):
    path = EXECUTED / item.rel
    problems = executed_problems(path, item.notebook.metadata[DIGEST_KEY]["digest"])
    assert not problems, "\n".join(problems) + "\n(make test stages and runs them)"


SOLVED = [i for i in STAGED if i.section.is_graded and "-" not in i.kind]
STUDENT = [i for i in STAGED if i.kind.startswith("student-")]


@pytest.mark.parametrize("item", SOLVED, ids=lambda i: i.rel)
def test_every_check_correct_on_the_solutions(item):
    nb = nbformat.read(EXECUTED / item.rel, as_version=4)
    outcomes = check_outcomes(nb)
    wrong = [(label, status) for label, status in outcomes if status != "correct"]
    assert not wrong, f"{item.rel}: checks not correct: {wrong}"
    calls = sum(
        c.source.count("ru.exercises.check(") for c in nb.cells if c.cell_type == "code"
    )
    assert calls and len(outcomes) == calls, (
        f"{item.rel}: {calls} check calls but {len(outcomes)} reported outcomes"
    )


@pytest.mark.parametrize("item", STUDENT, ids=lambda i: i.rel)
def test_every_stub_not_attempted_in_the_student_notebook(item):
    nb = nbformat.read(EXECUTED / item.rel, as_version=4)
    source = nbformat.read(item.section.path, as_version=4)
    expected = [e.label for e in exercises(source, None) if e.autograded]
    assert sorted(check_outcomes(nb)) == sorted(
        (label, "not attempted") for label in expected
    )
