"""Grading answers written in a framework, and one real chapter end to end.

The hidden inputs of a framework exercise reach the student's function as that
framework's tensors (the same conversion as the self-check), whether the check cell
names the framework or picks the answer with the chapter's pick line. Then the real
chapter 0, released from chapters/, is graded: its PyTorch solution edition as one
student's submission (every exercise correct), its TensorFlow student notebook as
another's (every exercise not attempted).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import nbformat
import pytest

from coursetools.grade import Limits, grade_folder
from coursetools.notebooks import SWITCH_LINE
from coursetools.release import write_release

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (make sandbox-deps)"
    ),
    pytest.mark.xdist_group("grading"),
]
KEY = "02_tiny/01_exercises.ipynb"
COSINE = {
    "pytorch": (
        "def cosine_topk_pt(P, Q, k, eps):\n"
        "    p = P / torch.clamp(P.norm(dim=1, keepdim=True), min=eps)\n"
        "    q = Q / torch.clamp(Q.norm(dim=1, keepdim=True), min=eps)\n"
        "    s = torch.sort(p @ q.T, dim=1, descending=True, stable=True)\n"
        "    return s.indices[:, :k]\n"
    ),
    "tensorflow": (
        "def cosine_topk_tf(P, Q, k, eps):\n"
        "    p = P / tf.maximum(tf.norm(P, axis=1, keepdims=True), eps)\n"
        "    q = Q / tf.maximum(tf.norm(Q, axis=1, keepdims=True), eps)\n"
        "    return tf.math.top_k(tf.matmul(p, q, transpose_b=True), k).indices\n"
    ),
}
MASKED = {
    "pytorch": (
        "def masked_loss_pt(P, Q, R, M, reg):\n"
        "    err = M * (R - P @ Q.T)\n"
        "    return 0.5 * (err**2).sum() + reg * ((P**2).sum() + (Q**2).sum())\n"
    ),
    "tensorflow": (
        "def masked_loss_tf(P, Q, R, M, reg):\n"
        "    err = M * (R - tf.matmul(P, Q, transpose_b=True))\n"
        "    return 0.5 * tf.reduce_sum(err**2) + reg * (\n"
        "        tf.reduce_sum(P**2) + tf.reduce_sum(Q**2)\n"
        "    )\n"
    ),
}
MISTAKE = {  # the dot product; the loss without the mask
    "ch2-ex-cosine": (
        "def cosine_topk_pt(P, Q, k, eps):\n"
        "    s = torch.sort(P @ Q.T, dim=1, descending=True, stable=True)\n"
        "    return s.indices[:, :k]\n"
    ),
    "ch1-ex-masked-loss": (
        "def masked_loss_pt(P, Q, R, M, reg):\n"
        "    return 0.5 * ((R - P @ Q.T) ** 2).sum() + reg * ("
        "(P**2).sum() + (Q**2).sum())\n"
    ),
}


def _tagged(source: str, *tags: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    return cell


def _chapter() -> nbformat.NotebookNode:
    md = nbformat.v4.new_markdown_cell
    cells = [
        md("# A tiny chapter in two frameworks"),
        nbformat.v4.new_code_cell(
            f"import numpy as np\nimport recsys_utils as ru\n\n{SWITCH_LINE}"
        ),
        _tagged("import torch", "pytorch"),
        _tagged("import tensorflow as tf", "tensorflow"),
        md("```{exercise} Cosine\n:label: ch2-ex-cosine\nWrite it.\n```"),
        md("```{solution-start} ch2-ex-cosine\n```"),
        _tagged(COSINE["pytorch"], "pytorch", "solution"),
        _tagged(COSINE["tensorflow"], "tensorflow", "solution"),
        _tagged(
            'result_pt = ru.exercises.check("ch2-ex-cosine", cosine_topk_pt, '
            'framework="pytorch")\nassert result_pt.ok',
            "pytorch",
        ),
        _tagged(
            'result_tf = ru.exercises.check("ch2-ex-cosine", cosine_topk_tf, '
            'framework="tensorflow")\nassert result_tf.ok',
            "tensorflow",
        ),
        md("```{solution-end}\n```"),
        md("```{exercise} Masked loss\n:label: ch1-ex-masked-loss\nWrite it.\n```"),
        md("```{solution-start} ch1-ex-masked-loss\n```"),
        _tagged(MASKED["pytorch"], "pytorch", "solution"),
        _tagged(MASKED["tensorflow"], "tensorflow", "solution"),
        nbformat.v4.new_code_cell(
            'masked_loss = masked_loss_pt if FRAMEWORK == "pytorch" else '
            "masked_loss_tf\n"
            'result = ru.exercises.check("ch1-ex-masked-loss", masked_loss, '
            "framework=FRAMEWORK)\nassert result.ok"
        ),
        md("```{solution-end}\n```"),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    return nb


def _answer(nb, answers: list[str]):
    nb = nbformat.from_dict(nb)
    stubs = [c for c in nb.cells if c.source.startswith("# Your answer here,")]
    for stub, answer in zip(stubs, answers, strict=True):
        stub.source = answer
    return nb


def _outcomes(path: Path) -> dict[str, list[str]]:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return {row[0]: row[1:] for row in rows}


def test_framework_answers_get_the_framework_tensors(tmp_path):
    (tmp_path / "chapters" / "02_tiny").mkdir(parents=True)
    nbformat.write(_chapter(), tmp_path / "chapters" / KEY)
    release = tmp_path / "release"
    write_release(tmp_path / "chapters", release, answers=tmp_path / "none", seed=5)
    handed = {
        fw: nbformat.read(release / "students" / fw / KEY, as_version=4)
        for fw in ("pytorch", "tensorflow")
    }
    submissions = {
        "pt-correct": _answer(
            handed["pytorch"], [COSINE["pytorch"], MASKED["pytorch"]]
        ),
        "pt-mistakes": _answer(
            handed["pytorch"], [MISTAKE["ch2-ex-cosine"], MISTAKE["ch1-ex-masked-loss"]]
        ),
        "tf-correct": _answer(
            handed["tensorflow"], [COSINE["tensorflow"], MASKED["tensorflow"]]
        ),
        "tf-stub": nbformat.from_dict(handed["tensorflow"]),
    }
    for name, nb in submissions.items():
        path = tmp_path / "submissions" / name / "01_exercises.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    grade_folder(
        tmp_path / "submissions",
        release,
        tmp_path / "grades",
        Limits(timeout=180, memory=4 * 1024**3),
        jobs=2,
        log=lambda _: None,
    )
    table = _outcomes(tmp_path / "grades" / "outcomes.csv")
    assert table["student"] == [
        "framework",
        "ch2-ex-cosine",
        "ch1-ex-masked-loss",
        "points",
        "max_points",
    ]
    assert table["pt-correct"] == ["pytorch", "correct", "correct", "4", "4"]
    assert table["pt-mistakes"] == ["pytorch", "hint given", "hint given", "0", "4"]
    assert table["tf-correct"] == ["tensorflow", "correct", "correct", "4", "4"]
    assert table["tf-stub"] == [
        "tensorflow",
        "not attempted",
        "not attempted",
        "0",
        "4",
    ]
    mistakes = (tmp_path / "grades" / "feedback" / "pt-mistakes.md").read_text()
    assert "that ranks by the dot product" in mistakes
    assert "multiply the errors by the mask M" in mistakes


def test_a_real_chapter_end_to_end(tmp_path):
    release = tmp_path / "release"
    manifest = write_release(ROOT / "chapters", release, seed=1)
    key = next(
        k
        for k, v in manifest["notebooks"].items()
        if v["chapter"] == 0 and any(e["autograded"] for e in v["exercises"])
    )
    labels = [
        e["label"] for e in manifest["notebooks"][key]["exercises"] if e["autograded"]
    ]
    submissions = {
        "solution-pytorch": release / "instructor" / "solutions" / "pytorch" / key,
        "student-tensorflow": release / "students" / "tensorflow" / key,
    }
    for name, source in submissions.items():
        path = tmp_path / "submissions" / name / key
        path.parent.mkdir(parents=True)
        shutil.copyfile(source, path)
    grade_folder(
        tmp_path / "submissions",
        release,
        tmp_path / "grades",
        Limits(timeout=300, memory=4 * 1024**3),
        jobs=2,
        log=lambda _: None,
    )
    table = _outcomes(tmp_path / "grades" / "outcomes.csv")
    assert table["student"][1:-2] == labels
    assert table["solution-pytorch"][:-2] == ["pytorch", *["correct"] * len(labels)]
    assert table["student-tensorflow"][:-2] == [
        "tensorflow",
        *["not attempted"] * len(labels),
    ]
