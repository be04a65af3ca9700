"""The release folder an instructor hands out and grades against.

``python -m coursetools release chapters release`` (``make release``) finds every
section notebook under ``chapters/`` (``NN_topic/MM_name.ipynb``, found by
:func:`coursetools.sections.discover`; parity sections have no student side) and
writes::

    release/
      students/pytorch/<path>            the student notebooks (coursetools/student.py)
      students/tensorflow/<path>
      instructor/solutions/pytorch/<path>    the editions, solutions folded in
      instructor/solutions/tensorflow/<path>
      instructor/answers/chNN.md         review-question answers (instructors/answers)
      instructor/grading/chNN.py         references, hidden cases, typical mistakes,
                                         points and rubrics (instructors/grading)
      instructor/exercises.json          every exercise: label, number, title, points,
                                         autograded, the name its answer has
      instructor/kit.md                  points, rubrics, the solutions policy
      .coursetools-release               marks a folder this command wrote

Give students ``students/<framework>/``; keep ``instructor/``. ``exercises.json``
also holds the seed of the hidden inputs, drawn when the release is written (grading
is then reproducible for the instructor, and the inputs are not in the repository).
"""

from __future__ import annotations

import ast
import json
import re
import secrets
import shutil
from pathlib import Path

import nbformat

from .notebooks import FRAMEWORK_TAGS, Bibliography, framework_notebook, write_notebook
from .student import exercises, student_edition

__all__ = ["MARKER", "write_release", "read_manifest", "find_notebooks", "chapter_of"]

#: The file that marks a folder written by :func:`write_release`.
MARKER = ".coursetools-release"
ROOT = Path(__file__).resolve().parents[1]
MANIFEST_VERSION = 2

#: What the kit says about releasing solutions.
SOLUTIONS_POLICY = """\
## When to release the solutions

The solution notebooks (`instructor/solutions/`) and the review answers
(`instructor/answers/`) stay with you until every student's work on that chapter is
graded, late submissions included; then hand them out, chapter by chapter, so that
students can study what they missed. Hidden cases are drawn afresh for each release
(`exercises.json` holds the seed): after the solutions are out, write a new release
(`make release`) before grading the same chapter for another group. The course is
open: its public website and repository show every solution (a `make book
CLASSROOM=1` build hides them from your class's website, not from the repository). A
student who copies one passes the automatic checks, so weigh the written answers and
the rubric below, and read the notebooks of surprising grades.
"""


def chapter_of(path: str) -> int | None:
    """The chapter number of a notebook path relative to ``chapters/``: the leading
    ``NN_`` of its first component (``03_two_tower/05_exercises.ipynb`` -> 3)."""
    match = re.match(r"(\d+)_", path.split("/")[0])
    return int(match.group(1)) if match else None


def find_notebooks(chapters: Path) -> list[tuple[str, int, Path]]:
    """``(path under chapters/, chapter number, path)`` of every section notebook that
    has a student side (every section but the parity ones), in reading order.

    Raises:
        ValueError: when a name under ``chapters`` does not follow the layout
            (:func:`coursetools.sections.discover` names it).
    """
    from .sections import discover

    return [(s.rel, s.chapter, s.path) for s in discover(chapters) if not s.is_parity]


def _is_check(node: ast.AST, label: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "check"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "exercises"
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == label
    )


def answer_name(nb: nbformat.NotebookNode, label: str) -> tuple[str, dict[str, str]]:
    """The name a notebook's check cell passes as the answer to ``label``, and the
    names it passes as context (``table=ivf_big`` -> ``{"table": "ivf_big"}``).

    A name rebound in the check cell from another (the pick line, ``loss = loss_tf``)
    resolves to that other name: it is the one the student's answer cell binds.

    Raises:
        ValueError: when no code cell calls the check with a plain name.
    """
    for cell in nb.cells:
        if cell.cell_type != "code" or label not in cell.source:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        calls = [n for n in ast.walk(tree) if _is_check(n, label)]
        if not calls or not isinstance(calls[0].args[1], ast.Name):
            continue
        name = calls[0].args[1].id
        for stmt in tree.body:
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id == name
                and isinstance(stmt.value, ast.Name)
            ):
                name = stmt.value.id
        context = {
            kw.arg: kw.value.id
            for kw in calls[0].keywords
            if kw.arg not in (None, "framework") and isinstance(kw.value, ast.Name)
        }
        return name, context
    raise ValueError(
        f"no code cell calls ru.exercises.check({label!r}, <name>): the grader needs "
        "the name of the answer"
    )


def _kit(manifest: dict, specs: dict, written: dict) -> str:
    lines = [
        "# Instructor's kit",
        "",
        "Points of every exercise: *auto* ones are graded by `make grade` (all the "
        "points when every hidden case passes); *read* ones by you, with the rubric.",
        "",
        "| exercise | label | title | graded | points |",
        "|---|---|---|---|---:|",
    ]
    rubrics = []
    for entry in manifest["notebooks"].values():
        for ex in entry["exercises"]:
            how = "auto" if ex["autograded"] else "read"
            points = ex["points"] if ex["points"] is not None else "-"
            lines.append(
                f"| {ex['number']} | `{ex['label']}` | {ex['title']} | {how} "
                f"| {points} |"
            )
            if ex["label"] in written:
                rubrics += [
                    "",
                    f"### Exercise {ex['number']} ({ex['title']}), "
                    f"{written[ex['label']]['points']} points",
                    "",
                    *(f"- {item}" for item in written[ex["label"]]["rubric"]),
                ]
    lines += ["", "## Rubrics of the written exercises", *rubrics, "", SOLUTIONS_POLICY]
    return "\n".join(lines)


def write_release(
    chapters: Path,
    target: Path,
    *,
    answers: Path | None = None,
    grading: Path | None = None,
    bib: Bibliography | None = None,
    seed: int | None = None,
) -> dict:
    """Write the release folder for every notebook under ``chapters``.

    Args:
        chapters: the folder of chapters (notebooks, possibly in chapter folders).
        target: the release folder: must not exist, be empty, or be a release
            folder this function wrote before (then it is replaced).
        answers: the folder of review-question answers ``chNN.md`` (default:
            ``instructors/answers``; a missing folder: none copied).
        grading: the folder of grading specs ``chNN.py`` (default:
            ``instructors/grading``).
        bib: author-year labels for citations (default: ``book/references.bib``).
        seed: the seed of the hidden inputs (default: drawn at random).

    Returns:
        The manifest written to ``instructor/exercises.json``: ``{"version", "seed",
        "notebooks": {path: {"chapter": N, "exercises": [...]}}}``.

    Raises:
        ValueError: when ``chapters`` holds no notebook, ``target`` is a non-empty
            folder this command did not write (nothing is deleted then), an
            autograded exercise has no grading spec or no answer name, or a
            chapter's editions would number its exercises otherwise than the
            grader.
    """
    from .grade import load_specs

    chapters, target = Path(chapters), Path(target)
    notebooks = find_notebooks(chapters)
    if not notebooks:
        raise ValueError(
            f"chapters: no section notebook under {chapters}; expected "
            "NN_topic/MM_name.ipynb"
        )
    if target.exists():
        if not target.is_dir():
            raise ValueError(f"target: {target} is a file; expected a folder")
        if any(target.iterdir()) and not (target / MARKER).exists():
            raise ValueError(
                f"target: {target} is not empty and was not written by this command "
                f"(no {MARKER}); choose a new folder"
            )
    grading = ROOT / "instructors" / "grading" if grading is None else Path(grading)
    specs, written = load_specs(grading)
    if bib is None:
        bib = Bibliography.read(ROOT / "book" / "references.bib")
    if answers is None:
        answers = ROOT / "instructors" / "answers"
    staging = target.with_name(target.name + ".partial")
    if staging.exists():
        if not (staging / MARKER).exists():
            raise ValueError(f"target: {staging} exists and is not ours; remove it")
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    (staging / MARKER).write_text("written by python -m coursetools release\n")
    manifest: dict = {
        "version": MANIFEST_VERSION,
        "seed": secrets.randbits(63) if seed is None else int(seed),
        "notebooks": {},
    }
    counted: dict[int | None, int] = {}
    try:
        for rel, number, path in notebooks:
            chapter = nbformat.read(path, as_version=4)
            first = counted.get(number, 0) + 1
            found = exercises(chapter, number, first=first)
            counted[number] = first - 1 + len(found)
            entries = []
            editions = {
                fw: student_edition(chapter, fw, chapter=number, bib=bib, notebook=rel)
                for fw in FRAMEWORK_TAGS
            }
            shown = "\n".join(
                c.source
                for c in editions[FRAMEWORK_TAGS[0]].cells
                if c.cell_type == "markdown"
            )
            for ex in found:
                entry = vars(ex) | {"points": None, "kind": None}
                if f"**Exercise {ex.number}**" not in shown:
                    raise ValueError(
                        f"{rel}: exercise {ex.label} is {ex.number} in the chapter but "
                        "numbered otherwise in its notebook; keep a chapter's "
                        "exercises "
                        "in one notebook (its exercises section)"
                    )
                if ex.autograded:
                    if ex.label not in specs:
                        raise ValueError(
                            f"{rel}: exercise {ex.label} has a self-check but no "
                            "spec in "
                            f"{grading} (its reference, hidden cases and points)"
                        )
                    names = {
                        fw: answer_name(editions[fw], ex.label) for fw in FRAMEWORK_TAGS
                    }
                    entry["answer"] = {fw: n for fw, (n, _) in names.items()}
                    entry["context"] = names[FRAMEWORK_TAGS[0]][1]
                    entry["points"] = specs[ex.label]["points"]
                    entry["kind"] = specs[ex.label]["kind"]
                elif ex.label in written:
                    entry["points"] = written[ex.label]["points"]
                entries.append(entry)
            manifest["notebooks"][rel] = {"chapter": number, "exercises": entries}
            for fw in FRAMEWORK_TAGS:
                write_notebook(editions[fw], staging / "students" / fw / rel)
                write_notebook(
                    framework_notebook(chapter, fw, chapter=number, bib=bib),
                    staging / "instructor" / "solutions" / fw / rel,
                )
        if answers.is_dir():
            for md in sorted(answers.glob("ch*.md")):
                (staging / "instructor" / "answers").mkdir(parents=True, exist_ok=True)
                shutil.copy2(md, staging / "instructor" / "answers" / md.name)
        (staging / "instructor" / "grading").mkdir(parents=True)
        for spec_file in sorted(grading.glob("ch*.py")):
            shutil.copy2(spec_file, staging / "instructor" / "grading" / spec_file.name)
        (staging / "instructor" / "exercises.json").write_text(
            json.dumps(manifest, indent=1) + "\n"
        )
        (staging / "instructor" / "kit.md").write_text(_kit(manifest, specs, written))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(target)
    staging.replace(target)
    return manifest


def read_manifest(release: Path) -> dict:
    """The manifest of a release folder (``instructor/exercises.json``).

    Args:
        release: a folder written by :func:`write_release`.

    Returns:
        The manifest dict.

    Raises:
        ValueError: when ``release`` is not a release folder, or one written by an
            older version of this command.
    """
    path = Path(release) / "instructor" / "exercises.json"
    if not (Path(release) / MARKER).exists() or not path.exists():
        raise ValueError(
            f"release: {release} is not a release folder (run `make release` first)"
        )
    manifest = json.loads(path.read_text())
    if manifest.get("version") != MANIFEST_VERSION:
        raise ValueError(
            f"release: {release} was written by an older `make release`; write it again"
        )
    return manifest
