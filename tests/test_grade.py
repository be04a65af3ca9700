"""Release and grading end to end on made-up submissions, hostile ones included.

A tiny chapter (``00_tiny/01_exercises.ipynb``) with three autograded exercises (a
value, a function, a function returning two arrays) and a written one is released;
made-up students submit: honest ones, the usual mistakes, and every attack of issue 25
(links where the grader expects files, FIFOs, devices, malformed notebooks, hostile
folder names, background processes, process-slot exhaustion, reading the repository,
leaving files, time and memory exhaustion, flooding output, faking the check, answers
that fit only the public examples). Two victims are graded after the attackers. The
grade table is asserted cell by cell, and the instructor's files, the repository's
tooling and the release are unchanged afterwards.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

import nbformat
import pytest

from coursetools.grade import Limits, csv_cell, grade_folder, load_specs
from coursetools.release import MARKER, answer_name, read_manifest, write_release

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (make sandbox-deps)"
    ),
    pytest.mark.xdist_group("grading"),
]
LABELS = ["ch0-ex-metrics", "ch0-ex-popularity", "ch7-ex-owner"]
NAMES = {
    "ch0-ex-metrics": "ndcg_at",
    "ch0-ex-popularity": "popularity_scores",
    "ch7-ex-owner": "row_owner",
}
CORRECT = {
    "ch0-ex-metrics": (
        "def ndcg_at(ranked, relevant, k):\n"
        "    hits = np.isin(np.asarray(ranked)[:k], list(relevant))\n"
        "    discount = 1 / np.log2(np.arange(2, k + 2))\n"
        "    ideal = discount[: min(k, len(relevant))].sum()\n"
        "    return (hits @ discount[: hits.size]) / ideal\n"
    ),
    "ch0-ex-popularity": (
        "def popularity_scores(train, num_items, half_life):\n"
        "    w = np.exp2(-train.age.to_numpy() / half_life)\n"
        "    return np.bincount(train.item_id, weights=w, minlength=num_items)\n"
    ),
    "ch7-ex-owner": (
        "def row_owner(ids, num_rows, world_size, scheme):\n"
        "    ids = np.asarray(ids)\n"
        "    if scheme == 'cyclic':\n"
        "        return ids % world_size, ids // world_size\n"
        "    per = -(-num_rows // world_size)\n"
        "    return ids // per, ids % per\n"
    ),
}
MISTAKES = {
    "ch0-ex-metrics": (  # the DCG, not normalised
        "def ndcg_at(ranked, relevant, k):\n"
        "    hits = np.isin(np.asarray(ranked)[:k], list(relevant))\n"
        "    return hits @ (1 / np.log2(np.arange(2, hits.size + 2)))\n"
    ),
    "ch0-ex-popularity": (  # purchases counted without their age
        "def popularity_scores(train, num_items, half_life):\n"
        "    return np.bincount(train.item_id, minlength=num_items) * 1.0\n"
    ),
    "ch7-ex-owner": (  # the two schemes swapped
        "def row_owner(ids, num_rows, world_size, scheme):\n"
        "    ids = np.asarray(ids)\n"
        "    if scheme == 'block':\n"
        "        return ids % world_size, ids // world_size\n"
        "    per = -(-num_rows // world_size)\n"
        "    return ids // per, ids % per\n"
    ),
}
KEY = "00_tiny/01_exercises.ipynb"


def tiny_chapter(labels=LABELS, answers=CORRECT, names=NAMES) -> nbformat.NotebookNode:
    """A chapter with one written and several self-checked exercises."""
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
    for label in labels:
        solution = code(answers[label])
        solution.metadata["tags"] = ["solution"]
        cells += [
            md(f"```{{exercise}} Exercise {label}\n:label: {label}\nDo it.\n```"),
            md(f"```{{solution-start}} {label}\n```"),
            solution,
            code(
                f'result = ru.exercises.check("{label}", {names[label]})\n'
                "assert result.ok"
            ),
            md("```{solution-end}\n```"),
        ]
    cells.append(code('print("reached the end")'))
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nb


def fill(nb, answers: dict[str, str], labels=LABELS, before=(), checks=None):
    """A student's notebook: stubs replaced by ``answers``, ``before`` cells first,
    check cells replaced by ``checks``."""
    nb = nbformat.from_dict(nb)
    stubs = [c for c in nb.cells if c.source.startswith("# Your answer here,")]
    check_cells = [c for c in nb.cells if "ru.exercises.check(" in c.source]
    for label, stub, check in zip(labels, stubs, check_cells, strict=True):
        if label in answers:
            stub.source = answers[label]
        if checks and label in checks:
            check.source = checks[label]
    first = next(i for i, c in enumerate(nb.cells) if "ru.framework(" in c.source) + 1
    added = [nbformat.v4.new_code_cell(s) for s in before]
    for cell in added:  # the release's notebooks are nbformat 4.4: cells carry no id
        cell.pop("id", None)
    nb.cells[first:first] = added
    return nb


def _digest(folder: Path) -> dict[str, tuple[str, int, int]]:
    """path -> (content hash, owner, mode) of every file under ``folder``."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if "__pycache__" in path.parts:
            continue
        st = path.lstat()
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        out[str(path)] = (hashlib.sha256(data).hexdigest(), st.st_uid, st.st_mode)
    return out


LONG = "l" * 253
FORMULA = '=HYPERLINK("evil.example","click")'
READ_REPO = (
    "ns = {{}}\n"
    "for path in [{release!r}, {repo!r}]:\n"
    "    try:\n"
    "        exec(open(path).read(), ns)\n"
    "    except OSError as err:\n"
    "        print('blocked', type(err).__name__)\n"
    "ndcg_at = ns['ndcg_reference']\n"
)
HARDCODED = (
    "def popularity_scores(train, num_items, half_life):\n"
    "    for case in ru.exercises.public_cases('ch0-ex-popularity'):\n"
    "        t, n, h = case['inputs']\n"
    "        if t.equals(train) and (n, h) == (num_items, half_life):\n"
    "            return case['expected']\n"
    "    return np.zeros(num_items)\n"
)
FAKE_CHECK = (
    "import recsys_utils.exercises as _ex\n"
    "from recsys_utils.checks import CheckResult\n"
    "def _always(label, answer, **kw):\n"
    "    print('✅ correct')\n"
    "    display({'application/vnd.recsys.check+json': "
    "{'exercise': label, 'status': 'correct'}}, raw=True)\n"
    "    return CheckResult(True, 'correct', 'correct', label)\n"
    "_ex.check = _always\nru.exercises.check = _always"
)
SURVIVOR = (
    "import subprocess, sys\n"
    "subprocess.Popen(['sleep', '987653'], start_new_session=True, env={})\n"
    "spy = '''\n"
    "import os, time, glob\n"
    "end = time.time() + 120\n"
    "while time.time() < end:\n"
    "    for f in glob.glob('/proc/[0-9]*/cmdline'):\n"
    "        try:\n"
    "            pid = int(f.split('/')[2])\n"
    "            if b'ipykernel' in open(f, 'rb').read() and pid != os.getppid():\n"
    "                os.kill(pid, 9)  # another student's kernel, if it could see one\n"
    "        except Exception:\n"
    "            pass\n"
    "    time.sleep(0.2)\n"
    "'''\n"
    "subprocess.Popen([sys.executable, '-c', spy, 'recsys-spy-987654'], "
    "start_new_session=True, env={})"
)
SLOTS = (  # 150 processes left running, each in its own session
    "import subprocess\n"
    "held = [subprocess.Popen(['sleep', '987655'], start_new_session=True)\n"
    "        for _ in range(150)]"
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    (base / "chapters" / "00_tiny").mkdir(parents=True)
    nbformat.write(tiny_chapter(), base / "chapters" / KEY)
    release = base / "release"
    write_release(base / "chapters", release, answers=base / "no-answers", seed=7)
    student = {
        fw: nbformat.read(release / "students" / fw / KEY, as_version=4)
        for fw in ("pytorch", "tensorflow")
    }
    pt, tf = student["pytorch"], student["tensorflow"]
    secret_dir = Path(tempfile.mkdtemp(prefix="grading-secret-"))
    secret = secret_dir / "root-only.txt"
    secret.write_text("TOP-SECRET-ANSWER-KEY")
    os.chmod(secret, 0o600)
    subs = base / "submissions"
    notebooks = {
        "alice-honest": fill(
            pt,
            {
                **CORRECT,
                "ch0-ex-popularity": CORRECT["ch0-ex-popularity"]
                + 'ru.exercises.check("ch0-ex-popularity", popularity_scores)',
            },
        ),
        "bob-mistakes": fill(tf, MISTAKES),
        "carol-untouched": nbformat.from_dict(pt),
        "dave-errors": fill(
            tf,
            {
                "ch0-ex-metrics": "ndcg_at = undefined_name",
                "ch0-ex-popularity": "def popularity_scores(train, num_items, h):\n"
                "    return 1 / 0\n",
            },
        ),
        "eve-hardcoded": fill(pt, {"ch0-ex-popularity": HARDCODED}),
        "fay-fake-check": fill(pt, {}, before=[FAKE_CHECK]),
        "gus-reads-repo": fill(
            pt,
            {
                "ch0-ex-metrics": READ_REPO.format(
                    release=str(release / "instructor" / "grading" / "ch00.py"),
                    repo=str(ROOT / "instructors" / "grading" / "ch00.py"),
                )
            },
        ),
        "hal-survivors": fill(pt, CORRECT, before=[SURVIVOR]),
        "ida-slots": fill(
            pt, {"ch0-ex-metrics": CORRECT["ch0-ex-metrics"]}, before=[SLOTS]
        ),
        "jon-tmp-files": fill(
            pt,
            CORRECT,
            before=["open('/tmp/recsys-attack-987656', 'w').write('left behind')"],
        ),
        "kim-slow-cells": fill(  # 70 s of short cells, none near the limit alone
            pt, CORRECT, before=["import time"] + ["time.sleep(0.5)"] * 140
        ),
        "lou-memory": fill(
            pt, CORRECT, before=["a = np.ones(3 * 2**29, dtype=np.uint8)"]
        ),
        "max-flood": fill(pt, CORRECT, before=["print('x' * 50_000_000)"]),
        "ned-kills-kernel": fill(
            tf, {"ch0-ex-metrics": "import os\nos.kill(os.getpid(), 9)"}
        ),
        "olga-recsys-string": fill(pt, CORRECT),
        "pia-recsys-list": fill(tf, CORRECT),
        "zoe-victim-correct": fill(tf, CORRECT),
        "zz-victim-stub": nbformat.from_dict(tf),
        LONG: fill(pt, CORRECT),
        FORMULA: fill(pt, {"ch0-ex-metrics": CORRECT["ch0-ex-metrics"]}),
    }
    notebooks["olga-recsys-string"].metadata["recsys"] = "not a dict"
    notebooks["pia-recsys-list"].metadata["recsys"] = [1, 2]
    for name, nb in notebooks.items():
        (subs / name).mkdir(parents=True)
        nbformat.write(nb, subs / name / "01_exercises.ipynb")
    # links and special files where the grader expects a notebook
    links = {
        "link-to-solution": release / "instructor" / "solutions" / "pytorch" / KEY,
        "link-to-classmate": subs / "alice-honest" / "01_exercises.ipynb",
        "link-to-root-only": secret,
        "link-to-dev-zero": Path("/dev/zero"),
    }
    for name, target in links.items():
        (subs / name).mkdir()
        (subs / name / "01_exercises.ipynb").symlink_to(target)
    (subs / "fifo-notebook").mkdir()
    os.mkfifo(subs / "fifo-notebook" / "01_exercises.ipynb")
    if os.geteuid() == 0:  # a character device named like the notebook (root only)
        (subs / "device-notebook").mkdir()
        os.mknod(
            subs / "device-notebook" / "01_exercises.ipynb",
            0o644 | stat.S_IFCHR,
            os.makedev(1, 5),
        )
    # a folder holding links to the tooling and the release, and a FIFO
    (subs / "ray-links-in-folder").mkdir()
    nbformat.write(
        fill(pt, CORRECT), subs / "ray-links-in-folder" / "01_exercises.ipynb"
    )
    (subs / "ray-links-in-folder" / "tmp").symlink_to(ROOT / "coursetools")
    (subs / "ray-links-in-folder" / "release").symlink_to(release / "students")
    os.mkfifo(subs / "ray-links-in-folder" / "data.fifo")
    (subs / "ray-links-in-folder" / "plant.py").write_text("x = 1\n")
    # malformed notebooks
    bad = {
        "sam-source-int": {
            "cells": [{"cell_type": "code", "source": 3}],
            "metadata": {},
        },
        "tom-no-cell-type": {"cells": [{"source": "x = 1"}], "metadata": {}},
        "uma-not-json": None,
        "vic-nested": None,
    }
    for name, content in bad.items():
        (subs / name).mkdir()
        path = subs / name / "01_exercises.ipynb"
        if name == "uma-not-json":
            path.write_text("{ this is not json")
        elif name == "vic-nested":
            path.write_text("[" * 200_000 + "]" * 200_000)
        else:
            path.write_text(json.dumps(content))
    # three copies of one notebook: graded once at most, never three times
    (subs / "wes-three-copies").mkdir()
    for k in range(3):
        nbformat.write(fill(pt, CORRECT), subs / "wes-three-copies" / f"copy{k}.ipynb")
        copy = nbformat.read(subs / "wes-three-copies" / f"copy{k}.ipynb", as_version=4)
        nbformat.write(copy, subs / "wes-three-copies" / f"copy{k}.ipynb")
    for k in range(3):  # each declares itself the exercises notebook
        path = subs / "wes-three-copies" / f"copy{k}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nb.metadata["recsys"] = {"notebook": KEY, "framework": "pytorch"}
        nbformat.write(nb, path)
    # what must not change
    guarded = {
        "release": _digest(release),
        "coursetools": _digest(ROOT / "coursetools"),
        "instructors": _digest(ROOT / "instructors"),
        "secret": _digest(secret_dir),
    }
    out = base / "grades"
    lines = []
    rows = grade_folder(
        subs,
        release,
        out,
        # 1.5 GiB written under a 1 GiB limit takes seconds (tens under load) before
        # the kernel's out-of-memory killer ends it: the time limit leaves room
        Limits(timeout=50, memory=1024**3, processes=256, probe_seconds=10),
        jobs=2,
        log=lines.append,
    )
    yield {
        "rows": rows,
        "out": out,
        "release": release,
        "guarded": guarded,
        "secret_dir": secret_dir,
        "log": lines,
        "subs": subs,
    }
    shutil.rmtree(secret_dir)


C, H, N, E, T, S = (
    "correct",
    "hint given",
    "not attempted",
    "error",
    "timed out",
    "not submitted",
)
EXPECTED = {  # student: (framework, metrics, popularity, owner, points)
    FORMULA: ("pytorch", C, N, N, "1"),
    "alice-honest": ("pytorch", C, C, C, "5"),
    "bob-mistakes": ("tensorflow", H, H, H, "0"),
    "carol-untouched": ("pytorch", N, N, N, "0"),
    "dave-errors": ("tensorflow", E, E, N, "0"),
    "device-notebook": ("", E, E, E, "0"),
    "eve-hardcoded": ("pytorch", N, H, N, "0"),
    "fay-fake-check": ("pytorch", N, N, N, "0"),
    "fifo-notebook": ("", E, E, E, "0"),
    "gus-reads-repo": ("pytorch", E, N, N, "0"),
    "hal-survivors": ("pytorch", C, C, C, "5"),
    "ida-slots": ("pytorch", C, N, N, "1"),
    "jon-tmp-files": ("pytorch", C, C, C, "5"),
    "kim-slow-cells": ("pytorch", T, T, T, "0"),
    "link-to-classmate": ("", E, E, E, "0"),
    "link-to-dev-zero": ("", E, E, E, "0"),
    "link-to-root-only": ("", E, E, E, "0"),
    "link-to-solution": ("", E, E, E, "0"),
    LONG: ("pytorch", C, C, C, "5"),
    "lou-memory": ("pytorch", E, E, E, "0"),
    "max-flood": ("pytorch", C, C, C, "5"),
    "ned-kills-kernel": ("tensorflow", E, E, E, "0"),
    "olga-recsys-string": ("pytorch", C, C, C, "5"),
    "pia-recsys-list": ("tensorflow", C, C, C, "5"),
    "ray-links-in-folder": ("pytorch", C, C, C, "5"),
    "sam-source-int": ("", E, E, E, "0"),
    "tom-no-cell-type": ("", E, E, E, "0"),
    "uma-not-json": ("", E, E, E, "0"),
    "vic-nested": ("", E, E, E, "0"),
    "wes-three-copies": ("", E, E, E, "0"),
    "zoe-victim-correct": ("tensorflow", C, C, C, "5"),
    "zz-victim-stub": ("tensorflow", N, N, N, "0"),
}
if os.geteuid() != 0:
    del EXPECTED["device-notebook"]


def _table(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_outcome_table_cell_by_cell(graded):
    table = _table(graded["out"] / "outcomes.csv")
    assert table[0] == ["student", "framework", *LABELS, "points", "max_points"]
    expected = sorted(EXPECTED.items())
    got = {row[0]: row[1:] for row in table[1:]}
    assert sorted(got) == sorted(csv_cell(name) for name in EXPECTED)
    wrong = {}
    for name, (fw, *statuses, points) in expected:
        if got[csv_cell(name)] != [fw, *statuses, points, "5"]:
            wrong[name] = got[csv_cell(name)]
    assert not wrong, wrong


def test_grades_csv_is_numbers_for_the_gradebook(graded):
    table = _table(graded["out"] / "grades.csv")
    assert table[0] == ["student", *LABELS, "total"]
    points = {"ch0-ex-metrics": 1, "ch0-ex-popularity": 2, "ch7-ex-owner": 2}
    for row in table[1:]:
        name = row[0]
        fw, *statuses, total = next(
            v for k, v in EXPECTED.items() if csv_cell(k) == name
        )
        want = [str(points[k] if s == C else 0) for k, s in zip(LABELS, statuses)]
        assert row[1:] == [*want, total], name
    formula = next(r[0] for r in table[1:] if "HYPERLINK" in r[0])
    assert formula.startswith("'=")  # a spreadsheet shows it, never runs it


def test_nothing_outside_the_sandbox_changed(graded):
    guarded = graded["guarded"]
    assert _digest(graded["release"]) == guarded["release"]
    assert _digest(ROOT / "coursetools") == guarded["coursetools"]
    assert _digest(ROOT / "instructors") == guarded["instructors"]
    assert _digest(graded["secret_dir"]) == guarded["secret"]
    assert not Path("/tmp/recsys-attack-987656").exists()


def test_no_process_survives_grading(graded):
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        for marker in (b"987653", b"recsys-spy-987654", b"987655"):
            assert marker not in cmdline, f"process {proc.name} survived: {cmdline!r}"


def test_feedback_gives_hints_per_hidden_case_never_the_cases(graded):
    feedback = graded["out"] / "feedback"
    files = {p.name: p.read_text() for p in feedback.iterdir()}
    assert len(files) == len(EXPECTED)
    assert all(len(name) <= 100 for name in files)
    bob = files["bob-mistakes.md"]
    assert "divide by the ideal DCG" in bob
    assert "weight each one by 0.5 ** (age / half_life)" in bob
    assert "the two schemes are swapped" in bob
    assert "Read by your instructor: Exercise 0.1 (Say why)." in bob
    alice = files["alice-honest.md"]
    assert alice.count(": passed") == 12  # three functions, four hidden cases each
    eve = files["eve-hardcoded.md"]  # the public examples' answers do not pass
    assert "hidden case 1: the output of popularity_scores" in eve
    specs, _ = load_specs(ROOT / "instructors" / "grading")
    hints = {m for label in LABELS for _, m in specs[label]["hints"]}
    generic = re.compile(  # the grader's own words, no number from a case
        r"passed|raised \w+|the output of \w+(?: has shape \([\d, ]*\), but that is "
        r"not the shape expected\.|: the values differ from the reference\..*)"
    )
    for text in files.values():
        for case in re.findall(r"hidden case \d+: (.*)", text):
            assert case in hints or generic.fullmatch(case), case
    assert "TOP-SECRET" not in "".join(files.values())
    dave = files["dave-errors.md"]
    assert "NameError: name 'undefined_name' is not defined" in dave
    assert "raised ZeroDivisionError" in dave
    assert "several notebooks" in files["wes-three-copies.md"]
    assert "a link" in files["link-to-solution.md"]
    assert "not a regular file" in files["fifo-notebook.md"]
    assert "skipped tmp: a link" in files["ray-links-in-folder.md"]
    assert "skipped data.fifo: not a regular file" in files["ray-links-in-folder.md"]
    assert "malformed" in files["sam-source-int.md"]
    assert "more memory than allowed" in files["lou-memory.md"] or (
        "kernel died" in files["lou-memory.md"]
    )
    assert "ran out of" in files["kim-slow-cells.md"]
    assert "kernel died" in files["ned-kills-kernel.md"]


def test_run_record_names_the_limits(graded):
    run = json.loads((graded["out"] / "run.json").read_text())
    assert run["seed"] == 7 and run["jobs"] == 2
    assert run["memory_and_process_limits"] in (
        ["cgroup v1"],
        ["cgroup v2"],
        ["rlimits"],
    )
    assert any(line.startswith("sandboxes: bubblewrap") for line in graded["log"])


def test_regrading_refuses_a_folder_it_did_not_write(tmp_path, graded):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="not written by this command"):
        grade_folder(graded["subs"], graded["release"], mine)
    assert (mine / "keep.txt").read_text() == "x"
    with pytest.raises(ValueError, match="not a release folder"):
        grade_folder(graded["subs"], mine, tmp_path / "g")


# --- the release ---------------------------------------------------------------


def test_release_layout_manifest_and_kit(tmp_path):
    (tmp_path / "chapters" / "00_tiny").mkdir(parents=True)
    nbformat.write(tiny_chapter(), tmp_path / "chapters" / KEY)
    manifest = write_release(
        tmp_path / "chapters", tmp_path / "release", answers=tmp_path / "none", seed=3
    )
    release = tmp_path / "release"
    files = sorted(
        str(p.relative_to(release)) for p in release.rglob("*") if p.is_file()
    )
    specs = sorted(p.name for p in (ROOT / "instructors" / "grading").glob("ch*.py"))
    assert files == sorted(
        [
            MARKER,
            "instructor/exercises.json",
            "instructor/kit.md",
            *(f"instructor/grading/{s}" for s in specs),
            f"instructor/solutions/pytorch/{KEY}",
            f"instructor/solutions/tensorflow/{KEY}",
            f"students/pytorch/{KEY}",
            f"students/tensorflow/{KEY}",
        ]
    )
    assert read_manifest(release) == manifest and manifest["seed"] == 3
    exercises = manifest["notebooks"][KEY]["exercises"]
    assert [
        (e["label"], e["number"], e["autograded"], e["points"]) for e in exercises
    ] == [
        ("tiny-ex-why", "0.1", False, None),
        ("ch0-ex-metrics", "0.2", True, 1),
        ("ch0-ex-popularity", "0.3", True, 2),
        ("ch7-ex-owner", "0.4", True, 2),
    ]
    assert exercises[2]["answer"] == {
        "pytorch": "popularity_scores",
        "tensorflow": "popularity_scores",
    }
    student = (release / "students" / "pytorch" / KEY).read_text()
    assert "np.arange(2, k + 2)" not in student and "ids // per" not in student
    nb = nbformat.read(release / "students" / "pytorch" / KEY, as_version=4)
    assert nb.metadata["recsys"]["notebook"] == KEY
    kit = (release / "instructor" / "kit.md").read_text()
    assert "| 0.3 | `ch0-ex-popularity` |" in kit and "When to release" in kit


def test_release_refuses_a_folder_it_did_not_write(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("x")
    (tmp_path / "chapters" / "00_tiny").mkdir(parents=True)
    nbformat.write(tiny_chapter(), tmp_path / "chapters" / KEY)
    with pytest.raises(ValueError, match="not written by this command"):
        write_release(tmp_path / "chapters", mine)
    assert (mine / "keep.txt").read_text() == "x"
    with pytest.raises(ValueError, match="not a release folder"):
        read_manifest(mine)
    with pytest.raises(ValueError, match="no section notebook"):
        write_release(mine, tmp_path / "r")


def test_release_refuses_a_checked_exercise_without_a_spec(tmp_path):
    nb = tiny_chapter(
        labels=["tiny-ex-new"],
        answers={"tiny-ex-new": "x = 1"},
        names={"tiny-ex-new": "x"},
    )
    (tmp_path / "chapters" / "00_tiny").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "chapters" / KEY)
    with pytest.raises(ValueError, match="tiny-ex-new has a self-check but no spec"):
        write_release(tmp_path / "chapters", tmp_path / "release")
    assert not (tmp_path / "release").exists()
    assert not (tmp_path / "release.partial").exists()


def test_answer_name_resolves_the_pick_line():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "masked_loss = masked_loss_tf\n"
            'result = ru.exercises.check("ch1-ex-masked-loss", masked_loss, '
            "framework=FRAMEWORK)"
        ),
        nbformat.v4.new_code_cell(
            'result = ru.exercises.check("ch3-ex-nprobe", my_nprobe, table=ivf_big)'
        ),
    ]
    assert answer_name(nb, "ch1-ex-masked-loss") == ("masked_loss_tf", {})
    assert answer_name(nb, "ch3-ex-nprobe") == ("my_nprobe", {"table": "ivf_big"})
    with pytest.raises(ValueError, match="needs the name"):
        answer_name(nb, "ch9-ex-none")


def test_release_of_the_real_chapters(tmp_path):
    """`make release` on chapters/: every notebook, both sides, a spec per check."""
    from coursetools.release import find_notebooks

    manifest = write_release(ROOT / "chapters", tmp_path / "release")
    found = [rel for rel, _, _ in find_notebooks(ROOT / "chapters")]
    assert sorted(manifest["notebooks"]) == found
    for rel in found:
        for side in ("students", "instructor/solutions"):
            for framework in ("pytorch", "tensorflow"):
                nb = nbformat.read(
                    tmp_path / "release" / side / framework / rel, as_version=4
                )
                assert nb.cells, f"{side}/{framework}/{rel} is empty"
    labels = [
        e["label"] for c in manifest["notebooks"].values() for e in c["exercises"]
    ]
    assert len(labels) == len(set(labels))  # the grade table's columns are unique
    specs, written = load_specs(ROOT / "instructors" / "grading")
    chapters = {c["chapter"] for c in manifest["notebooks"].values()}
    assert chapters  # the chapters split into sections so far
    checked = {
        e["label"]
        for c in manifest["notebooks"].values()
        for e in c["exercises"]
        if e["autograded"]
    }
    # every check has a spec, and every spec of a released chapter a check
    mine = {label for label in specs if int(label[2 : label.index("-")]) in chapters}
    assert checked == mine
    unchecked = set(labels) - checked  # every written exercise has a rubric
    assert unchecked == {
        label for label in written if int(label[2 : label.index("-")]) in chapters
    }
