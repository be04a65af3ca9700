"""Notebook cleaning and student versions (coursetools)."""

from __future__ import annotations

import nbformat
import pytest

from coursetools.notebooks import clean_notebook
from coursetools.student import stub_solution, student_notebook


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _solution_code(src):
    cell = nbformat.v4.new_code_cell(src)
    cell.metadata["tags"] = ["solution"]
    return cell


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
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_stub_keeps_signature_and_docstring_not_the_body():
    src = (
        'def loss(r, p, q):\n    """The observed loss."""\n'
        "    return ((r - p @ q.T) ** 2).sum()\n\nanswer = 3.5\n"
    )
    stub = stub_solution(src)
    assert "def loss(r, p, q):" in stub
    assert '"""The observed loss."""' in stub
    assert "raise NotImplementedError" in stub
    assert "** 2" not in stub  # the solution's body is gone
    assert "answer = ...  # your answer" in stub
    assert "3.5" not in stub


def test_student_version_removes_gated_solutions_keeps_checks():
    nb = _nb(
        nbformat.v4.new_markdown_cell(
            "```{exercise} Write the loss\n:label: ex1\nDo it.\n```"
        ),
        nbformat.v4.new_markdown_cell(
            "````{solution-start} ex1\n:class: dropdown\n````"
        ),
        nbformat.v4.new_markdown_cell("The trick is to mask."),
        _solution_code("def loss(x):\n    return x * 2\n"),
        nbformat.v4.new_code_cell(
            "check = check_function(loss, reference)\nassert check.ok"
        ),
        nbformat.v4.new_markdown_cell("````{solution-end}\n````"),
        nbformat.v4.new_markdown_cell(
            "```{solution} ex0\nA markdown-only answer.\n```"
        ),
    )
    out = student_notebook(nb)
    sources = [c.source for c in out.cells]
    assert sources[0].startswith("```{exercise}")
    assert not any("solution" in s and "{" in s for s in sources)
    assert not any("The trick" in s for s in sources)
    assert any("raise NotImplementedError" in s for s in sources)
    assert not any("x * 2" in s for s in sources)
    assert (
        "check = check_function(loss, reference)" in sources
    )  # no assert: students see the hint


def test_unbalanced_solution_gate_is_an_error():
    nb = _nb(nbformat.v4.new_markdown_cell("```{solution-start} ex1\n```"))
    with pytest.raises(ValueError, match="solution-end"):
        student_notebook(nb)


CHAPTERS = sorted(
    (__import__("pathlib").Path(__file__).parents[1] / "chapters").glob("*.ipynb")
)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_has_a_student_version_without_solutions(path):
    nb = nbformat.read(path, as_version=4)
    had_solutions = any("solution" in c.metadata.get("tags", []) for c in nb.cells)
    out = student_notebook(nb)
    for cell in out.cells:
        assert "solution" not in cell.metadata.get("tags", [])
        assert "{solution" not in cell.source
    if had_solutions:
        assert any(
            "NotImplementedError" in c.source or "your answer" in c.source
            for c in out.cells
        )
