"""Student versions of the chapters: solutions out, self-checks in.

Command line: ``python -m coursetools student chapters student``.

Conventions (see book/instructors.md): an exercise is a markdown cell holding an
``{exercise}`` block; its worked solution is gated between a markdown cell that opens
with ``{solution-start}`` and one that opens with ``{solution-end}``. Code cells inside
the gate that are tagged ``solution`` hold the answer; the other code cells there (the
self-check call) stay in the student version.
"""

from __future__ import annotations

import re

import nbformat

from .notebooks import clean_notebook

__all__ = ["student_notebook", "stub_solution"]

_DEF = re.compile(r"^(def|class) \w+")
_ASSIGN = re.compile(r"^([A-Za-z_][\w, ]*)\s*=(?!=)")
# The book asserts that each self-check passes on the worked solution; a student's
# notebook shows the hint instead of stopping with an AssertionError.
_ASSERT_OK = re.compile(r"^assert \w+\.ok\b.*\n?", re.MULTILINE)


def stub_solution(source: str) -> str:
    """Turn a solution cell into the stub a student fills in.

    Top-level ``def``/``class`` lines and their docstrings stay, bodies become
    ``raise NotImplementedError``; top-level assignments keep their left-hand side.

    Args:
        source: the solution cell's code.

    Returns:
        The stub's code, starting with a comment that says what to do.
    """
    lines = source.splitlines()
    out = ["# Your answer here: fill in the body, then run the self-check below."]
    i = 0
    while i < len(lines):
        line = lines[i]
        if _DEF.match(line):
            out.append(line)
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
            indent = " " * 4
            out.append(f'{indent}raise NotImplementedError("your code here")')
            while i < len(lines) and (
                not lines[i].strip() or lines[i].startswith((" ", "\t"))
            ):
                i += 1
            out.append("")
            continue
        match = _ASSIGN.match(line)
        if match:
            out.append(f"{match.group(1).strip()} = ...  # your answer")
        i += 1
    return "\n".join(out).rstrip() + "\n"


def _opens(cell, directive: str) -> bool:
    return (
        cell.cell_type == "markdown"
        and re.match(r"^\s*(`{3,}|:{3,})\{" + directive + r"\}", cell.source)
        is not None
    )


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of a chapter: solutions out, self-checks in.

    Args:
        nb: a chapter notebook (changed in place).

    Returns:
        The notebook with every gated solution replaced by stubs, outputs cleared.

    Raises:
        ValueError: when a ``solution-start`` has no matching ``solution-end``.
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
        if _opens(cell, "solution"):
            continue  # a self-contained markdown solution
        if (
            inside
            and cell.cell_type == "code"
            and "solution" in cell.metadata.get("tags", [])
        ):
            cell.source = stub_solution(cell.source)
            cell.metadata["tags"] = [
                t for t in cell.metadata["tags"] if t != "solution"
            ]
        elif inside and cell.cell_type == "markdown":
            continue  # the solution's explanation
        elif inside and cell.cell_type == "code":
            cell.source = _ASSERT_OK.sub("", cell.source).rstrip("\n")
        cells.append(cell)
    if inside:
        raise ValueError("a solution-start has no matching solution-end")
    nb.cells = cells
    return clean_notebook(nb)
