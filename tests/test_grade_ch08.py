"""Chapter 8's exercises through the grader: a release of a one-section chapter with
ch8-ex-metrics and ch8-ex-threshold, students' notebooks graded in sandboxes, the
hidden cases computed in the grader's process (coursetools/grade.py).

An honest student gets every point; one who memorised the public examples of
``scores_by_kind`` passes the self-check and fails the hidden cases; typical mistakes
get their hints; an untouched notebook gets nothing.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import nbformat
import pytest

from coursetools.grade import Limits, grade_folder
from coursetools.release import write_release

pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (make sandbox-deps)"
    ),
    pytest.mark.xdist_group("grading"),
]
LABELS = ["ch8-ex-metrics", "ch8-ex-threshold"]
NAMES = {"ch8-ex-metrics": "scores_by_kind", "ch8-ex-threshold": "threshold_table"}
KEY = "08_tiny/01_exercises.ipynb"
SCORES = (
    "from recsys_utils import explain\n"
    "KINDS = ('category', 'colour', 'style', 'pattern', 'material', 'price_band',\n"
    "         'complement')\n"
    "def scores_by_kind(claimed, truth, facts):\n"
    "    kind_of = np.array([n.split('=')[0] for n in explain.REASON_NAMES])\n"
    "    rows = []\n"
    "    for kind in KINDS:\n"
    "        c, t, f = (np.asarray(x, dtype=bool)[:, kind_of == kind]\n"
    "                   for x in (claimed, truth, facts))\n"
    "        n, hit = c.sum(), (c & t).sum()\n"
    "        rows.append([hit / n if n else np.nan,\n"
    "                     hit / t.sum() if t.sum() else np.nan,\n"
    "                     (c & ~f).sum() / n if n else np.nan])\n"
    "    return np.array(rows)\n"
)
TABLE = (
    "from recsys_utils import explain\n"
    "from recsys_utils.book.ch08 import reason_pairs, split_pairs, template_reasons\n"
    "from recsys_utils.marketplace import make_marketplace\n"
    "mk = make_marketplace(seed=0, size='classroom', sequential=True)\n"
    "test = split_pairs(reason_pairs(mk), mk.num_users, 0)['test']\n"
    "rows = []\n"
    "for share in (0.3, 0.5, 0.7):\n"
    "    texts = template_reasons(mk, test['items'], test['history'], "
    "min_share=share)\n"
    "    m = explain.evaluate_reasons(texts, test['truth'], test['facts'])\n"
    "    rows.append([m['{first}'], m['{second}']])\n"
    "threshold_table = np.array(rows)\n"
)
CORRECT = {
    "ch8-ex-metrics": SCORES,
    "ch8-ex-threshold": TABLE.format(first="faithfulness", second="coverage"),
}
MISTAKES = {
    "ch8-ex-metrics": SCORES.replace(  # the kinds sorted by name
        "    for kind in KINDS:", "    for kind in sorted(KINDS):"
    ),
    "ch8-ex-threshold": TABLE.format(first="coverage", second="faithfulness"),
}
MEMORISED = (  # the public examples' answers, nothing else
    "_PUBLIC = {np.asarray(c['inputs'][0]).tobytes(): c['expected']\n"
    "           for c in ru.exercises.public_cases('ch8-ex-metrics')}\n"
    "def scores_by_kind(claimed, truth, facts):\n"
    "    return _PUBLIC.get(np.asarray(claimed).tobytes(), np.zeros((7, 3)))\n"
)


def _chapter() -> nbformat.NotebookNode:
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md("# A one-section chapter 8"),
        code(
            "import numpy as np\nimport recsys_utils as ru\n\n"
            "FRAMEWORK = ru.framework()"
        ),
    ]
    for label in LABELS:
        solution = code(CORRECT[label])
        solution.metadata["tags"] = ["solution"]
        cells += [
            md(f"```{{exercise}} Exercise {label}\n:label: {label}\nDo it.\n```"),
            md(f"```{{solution-start}} {label}\n```"),
            solution,
            code(
                f'result = ru.exercises.check("{label}", {NAMES[label]})\n'
                "assert result.ok"
            ),
            md("```{solution-end}\n```"),
        ]
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nb


def _fill(nb, answers: dict[str, str]):
    nb = nbformat.from_dict(nb)
    stubs = [c for c in nb.cells if c.source.startswith("# Your answer here,")]
    for label, stub in zip(LABELS, stubs, strict=True):
        if label in answers:
            stub.source = answers[label]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading_ch08")
    (base / "chapters" / "08_tiny").mkdir(parents=True)
    nbformat.write(_chapter(), base / "chapters" / KEY)
    release = base / "release"
    write_release(base / "chapters", release, answers=base / "no-answers", seed=3)
    student = {
        fw: nbformat.read(release / "students" / fw / KEY, as_version=4)
        for fw in ("pytorch", "tensorflow")
    }
    notebooks = {
        "alice-honest": _fill(student["pytorch"], CORRECT),
        "bob-mistakes": _fill(student["tensorflow"], MISTAKES),
        "carol-untouched": nbformat.from_dict(student["pytorch"]),
        "eve-memorised": _fill(student["pytorch"], {"ch8-ex-metrics": MEMORISED}),
    }
    subs = base / "submissions"
    for name, nb in notebooks.items():
        (subs / name).mkdir(parents=True)
        nbformat.write(nb, subs / name / "01_exercises.ipynb")
    out = base / "grades"
    rows = grade_folder(
        subs,
        release,
        out,
        Limits(timeout=120, memory=2 * 1024**3, processes=256, probe_seconds=10),
        jobs=2,
    )
    yield {"rows": rows, "out": out}


def _table(path: Path) -> dict[str, list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    assert table[0][: 2 + len(LABELS)] == ["student", "framework", *LABELS]
    return {row[0]: row[1:] for row in table[1:]}


def test_outcomes_per_student(graded):
    got = _table(graded["out"] / "outcomes.csv")
    print(got)
    C, H, N = "correct", "hint given", "not attempted"
    assert got["alice-honest"][:4] == ["pytorch", C, C, "4"]
    assert got["bob-mistakes"][:4] == ["tensorflow", H, H, "0"]
    assert got["carol-untouched"][:4] == ["pytorch", N, N, "0"]
    eve = got["eve-memorised"]
    assert eve[:4] == ["pytorch", H, N, "0"]  # passed its self-check, not the grader


def test_feedback_names_the_mistakes_and_the_hidden_cases(graded):
    feedback = {p.name: p.read_text() for p in (graded["out"] / "feedback").iterdir()}
    bob = feedback["bob-mistakes.md"]
    assert "not the kinds sorted by name" in bob
    assert "you swapped the columns" in bob
    eve = feedback["eve-memorised.md"]
    assert "hidden case" in eve and "scores_by_kind" in eve
