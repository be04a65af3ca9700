"""The release folder an instructor hands out and grades against.

``python -m coursetools release chapters release`` (``make release``) writes::

    release/
      students/pytorch/NN_x.ipynb      the student notebooks (coursetools/student.py)
      students/tensorflow/NN_x.ipynb
      instructor/solutions/pytorch/NN_x.ipynb     the editions, solutions folded in
      instructor/solutions/tensorflow/NN_x.ipynb
      instructor/answers/chNN.md       review-question answers (instructors/answers)
      instructor/exercises.json        every exercise: label, number, title, autograded
      .coursetools-release             marks a folder this command wrote

Give students ``students/<framework>/``; keep ``instructor/``. The grader
(coursetools/grade.py) reads ``exercises.json`` and the student notebooks' check cells.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from .notebooks import (
    FRAMEWORK_TAGS,
    Bibliography,
    chapter_number,
    framework_notebook,
    write_notebook,
)
from .student import exercises, student_edition

__all__ = ["MARKER", "write_release", "read_manifest"]

#: The file that marks a folder written by :func:`write_release`.
MARKER = ".coursetools-release"
ROOT = Path(__file__).resolve().parents[1]


def write_release(
    chapters: Path,
    target: Path,
    *,
    answers: Path | None = None,
    bib: Bibliography | None = None,
) -> dict:
    """Write the release folder for every ``chapters/*.ipynb``.

    Args:
        chapters: the folder of chapter notebooks.
        target: the release folder: must not exist, be empty, or be a release
            folder this function wrote before (then it is replaced).
        answers: the folder of review-question answers ``chNN.md`` (default:
            ``instructors/answers`` of the repository; ``None`` there: none copied).
        bib: author-year labels for citations (default: ``book/references.bib``).

    Returns:
        The manifest written to ``instructor/exercises.json``: ``{"chapters":
        {notebook name: {"chapter": N, "exercises": [...]}}}``.

    Raises:
        ValueError: when ``chapters`` holds no notebook, or ``target`` is a
            non-empty folder this command did not write (nothing is deleted then).
    """
    chapters, target = Path(chapters), Path(target)
    paths = sorted(chapters.glob("*.ipynb"))
    if not paths:
        raise ValueError(f"chapters: no *.ipynb in {chapters}; expected the chapters")
    if target.exists():
        if not target.is_dir():
            raise ValueError(f"target: {target} is a file; expected a folder")
        if any(target.iterdir()) and not (target / MARKER).exists():
            raise ValueError(
                f"target: {target} is not empty and was not written by this command "
                f"(no {MARKER}); choose a new folder"
            )
        shutil.rmtree(target)
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
    manifest: dict = {"chapters": {}}
    for path in paths:
        chapter = nbformat.read(path, as_version=4)
        number = chapter_number(path)
        manifest["chapters"][path.name] = {
            "chapter": number,
            "exercises": [vars(e) for e in exercises(chapter, number)],
        }
        for framework in FRAMEWORK_TAGS:
            write_notebook(
                student_edition(chapter, framework, chapter=number, bib=bib),
                staging / "students" / framework / path.name,
            )
            write_notebook(
                framework_notebook(chapter, framework, chapter=number, bib=bib),
                staging / "instructor" / "solutions" / framework / path.name,
            )
    if answers.is_dir():
        for md in sorted(answers.glob("ch*.md")):
            (staging / "instructor" / "answers").mkdir(parents=True, exist_ok=True)
            shutil.copy2(md, staging / "instructor" / "answers" / md.name)
    (staging / "instructor" / "exercises.json").write_text(
        json.dumps(manifest, indent=1) + "\n"
    )
    staging.replace(target)
    return manifest


def read_manifest(release: Path) -> dict:
    """The manifest of a release folder (``instructor/exercises.json``).

    Args:
        release: a folder written by :func:`write_release`.

    Returns:
        The manifest dict.

    Raises:
        ValueError: when ``release`` is not a release folder.
    """
    path = Path(release) / "instructor" / "exercises.json"
    if not (Path(release) / MARKER).exists() or not path.exists():
        raise ValueError(
            f"release: {release} is not a release folder (run `make release` first)"
        )
    return json.loads(path.read_text())
