"""Release and grading end to end on made-up submissions (coursetools/grade.py).

A tiny chapter with four self-checked exercises (the checks of chapter 0 and 7) and a
written one is released; six made-up students submit: all correct, typical mistakes
(hints), untouched, errors and tampering with the check cells, a malicious one
(deletes a file outside its folder, reads another submission, starts a background
process, allocates 8 GiB, loops forever) and one that kills its kernel. The grade
table is asserted cell by cell; the instructor's files survive.
"""

from __future__ import annotations

import csv
import os
import shutil
import stat
import tempfile
from pathlib import Path

import nbformat
import pytest

from coursetools.grade import Limits, grade_folder
from coursetools.release import MARKER, read_manifest, write_release
from coursetools.sandbox import closed_ancestors, sandbox_env

# one worker grades once for the whole module (pytest-xdist --dist loadgroup)
pytestmark = pytest.mark.xdist_group("grading")

LABELS = ["ch0-ex-metrics", "ch0-ex-popularity", "ch7-ex-average", "ch7-ex-memory"]
ANSWERS = {  # the variable or function each exercise asks for
    "ch0-ex-metrics": "ndcg3",
    "ch0-ex-popularity": "popularity_scores",
    "ch7-ex-average": "share_weights",
    "ch7-ex-memory": "table_gb",
}
CORRECT = {
    "ch0-ex-metrics": "ndcg3 = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3) + 0.5)",
    "ch0-ex-popularity": (
        "def popularity_scores(train, user_ids):\n"
        "    counts = np.asarray(train.sum(axis=0)).ravel()\n"
        "    return np.tile(counts, (len(user_ids), 1))\n"
    ),
    "ch7-ex-average": "share_weights = [300 / 512, 212 / 512]",
    "ch7-ex-memory": "table_gb = 10_000_000 * 64 * 4 * 3 / 1e9",
}
ROOT_ONLY = pytest.mark.skipif(
    os.geteuid() != 0, reason="the user switch needs root (an instructor's laptop)"
)


def _chapter() -> nbformat.NotebookNode:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md("# A tiny chapter"),
        code(
            "import numpy as np\nimport recsys_utils as ru\n\n"
            "FRAMEWORK = ru.framework()"
        ),
        md("```{exercise} Say why\n:label: tiny-ex-why\nWhy?\n```"),
        md("```{solution} tiny-ex-why\nBecause.\n```"),
    ]
    for label in LABELS:
        solution = code(CORRECT[label])
        solution.metadata["tags"] = ["solution"]
        cells += [
            md(f"```{{exercise}} Exercise {label}\n:label: {label}\nDo it.\n```"),
            md(f"```{{solution-start}} {label}\n```"),
            solution,
            code(
                f'result = ru.exercises.check("{label}", {ANSWERS[label]})\n'
                "assert result.ok"
            ),
            md("```{solution-end}\n```"),
        ]
    cells.append(code('print("reached the end")'))
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nb


def _fill(nb, answers: dict[str, str], checks: dict[str, str | None] | None = None):
    """The student's notebook: stubs replaced by ``answers``, check cells replaced
    (or deleted, for ``None``) by ``checks``."""
    checks = checks or {}
    nb = nbformat.from_dict(nb)
    stubs = [c for c in nb.cells if c.source.startswith("# Your answer here,")]
    check_cells = [c for c in nb.cells if "ru.exercises.check(" in c.source]
    for label, stub, check in zip(LABELS, stubs, check_cells, strict=True):
        if label in answers:
            stub.source = answers[label]
        if label in checks:
            check.source = checks[label] or ""
    nb.cells = [c for c in nb.cells if c.source != ""]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    (base / "chapters").mkdir()
    nbformat.write(_chapter(), base / "chapters" / "00_tiny.ipynb")
    release = base / "release"
    write_release(base / "chapters", release, answers=base / "no-answers")
    student = {
        fw: nbformat.read(release / "students" / fw / "00_tiny.ipynb", as_version=4)
        for fw in ("pytorch", "tensorflow")
    }
    # the instructor's files a malicious submission goes after
    outside = Path(tempfile.mkdtemp(prefix="grading-outside-"))
    os.chmod(outside, 0o755)  # anyone may read here, only its owner write
    (outside / "drop").mkdir()
    os.chmod(outside / "drop", 0o1777)  # like /tmp: where a leak could be written
    canary = base / "instructor-file.txt"
    canary.write_text("keep me")
    shared = outside / "shared-file.txt"  # world-readable, not its folder
    shared.write_text("keep me too")
    leak = outside / "drop" / "leak.txt"
    subs = base / "submissions"
    alice_nb = _fill(student["pytorch"], CORRECT)
    evil = (
        "import os, subprocess\n"
        f"for target in [{str(canary)!r}, {str(shared)!r}]:\n"
        "    try:\n"
        "        os.remove(target)\n"
        "    except OSError as err:\n"
        "        print('blocked', type(err).__name__)\n"
        "try:\n"
        f"    stolen = open({str(subs / 'alice' / '00_tiny.ipynb')!r}).read()\n"
        f"    open({str(leak)!r}, 'w').write(stolen)\n"
        "except OSError as err:\n"
        "    print('blocked', type(err).__name__)\n"
        "subprocess.Popen(['sleep', '987654'], start_new_session=True)\n"
    )
    submissions = {
        "alice": alice_nb,
        "bob": _fill(
            student["tensorflow"],
            {
                "ch0-ex-metrics": "ndcg3 = 1.5",
                "ch0-ex-popularity": (
                    "def popularity_scores(train, user_ids):\n"
                    "    n = np.asarray(train.sum(axis=1)).ravel()[user_ids, None]\n"
                    "    return n * np.ones((1, train.shape[1]))\n"
                ),
                "ch7-ex-average": "share_weights = [0.5, 0.5]",
                "ch7-ex-memory": CORRECT["ch7-ex-memory"],
            },
        ),
        "carol": nbformat.from_dict(student["pytorch"]),
        "dave": _fill(
            student["tensorflow"],
            {
                "ch0-ex-metrics": "ndcg3 = undefined_name",
                "ch0-ex-popularity": (
                    "def popularity_scores(train, user_ids):\n    return 1 / 0\n"
                ),
            },
            checks={
                "ch7-ex-average": (  # a faked outcome: the check cell is restored
                    "display({'application/vnd.recsys.check+json': "
                    "{'exercise': 'ch7-ex-average', 'status': 'correct'}}, raw=True)\n"
                    '# ru.exercises.check("ch7-ex-average", share_weights)'
                ),
                "ch7-ex-memory": None,
            },
        ),
        "eve": _fill(
            student["pytorch"],
            {
                "ch0-ex-metrics": evil + CORRECT["ch0-ex-metrics"],
                "ch0-ex-popularity": (
                    "def popularity_scores(train, user_ids):\n"
                    "    huge = np.empty(8 * 2**30, dtype=np.uint8)\n"
                    "    return huge\n"
                ),
                "ch7-ex-average": "while True:\n    pass",
            },
        ),
        "frank": _fill(
            student["tensorflow"],
            {
                "ch0-ex-metrics": CORRECT["ch0-ex-metrics"],
                "ch0-ex-popularity": "import os\nos.kill(os.getpid(), 9)",
            },
        ),
    }
    for name, nb in submissions.items():
        (subs / name).mkdir(parents=True)
        nbformat.write(nb, subs / name / "00_tiny.ipynb")
    out = base / "grades"
    rows = grade_folder(
        subs, release, out, Limits(timeout=45, memory=3 * 1024**3), log=lambda _: None
    )
    yield {
        "rows": rows,
        "out": out,
        "release": release,
        "canary": canary,
        "shared": shared,
        "leak": leak,
    }
    shutil.rmtree(outside)


EXPECTED = [
    ("alice", "pytorch", "correct", "correct", "correct", "correct", "4"),
    ("bob", "tensorflow", "hint given", "hint given", "hint given", "correct", "1"),
    ("carol", "pytorch", *["not attempted"] * 4, "0"),
    ("dave", "tensorflow", "error", "error", "not attempted", "error", "0"),
    ("eve", "pytorch", "correct", "error", "timed out", "timed out", "1"),
    ("frank", "tensorflow", "correct", "error", "error", "error", "1"),
]


@pytest.mark.notebooks
def test_grade_table_cell_by_cell(graded):
    with open(graded["out"] / "grades.csv", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["student", "framework", *LABELS, "points", "max_points"]
    assert [tuple(row) for row in table[1:]] == [(*e, "4") for e in EXPECTED]
    assert [r["points"] for r in graded["rows"]] == [e[-1] for e in EXPECTED]


@pytest.mark.notebooks
def test_feedback_names_the_hints_errors_and_written_exercises(graded):
    feedback = graded["out"] / "feedback"
    assert sorted(p.name for p in feedback.iterdir()) == [
        f"{e[0]}.md" for e in EXPECTED
    ]
    bob = (feedback / "bob.md").read_text()
    assert "Points: 1 of 4" in bob
    assert "divide by the ideal DCG" in bob  # the check's specific hint
    assert "popularity counts users per item (axis=0)" in bob
    assert "DDP's plain average" in bob
    assert "Read by your instructor: Exercise 0.1 (Say why)." in bob
    dave = (feedback / "dave.md").read_text()
    assert "NameError: name 'ndcg3' is not defined" in dave
    assert "ZeroDivisionError" in dave
    assert "the check cell was deleted or changed" in dave
    eve = (feedback / "eve.md").read_text()
    assert "MemoryError" in eve  # RLIMIT_AS: 8 GiB refused under a 3 GiB limit
    assert "ran out of its 45 s" in eve
    assert "kernel died" in (feedback / "frank.md").read_text()
    assert "correct" in (feedback / "alice.md").read_text()


@pytest.mark.notebooks
def test_submission_leaves_no_process_behind(graded):
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        assert cmdline != b"sleep\x00987654\x00", f"process {proc.name} survived"


@ROOT_ONLY
@pytest.mark.notebooks
def test_malicious_submission_cannot_touch_instructor_or_other_files(graded):
    assert graded["canary"].read_text() == "keep me"
    assert graded["shared"].read_text() == "keep me too"  # not its folder: kept
    assert not graded["leak"].exists()  # alice's notebook was not readable


@pytest.mark.notebooks
def test_release_folder_layout_and_manifest(graded):
    release = graded["release"]
    files = sorted(
        str(p.relative_to(release)) for p in release.rglob("*") if p.is_file()
    )
    assert files == [
        MARKER,
        "instructor/exercises.json",
        "instructor/solutions/pytorch/00_tiny.ipynb",
        "instructor/solutions/tensorflow/00_tiny.ipynb",
        "students/pytorch/00_tiny.ipynb",
        "students/tensorflow/00_tiny.ipynb",
    ]
    manifest = read_manifest(release)
    exercises = manifest["chapters"]["00_tiny.ipynb"]["exercises"]
    assert [(e["label"], e["number"], e["autograded"]) for e in exercises] == [
        ("tiny-ex-why", "0.1", False),
        *((label, f"0.{k}", True) for k, label in enumerate(LABELS, 2)),
    ]
    student = (release / "students" / "pytorch" / "00_tiny.ipynb").read_text()
    assert "np.log2(3)" not in student and "300 / 512" not in student


@pytest.mark.notebooks
def test_release_and_grade_refuse_a_folder_they_did_not_write(tmp_path, graded):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("x")
    chapters = graded["release"].parent / "chapters"
    with pytest.raises(ValueError, match="not written by this command"):
        write_release(chapters, mine)
    with pytest.raises(ValueError, match="not written by this command"):
        grade_folder(graded["release"].parent / "submissions", graded["release"], mine)
    assert (mine / "keep.txt").read_text() == "x"
    with pytest.raises(ValueError, match="not a release folder"):
        read_manifest(mine)
    with pytest.raises(ValueError, match="chapters"):
        write_release(mine, tmp_path / "r")


def test_limits_reject_bad_values():
    with pytest.raises(ValueError, match="timeout"):
        Limits(timeout=0)
    with pytest.raises(ValueError, match="memory"):
        Limits(memory=1000)
    with pytest.raises(ValueError, match="release folder"):
        grade_folder(Path("."), Path("no-such-release"), Path("x"))


def test_closed_ancestors_names_the_folders_others_cannot_enter(tmp_path):
    (tmp_path / "open" / "a").mkdir(parents=True)
    (tmp_path / "shut" / "b" / "c").mkdir(parents=True)
    (tmp_path / "shut" / "other").mkdir()
    for path in (tmp_path, tmp_path / "open", tmp_path / "shut" / "b"):
        os.chmod(path, 0o755)
    os.chmod(tmp_path / "shut", 0o700)
    closed = closed_ancestors([tmp_path / "open" / "a", tmp_path / "shut" / "b" / "c"])
    assert {
        k: v for k, v in closed.items() if tmp_path in k.parents or k == tmp_path
    } == {tmp_path / "shut": {"b"}}
    assert stat.S_IMODE((tmp_path / "shut").stat().st_mode) == 0o700  # unchanged


def test_sandbox_env_keeps_only_what_a_notebook_needs(tmp_path):
    env = sandbox_env(
        tmp_path,
        {
            "PATH": "/bin",
            "PYTHONPATH": "/repo",
            "RECSYS_DATA_HOME": "/data",
            "AWS_SECRET_ACCESS_KEY": "x",
            "HOME": "/root",
        },
    )
    assert env["PATH"] == "/bin" and env["PYTHONPATH"] == "/repo"
    assert env["RECSYS_DATA_HOME"] == "/data"
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert env["HOME"] == str(tmp_path) and env["TMPDIR"] == str(tmp_path / "tmp")
    assert env["MPLCONFIGDIR"].startswith(str(tmp_path))


def test_release_of_the_real_chapters(tmp_path):
    """`make release` on chapters/: four notebooks per chapter, answers, manifest."""
    root = Path(__file__).parents[1]
    chapters = sorted((root / "chapters").glob("*.ipynb"))
    manifest = write_release(root / "chapters", tmp_path / "release")
    assert sorted(manifest["chapters"]) == [p.name for p in chapters]
    for path in chapters:
        for side in ("students", "instructor/solutions"):
            for framework in ("pytorch", "tensorflow"):
                nb = nbformat.read(
                    tmp_path / "release" / side / framework / path.name, as_version=4
                )
                assert nb.cells, f"{side}/{framework}/{path.name} is empty"
    answers = sorted(p.name for p in (root / "instructors" / "answers").glob("ch*.md"))
    copied = sorted(p.name for p in (tmp_path / "release/instructor/answers").iterdir())
    assert copied == answers
    labels = [e["label"] for c in manifest["chapters"].values() for e in c["exercises"]]
    assert len(labels) == len(set(labels))  # the grade table's columns are unique
