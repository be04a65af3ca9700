"""Student notebooks (coursetools/student.py): stubs, checks kept, one per framework."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from coursetools.notebooks import clean_notebook
from coursetools.sections import discover
from coursetools.student import (
    CHECK_CALL,
    STUDENT_NOTE,
    UNCHECKED_STUB,
    WRITTEN_ANSWER,
    exercises,
    stub_solution,
    student_edition,
    student_notebook,
)

ROOT = Path(__file__).parents[1]
# every exercises section, and the chapters not yet split (chapters/_legacy)
CHAPTERS = [
    *(s.path for s in discover(ROOT / "chapters") if s.is_graded),
    *sorted((ROOT / "chapters" / "_legacy").glob("*.ipynb")),
]


def _number(path: Path) -> int:
    """The chapter number: of the section's folder, or of a legacy chapter's name."""
    name = path.name if path.parent.name == "_legacy" else path.parent.name
    return int(name[:2])


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _code(src, *tags):
    cell = nbformat.v4.new_code_cell(src)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


md = nbformat.v4.new_markdown_cell


def test_clean_strips_outputs_counts_and_metadata():
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)
    ]
    cell.execution_count = 3
    cell.metadata["tags"] = ["pytorch"]
    cell.metadata["collapsed"] = True
    nb = clean_notebook(_nb(cell))
    assert nb.cells[0].outputs == []
    assert nb.cells[0].execution_count is None
    assert dict(nb.cells[0].metadata) == {"tags": ["pytorch"]}


def test_stub_keeps_signature_and_docstring_not_the_body():
    src = (
        'def loss(r, p, q):\n    """The observed loss."""\n'
        "    return ((r - p @ q.T) ** 2).sum()\n\nanswer = 3.5\n"
        "a, b = fit(\n    1,\n)\nprint(answer)\n"
    )
    assert stub_solution(src) == (
        "# Your answer here, then run the self-check below.\n"
        "def loss(r, p, q):\n"
        '    """The observed loss."""\n'
        '    raise NotImplementedError("your code here")\n'
        "\n"
        "answer = ...  # your answer\n"
        "a, b = ..., ...  # your answer\n"
    )


def test_stub_keeps_a_signature_over_several_lines():
    src = "def f(\n    a, b\n):\n    return a + b\n"
    stub = stub_solution(src)
    assert "def f(\n    a, b\n):\n    raise NotImplementedError" in stub
    assert "a + b" not in stub


def _chapter():
    """A two-framework chapter with a checked exercise (a framework pair), an
    unchecked one and a written one."""
    return _nb(
        md("# Tiny"),
        _code("import recsys_utils as ru\nFRAMEWORK = ru.framework()"),
        md("```{exercise} Written\n:label: t-written\nWhy?\n```"),
        md("```{solution} t-written\nBecause.\n```"),
        md("```{exercise} Loss\n:label: t-loss\nWrite it.\n```"),
        md("````{solution-start} t-loss\n:class: dropdown\n````"),
        md("The trick is to mask."),
        _code("def loss_pt(x):\n    return x * 2\n", "pytorch", "solution"),
        _code("def loss_tf(x):\n    return x * 3\n", "tensorflow", "solution"),
        _code(
            'loss = loss_pt if FRAMEWORK == "pytorch" else loss_tf\n'
            'result = ru.exercises.check("t-loss", loss)\nassert result.ok'
        ),
        md("````{solution-end}\n````"),
        md("```{exercise} Measure\n:label: t-measure\nTrain it.\n```"),
        md("```{solution-start} t-measure\n```"),
        _code("table = train(42)\nassert table.ok_value > 1", "solution"),
        md("```{solution-end}\n```"),
    )


def test_student_version_stubs_solutions_keeps_checks_without_assert():
    out = student_notebook(_chapter())
    sources = [c.source for c in out.cells]
    assert WRITTEN_ANSWER in sources and "Because." not in "".join(sources)
    assert not any("The trick" in s for s in sources)
    assert not any("x * 2" in s or "x * 3" in s for s in sources)
    assert sum("raise NotImplementedError" in s for s in sources) == 2
    check = next(s for s in sources if "ru.exercises.check" in s)
    assert "assert" not in check
    assert UNCHECKED_STUB in sources and "train(42)" not in "".join(sources)
    assert not any("solution" in c.metadata.get("tags", []) for c in out.cells)
    assert sources[2].startswith("```{exercise} Written")  # MyST kept here


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_student_edition_is_one_framework_numbered_and_marked(framework):
    out = student_edition(_chapter(), framework, chapter=9)
    text = "\n".join(c.source for c in out.cells)
    other = "loss_tf" if framework == "pytorch" else "loss_pt"
    mine = "loss_pt" if framework == "pytorch" else "loss_tf"
    assert other not in text and f"def {mine}(x):" in text
    assert f"loss = {mine}\n" in text  # the pick line is resolved
    assert "**Exercise 9.1** (Written)" in text
    assert "**Exercise 9.2** (Loss)" in text and "**Exercise 9.3**" in text
    assert "{exercise}" not in text and "{solution" not in text
    assert STUDENT_NOTE in text
    assert dict(out.metadata["recsys"]) == {
        "chapter": 9,
        "framework": framework,
        "kind": "student",
    }


def test_exercises_lists_labels_numbers_and_which_are_checked():
    found = exercises(_chapter(), 9)
    assert [(e.label, e.number, e.title, e.autograded) for e in found] == [
        ("t-written", "9.1", "Written", False),
        ("t-loss", "9.2", "Loss", True),
        ("t-measure", "9.3", "Measure", False),
    ]


def test_exercise_without_label_is_an_error():
    with pytest.raises(ValueError, match=":label:"):
        exercises(_nb(md("```{exercise} No label\nText\n```")), 1)


def test_unbalanced_solution_gate_is_an_error():
    with pytest.raises(ValueError, match="solution-end"):
        student_notebook(_nb(md("```{solution-start} ex1\n```")))
    with pytest.raises(ValueError, match="solution-start"):
        student_notebook(_nb(md("```{solution-end}\n```")))


def test_solution_cell_outside_a_gate_is_an_error():
    with pytest.raises(ValueError, match="outside"):
        student_notebook(_nb(_code("x = 1", "solution")))


def test_unknown_framework_is_an_error():
    with pytest.raises(ValueError, match="framework"):
        student_edition(_chapter(), "jax")


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_has_student_notebooks_without_solutions(path, framework):
    """Static: no solution, no reference, one check per autograded exercise."""
    chapter = nbformat.read(path, as_version=4)
    solutions = [
        c.source
        for c in chapter.cells
        if "solution" in c.metadata.get("tags", [])
        and {"pytorch", "tensorflow"} & set(c.metadata.get("tags", [])) <= {framework}
    ]
    elsewhere = "\n".join(
        c.source
        for c in chapter.cells
        if c.cell_type == "code" and "solution" not in c.metadata.get("tags", [])
    )
    out = student_edition(chapter, framework, chapter=_number(path))
    code = "\n".join(c.source for c in out.cells if c.cell_type == "code")
    for source in solutions:  # each solution's own lines are gone
        own = [
            line
            for line in source.splitlines()
            if len(line.strip()) > 12
            and line not in elsewhere
            and line not in stub_solution(source)  # the signature stays
        ]
        assert own and not any(line in code for line in own), own
    assert "_reference" not in code  # references live in recsys_utils.exercises
    for ex in exercises(chapter, _number(path)):
        assert f"**Exercise {ex.number}** ({ex.title})" in "\n".join(
            c.source for c in out.cells if c.cell_type == "markdown"
        )
        calls = [m.group(1) for m in CHECK_CALL.finditer(code)]
        assert calls.count(ex.label) == int(ex.autograded)
