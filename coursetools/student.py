"""Student notebooks: one per framework, solutions stubbed, self-checks kept.

Command line: ``python -m coursetools student chapters student`` writes
``student/pytorch/NN_x.ipynb`` and ``student/tensorflow/NN_x.ipynb``;
``python -m coursetools release`` (coursetools/release.py) adds the instructor's side.

Conventions of a chapter (CONTRIBUTING.md, "A chapter in both frameworks"): an exercise
is a markdown cell holding an ``{exercise}`` block with a ``:label:``; its worked
solution is gated between a markdown cell that opens with ``{solution-start}`` and one
that opens with ``{solution-end}``. Code cells tagged ``solution`` hold the answer (they
become stubs); the other code cells in the gate (the self-check,
``ru.exercises.check("<label>", answer)``) stay, without their ``assert result.ok``, so
that a student who runs every cell sees every check. Markdown inside a gate (the
explanation) and markdown-only ``{solution}`` blocks are dropped. The self-checks
compare with stored public examples (``recsys_utils/exercises``); the references stay
with the instructor (``instructors/grading``), never in a notebook cell.

The student notebook is then the chapter's edition for one framework
(:func:`coursetools.notebooks.framework_notebook`): the other framework's cells and
the parity cells removed, MyST turned into plain Markdown, exercises numbered
"Exercise N.k".
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import nbformat

from .notebooks import (
    FRAMEWORK_TAGS,
    SOLUTION,
    Bibliography,
    cell_tags,
    clean_notebook,
    framework_notebook,
)

__all__ = [
    "Exercise",
    "STUB_MARK",
    "CHECK_CALL",
    "exercises",
    "stub_solution",
    "student_notebook",
    "student_edition",
    "STUDENT_NOTE",
    "WRITTEN_ANSWER",
    "UNCHECKED_STUB",
]

#: How every stub cell starts (a student writes the answer below it).
STUB_MARK = "# Your answer here"
_DEF = re.compile(r"^(def|class) \w+")
_ASSIGN = re.compile(r"^([A-Za-z_][\w, ]*?)\s*=(?!=)")
# The book asserts that each self-check passes on the worked solution; a student's
# notebook shows the hint instead of stopping with an AssertionError.
_ASSERT_OK = re.compile(r"^assert \w+\.ok\b.*\n?", re.MULTILINE)
#: A check call in a code cell; group 1 is the exercise's label.
CHECK_CALL = re.compile(r"ru\.exercises\.check\(\s*[\"']([\w.-]+)[\"']")
_EXERCISE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{exercise\}[ \t]*(?P<title>[^\n]*)\n(?P<body>.*?)"
    r"^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_LABEL = re.compile(r"^:label:[ \t]*(\S+)", re.MULTILINE)

#: The note at the top of every student notebook.
STUDENT_NOTE = (
    "**Student notebook.** Each coding exercise has a cell starting with "
    "`# Your answer here`: write your answer there, run it, then run the check "
    "below it. A check answers *correct*, *not yet* with a hint for the usual "
    "mistakes, *not attempted* while the answer is still the stub, or *error* when "
    "your code raised. Run All works from the start: every check reports. The checks "
    "try your code on a few examples; your instructor's grader calls it on other "
    "inputs, so write the general answer, not one that fits the examples."
)


@dataclass(frozen=True)
class Exercise:
    """One exercise of a chapter, as numbered in the per-framework notebooks.

    Attributes:
        label: the exercise's ``:label:`` (``"ch1-ex-observed-loss"``).
        number: ``"1.2"`` (chapter, then position in the chapter).
        title: the exercise's title.
        autograded: a self-check (``ru.exercises.check``) reports on it.
    """

    label: str
    number: str
    title: str
    autograded: bool


def exercises(
    nb: nbformat.NotebookNode, chapter: int | None, *, first: int = 1
) -> list[Exercise]:
    """The exercises of a chapter (or of an edition built from it), in order.

    Numbers follow :func:`coursetools.notebooks.myst_to_markdown`: the k-th exercise
    block of chapter N is "N.k" ("k" without a chapter number).

    Args:
        nb: a chapter notebook with MyST ``{exercise}`` blocks.
        chapter: the chapter's number.
        first: the number of the notebook's first exercise (a chapter's later
            section notebook continues its count).

    Returns:
        One :class:`Exercise` per ``{exercise}`` block; ``autograded`` when some code
        cell calls ``ru.exercises.check`` with its label.

    Raises:
        ValueError: when an exercise block has no ``:label:``.
    """
    checked = {
        m.group(1)
        for c in nb.cells
        if c.cell_type == "code"
        for m in CHECK_CALL.finditer(c.source)
    }
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for match in _EXERCISE.finditer(cell.source):
            label = _LABEL.search(match.group("body"))
            if label is None:
                raise ValueError(
                    f"exercise {match.group('title')!r} has no :label: line; every "
                    "exercise needs one (the checks and the grade table use it)"
                )
            k = len(found) + first
            found.append(
                Exercise(
                    label=label.group(1),
                    number=f"{chapter}.{k}" if chapter is not None else str(k),
                    title=match.group("title").strip(),
                    autograded=label.group(1) in checked,
                )
            )
    return found


def stub_solution(source: str) -> str:
    """Turn a solution cell into the stub a student fills in.

    Top-level ``def``/``class`` lines and their docstrings stay, bodies become
    ``raise NotImplementedError``; top-level assignments keep their left-hand side
    and get ``...`` (one ``...`` per name when it unpacks several); everything else
    (calls, prints, assertions, continuation lines) goes.

    Args:
        source: the solution cell's code.

    Returns:
        The stub's code, starting with ``# Your answer here``.
    """
    lines = source.splitlines()
    out = [STUB_MARK + ", then run the self-check below."]
    i = 0
    while i < len(lines):
        line = lines[i]
        if _DEF.match(line):
            # the signature, possibly over several lines, up to its closing colon
            while not lines[i].rstrip().endswith(":") and i + 1 < len(lines):
                out.append(lines[i])
                i += 1
            out.append(lines[i])
            i += 1
            # Keep a docstring that opens right after the signature.
            if i < len(lines) and lines[i].strip().startswith(('"""', "'''")):
                quote = lines[i].strip()[:3]
                out.append(lines[i])
                closed = lines[i].strip().count(quote) >= 2
                i += 1
                while not closed and i < len(lines):
                    out.append(lines[i])
                    closed = quote in lines[i]
                    i += 1
            out.append('    raise NotImplementedError("your code here")')
            while i < len(lines) and (
                not lines[i].strip() or lines[i].startswith((" ", "\t"))
            ):
                i += 1
            out.append("")
            continue
        match = _ASSIGN.match(line)
        if match:
            names = [n.strip() for n in match.group(1).split(",") if n.strip()]
            value = ", ".join(["..."] * len(names)) if len(names) > 1 else "..."
            out.append(f"{', '.join(names)} = {value}  # your answer")
        i += 1
    return "\n".join(out).rstrip() + "\n"


#: Replaces a markdown-only solution: where the student writes.
WRITTEN_ANSWER = "*Your answer (your instructor reads it):*"
#: Replaces the code of an exercise that no self-check judges.
UNCHECKED_STUB = (
    STUB_MARK + " (no self-check for this one: your instructor reads it).\n"
)


def _gate_has_check(cells, index: int) -> bool:
    """Whether the solution gate holding cell ``index`` has a check call."""
    for cell in cells[index:]:
        if _opens(cell, "solution-end"):
            return False
        if cell.cell_type == "code" and CHECK_CALL.search(cell.source):
            return True
    return False


def _opens(cell, directive: str) -> bool:
    return (
        cell.cell_type == "markdown"
        and re.match(r"^\s*(`{3,}|:{3,})\{" + directive + r"\}", cell.source)
        is not None
    )


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of a chapter (both frameworks): solutions out, checks in.

    Args:
        nb: a chapter notebook (changed in place).

    Returns:
        The notebook with every solution cell replaced by a stub (a comment only
        when no check judges the exercise), the explanations removed, markdown
        solutions replaced by :data:`WRITTEN_ANSWER`, the checks'
        ``assert result.ok`` removed, outputs cleared. The MyST markers stay.

    Raises:
        ValueError: when a ``solution-start`` has no matching ``solution-end`` (or
            the reverse), or a cell tagged ``solution`` stands outside a gate.
    """
    cells, inside = [], False
    for index, cell in enumerate(nb.cells):
        if _opens(cell, "solution-start"):
            if inside:
                raise ValueError(
                    f"cell {index}: solution-start inside another solution"
                )
            inside = True
            continue
        if _opens(cell, "solution-end"):
            if not inside:
                raise ValueError(f"cell {index}: solution-end without a solution-start")
            inside = False
            continue
        if _opens(cell, "solution"):  # a written answer: room for the student's
            cells.append(nbformat.v4.new_markdown_cell(WRITTEN_ANSWER))
            cells[-1].pop("id", None)
            continue
        tags = cell_tags(cell)
        if cell.cell_type == "code" and SOLUTION in tags:
            if not inside:
                raise ValueError(
                    f"cell {index}: a cell tagged {SOLUTION!r} outside a "
                    "solution-start/solution-end gate (it would reach students)"
                )
            cell.source = (
                stub_solution(cell.source)
                if _gate_has_check(nb.cells, index)
                else UNCHECKED_STUB
            )
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != SOLUTION]
        elif inside and cell.cell_type == "markdown":
            continue  # the solution's explanation

        elif inside and cell.cell_type == "code":
            cell.source = _ASSERT_OK.sub("", cell.source).rstrip("\n")
        cells.append(cell)
    if inside:
        raise ValueError("a solution-start has no matching solution-end")
    nb.cells = cells
    return clean_notebook(nb)


def student_edition(
    nb: nbformat.NotebookNode,
    framework: str,
    *,
    chapter: int | None = None,
    bib: Bibliography | None = None,
    notebook: str | None = None,
) -> nbformat.NotebookNode:
    """The student notebook of a chapter for one framework.

    Args:
        nb: the chapter (not changed).
        framework: ``"pytorch"`` or ``"tensorflow"``.
        chapter: the chapter's number (exercise numbers "N.k").
        bib: author-year labels for citations.
        notebook: the notebook's path under ``chapters/`` (recorded for the
            grader, which then recognises the notebook whatever its file name).

    Returns:
        The framework's edition of :func:`student_notebook`, with
        :data:`STUDENT_NOTE` after the edition's header and notebook metadata
        ``{"recsys": {"chapter", "framework", "kind": "student"}}`` (plus
        ``"notebook"`` when given; the grader reads it).

    Raises:
        ValueError: on an unknown framework or a malformed chapter (see
            :func:`student_notebook` and :func:`framework_notebook`).
    """
    if framework not in FRAMEWORK_TAGS:
        raise ValueError(
            f"framework must be one of {FRAMEWORK_TAGS}; got {framework!r}"
        )
    out = framework_notebook(
        student_notebook(copy.deepcopy(nb)),
        framework,
        chapter=chapter,
        bib=bib,
        solutions=False,
    )
    header = next(
        i
        for i, c in enumerate(out.cells)
        if c.cell_type == "markdown" and c.source.startswith("*This is the ")
    )
    out.cells.insert(header + 1, nbformat.v4.new_markdown_cell(STUDENT_NOTE))
    out.cells[header + 1].pop("id", None)
    out.metadata["recsys"] = {
        "chapter": chapter,
        "framework": framework,
        "kind": "student",
    }
    if notebook is not None:
        out.metadata["recsys"]["notebook"] = notebook
    return out
