"""Grading a class: 20 made-up students, 2 chapters, ``-j 2``.

Two tiny chapters (``00_alpha`` and ``07_beta``, two autograded exercises each) are
released; student ``k`` answers exercise ``j`` correctly, with the usual mistake, not
at all, or with code that raises, by ``(k + j) % 4``, in PyTorch or TensorFlow by
``k % 2``; every fifth student hands in chapter 0 only. The cycles have lengths 4, 2
and 5, so twenty students run through every combination they make once (a larger
class would repeat them, at about one more second per student). The outcome and the
points of every cell of the table are asserted, and the run's time is printed
(``-s``).
"""

from __future__ import annotations

import csv
import shutil
import time

import nbformat
import pytest
from test_grade import CORRECT, MISTAKES, fill, tiny_chapter

from coursetools.grade import Limits, grade_folder
from coursetools.release import write_release

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (make sandbox-deps)"
    ),
    pytest.mark.xdist_group("grading"),
]
CHAPTERS = {
    "00_alpha/01_exercises.ipynb": ["ch0-ex-metrics", "ch0-ex-popularity"],
    "07_beta/01_exercises.ipynb": ["ch7-ex-average", "ch7-ex-owner"],
}
NAMES = {
    "ch0-ex-metrics": "ndcg_at",
    "ch0-ex-popularity": "popularity_scores",
    "ch7-ex-average": "share_weights",
    "ch7-ex-owner": "row_owner",
}
ANSWERS = {
    "correct": {
        **CORRECT,
        "ch7-ex-average": "def share_weights(shares):\n"
        "    return [n / sum(shares) for n in shares]\n",
    },
    "hint given": {
        **MISTAKES,
        "ch7-ex-average": "def share_weights(shares):\n"
        "    return [1 / len(shares)] * len(shares)\n",
    },
    "error": {
        "ch0-ex-metrics": "ndcg_at = undefined_name",
        "ch0-ex-popularity": "def popularity_scores(train, num_items, half_life):\n"
        "    raise ValueError('no')\n",
        "ch7-ex-average": "def share_weights(shares):\n    return undefined_name\n",
        "ch7-ex-owner": "def row_owner(ids, num_rows, world_size, scheme):\n"
        "    return ids[999999]\n",
    },
}
KINDS = ["correct", "hint given", "not attempted", "error"]
POINTS = {"ch0-ex-metrics": 1, "ch0-ex-popularity": 2, "ch7-ex-average": 1}
POINTS["ch7-ex-owner"] = 2
STUDENTS = 20  # math.lcm(4, 2, 5): every combination of the cycles once


def _plan(k: int) -> dict[str, str]:
    labels = [label for labels in CHAPTERS.values() for label in labels]
    plan = {label: KINDS[(k + j) % 4] for j, label in enumerate(labels)}
    if k % 5 == 0:
        plan.update({label: "not submitted" for label in CHAPTERS[list(CHAPTERS)[1]]})
    return plan


def test_twenty_students_two_chapters_two_jobs(tmp_path):
    for key, labels in CHAPTERS.items():
        (tmp_path / "chapters" / key).parent.mkdir(parents=True)
        nb = tiny_chapter(labels=labels, answers=ANSWERS["correct"], names=NAMES)
        nbformat.write(nb, tmp_path / "chapters" / key)
    release = tmp_path / "release"
    write_release(tmp_path / "chapters", release, answers=tmp_path / "none", seed=11)
    for k in range(STUDENTS):
        framework = ("pytorch", "tensorflow")[k % 2]
        plan = _plan(k)
        for key, labels in CHAPTERS.items():
            if plan[labels[0]] == "not submitted":
                continue
            handed = nbformat.read(release / "students" / framework / key, as_version=4)
            answers = {
                label: ANSWERS[plan[label]][label]
                for label in labels
                if plan[label] in ANSWERS
            }
            path = tmp_path / "submissions" / f"student{k:02d}" / key
            path.parent.mkdir(parents=True)
            nbformat.write(fill(handed, answers, labels=labels), path)
    start = time.monotonic()
    grade_folder(
        tmp_path / "submissions",
        release,
        tmp_path / "grades",
        Limits(timeout=120, memory=2 * 1024**3),
        jobs=2,
        log=lambda _: None,
    )
    seconds = time.monotonic() - start
    print(f"\n{STUDENTS} students x {len(CHAPTERS)} chapters, -j 2: {seconds:.0f} s")
    labels = [label for labels in CHAPTERS.values() for label in labels]
    with open(tmp_path / "grades" / "outcomes.csv", newline="") as handle:
        outcomes = list(csv.reader(handle))
    with open(tmp_path / "grades" / "grades.csv", newline="") as handle:
        grades = list(csv.reader(handle))
    assert outcomes[0] == ["student", "framework", *labels, "points", "max_points"]
    assert grades[0] == ["student", *labels, "total"]
    assert len(outcomes) == len(grades) == STUDENTS + 1
    for k in range(STUDENTS):
        plan = _plan(k)
        points = [POINTS[label] if plan[label] == "correct" else 0 for label in labels]
        max_points = sum(
            POINTS[label] for label in labels if plan[label] != "not submitted"
        )
        framework = ("pytorch", "tensorflow")[k % 2]
        assert outcomes[k + 1] == [
            f"student{k:02d}",
            framework,
            *(plan[label] for label in labels),
            str(sum(points)),
            str(max_points),
        ]
        assert grades[k + 1] == [f"student{k:02d}", *map(str, points), str(sum(points))]
