"""Every student notebook runs to the end, each check reporting "not attempted".

A student who opens a student notebook (coursetools/student.py) and runs every cell
must reach the end and see every self-check report: "not attempted" while the answer
is the stub. Each student notebook is executed once, in a fresh kernel, with the
chapter folder as working folder:

* PyTorch: with RECSYS_DATA_HOME pointing at the MovieLens-100K stand-in (the
  ``movielens_standin`` fixture), so the PyTorch MovieLens sections run in CI too (the
  book build runs the chapters without it);
* TensorFlow: without MovieLens (the TensorFlow edition already runs those sections
  with the stand-in in tests/test_editions.py), the cheaper configuration.

The solution notebooks are the per-framework editions: the TensorFlow one is executed
with every check "correct" by tests/test_editions.py, and the PyTorch one's checks are
the chapter's own ``assert result.ok`` cells, executed by the book build; neither is
executed again here.
"""

from __future__ import annotations

import nbformat
import pytest
from notebook_runner import CHAPTERS, ROOT, check_outcomes, execute

from coursetools.notebooks import Bibliography, chapter_number
from coursetools.student import CHECK_CALL, exercises, student_edition


@pytest.mark.notebooks
@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_runs_to_the_end_not_attempted(path, framework, request):
    chapter = nbformat.read(path, as_version=4)
    number = chapter_number(path)
    bib = Bibliography.read(ROOT / "book" / "references.bib")
    nb = student_edition(chapter, framework, chapter=number, bib=bib)
    env = {}
    if framework == "pytorch":
        env["RECSYS_DATA_HOME"] = str(request.getfixturevalue("movielens_standin"))
    execute(nb, cwd=path.parent, env=env)  # raises on the first failing cell
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert last.get("execution_count") is not None, "did not reach the last cell"
    outcomes = check_outcomes(nb)
    expected = [e.label for e in exercises(chapter, number) if e.autograded]
    assert sorted(outcomes) == sorted((label, "not attempted") for label in expected)
    calls = [
        m.group(1)
        for c in nb.cells
        if c.cell_type == "code"
        for m in CHECK_CALL.finditer(c.source)
    ]
    assert sorted(calls) == sorted(expected)
