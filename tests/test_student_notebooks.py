"""Every student notebook is its section's edition with stubs in place of solutions.

Exercises live in each chapter's exercises section, so that is the one section whose
student version differs from its edition: make test executes it (nbmake) and
tests/test_executed.py requires every check to report "not attempted". The other
sections' student versions hold the edition's very code cells, so executing the
edition executes them (no section runs twice for the same purpose). These tests check
that statically:

* the student notebook's other code cells are exactly the edition's code cells outside
  the solution gates, in the same order;
* no such cell after the first stub reads a name a stub binds (so no cell depends on an
  exercise's answer, and none breaks when it is a stub);
* every autograded exercise has its check call in the student notebook.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from notebook_runner import (
    EXERCISE_SECTIONS,
    FRAMEWORK_SECTIONS,
    ROOT,
    is_student_cell,
    top_level_names,
)

from coursetools.notebooks import SOLUTION, Bibliography, cell_tags, framework_notebook
from coursetools.student import CHECK_CALL, STUB_MARK, exercises, student_edition

ASSERT_OK = re.compile(r"^assert \w+\.ok\b", re.MULTILINE)
BIB = Bibliography.read(ROOT / "book" / "references.bib")


def _pair(section, framework):
    chapter = nbformat.read(section.path, as_version=4)
    number = section.chapter
    edition = framework_notebook(chapter, framework, chapter=number, bib=BIB)
    student = student_edition(chapter, framework, chapter=number, bib=BIB)
    return chapter, edition, student


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("path", FRAMEWORK_SECTIONS, ids=lambda s: s.rel)
def test_student_notebook_is_the_edition_with_stubs(path, framework):
    chapter, edition, student = _pair(path, framework)
    ours = [c.source for c in student.cells if c.cell_type == "code"]
    kept = [
        c.source
        for c in student.cells
        if c.cell_type == "code" and not is_student_cell(c)
    ]
    theirs = [
        c.source
        for c in edition.cells
        if c.cell_type == "code"
        and SOLUTION not in cell_tags(c)
        and not CHECK_CALL.search(c.source)
    ]
    assert kept == theirs, (
        f"{path.rel} ({framework}): the student notebook's chapter cells differ "
        "from the edition's cells outside the solution gates"
    )
    if path.is_graded:
        assert any(s.startswith(STUB_MARK) for s in ours), "no stub at all"
    else:
        assert kept == ours, "a section other than the exercises has stubs"


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("path", EXERCISE_SECTIONS, ids=lambda s: s.rel)
def test_no_chapter_cell_reads_what_a_stub_binds(path, framework):
    _, _, student = _pair(path, framework)
    stubbed, readers = set(), []
    for index, cell in enumerate(student.cells):
        if cell.cell_type != "code":
            continue
        bound, read = top_level_names(cell.source)
        if is_student_cell(cell):
            if cell.source.startswith(STUB_MARK):
                stubbed |= bound
        elif read & stubbed:
            readers.append((index, sorted(read & stubbed)))
    assert not readers, (
        f"{path.rel} ({framework}): chapter cells read names an exercise's stub "
        f"binds (a student's run would break or differ there): {readers}"
    )


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("path", EXERCISE_SECTIONS, ids=lambda s: s.rel)
def test_every_autograded_exercise_has_its_check(path, framework):
    chapter, _, student = _pair(path, framework)
    calls = [
        m.group(1)
        for c in student.cells
        if c.cell_type == "code"
        for m in CHECK_CALL.finditer(c.source)
    ]
    expected = [e.label for e in exercises(chapter, None) if e.autograded]
    assert sorted(calls) == sorted(expected)
    assert not any(ASSERT_OK.search(c.source) for c in student.cells), (
        "a check's assert reached the student notebook"
    )
