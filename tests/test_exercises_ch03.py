"""Chapter 3's exercise checks: each reference passes, each typical mistake gets its
hint, a stub is "not attempted", and the chapter's own solutions (NumPy, PyTorch and
TensorFlow) pass their checks."""

from __future__ import annotations

import math

import nbformat
import numpy as np
import pandas as pd
import pytest
from exercise_cases import instructor, solution_source
from notebook_runner import ROOT

import recsys_utils as ru
from recsys_utils.checks import CORRECT, HINT, NOT_ATTEMPTED
from recsys_utils.retrieval import exact_topk, nearest_history_item

ch03 = instructor("ch03")


# the chapter's exercises section
CHAPTER = ROOT / "chapters" / "03_two_tower" / "06_exercises.ipynb"


def _stub(*args):
    raise NotImplementedError("your code here")


def _status(label, answer, capsys, **context):
    result = ru.exercises.check(label, answer, **context)
    return result.status, capsys.readouterr().out


def _solution_source(label, framework=None):
    return solution_source(CHAPTER, label, framework)


# --- every typical mistake gets its own hint -----------------------------------------


@pytest.mark.parametrize(
    "label, wrong, words",
    [
        ("ch3-ex-loss", ch03._loss_margin_everywhere, "positive's logit only"),
        ("ch3-ex-loss", ch03._loss_margin_added, "LOWER the positive's logit"),
        ("ch3-ex-loss", ch03._loss_added_log_q, "SUBTRACTS log q_j"),
        ("ch3-ex-loss", ch03._loss_log_q_on_rows, "belongs to the columns"),
        ("ch3-ex-loss", ch03._loss_without_temperature, "temperature"),
        ("ch3-ex-loss", ch03._loss_summed, "MEAN cross-entropy"),
        ("ch3-ex-mixed", ch03._mixed_uncorrected_negatives, "their own correction"),
        ("ch3-ex-mixed", ch03._mixed_only_uniform, "keep the in-batch negatives"),
        ("ch3-ex-mixed", ch03._mixed_no_batch_correction, "batch's columns"),
        ("ch3-ex-topk", ch03._unsorted_topk, "unordered"),
        ("ch3-ex-topk", ch03._ascending_topk, "increasing order"),
        ("ch3-ex-topk", ch03._topk_exclusions_kept, "exclude[q]"),
        ("ch3-ex-reason", ch03._by_dot, "long vectors"),
        ("ch3-ex-reason", ch03._reason_weights_ignored, "recency weight"),
    ],
)
def test_hints(label, wrong, words, capsys):
    status, out = _status(label, wrong, capsys)
    assert status == HINT and words in out


# --- ch3-ex-loss ---------------------------------------------------------------------


def test_loss_reference_by_hand():
    # B = 2, d = 1, temperature 1, q uniform (log q = log 1/2 on both columns, which
    # cancels), margin 0.5: logits [[1 - 0.5, 2], [0, 0 - 0.5]] -> mean of -log
    # softmax on the diagonal
    u, v = np.array([[1.0], [0.0]]), np.array([[1.0], [2.0]])
    m = 0.5
    row0 = math.log(math.exp(1 - m) + math.e**2) - (1 - m)
    row1 = math.log(1 + math.exp(-m)) + m
    got = ch03.in_batch_loss_reference(u, v, np.log([0.5, 0.5]), 1.0, m)
    assert got == pytest.approx((row0 + row1) / 2)


def test_loss_margin_raises_the_loss():
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    lq = np.log(rng.dirichlet(np.ones(5)))
    losses = [ch03.in_batch_loss_reference(u, v, lq, 0.5, m) for m in (0, 0.5, 1)]
    assert losses[0] < losses[1] < losses[2]
    # the margin on every logit of a row changes nothing: the mistake's hint is needed
    assert ch03._loss_margin_everywhere(u, v, lq, 0.5, 1.0) == pytest.approx(losses[0])


def test_loss_outcomes(capsys):
    assert _status("ch3-ex-loss", ch03.in_batch_loss_reference, capsys)[0] == CORRECT
    assert _status("ch3-ex-loss", _stub, capsys)[0] == NOT_ATTEMPTED
    assert _status("ch3-ex-loss", ..., capsys)[0] == NOT_ATTEMPTED


def test_chapter_loss_solution_passes(capsys):
    scope = {"np": np}
    exec(_solution_source("ch3-ex-loss"), scope)
    assert _status("ch3-ex-loss", scope["my_in_batch_loss"], capsys)[0] == CORRECT


# --- ch3-ex-mixed --------------------------------------------------------------------


def test_mixed_reference_by_hand():
    # B = 1, M = 1: logits [s_pos - lq_b, s_neg - lq_n]; loss = log(1 + e^(l1 - l0))
    u, v, n = np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]), np.array([[0.0, 1.0]])
    l0 = 0.5 / 0.5 - math.log(0.2)
    l1 = 0.0 / 0.5 - math.log(0.1)
    expected = math.log(1 + math.exp(l1 - l0))
    got = ch03.mixed_negatives_reference(
        u, v, n, np.log([0.2]), np.log([0.1]), temperature=0.5
    )
    assert got == pytest.approx(expected)


def test_mixed_reference_without_negatives_is_the_in_batch_loss():
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    lq = np.log(rng.dirichlet(np.ones(4)))
    # a uniform negative with an enormous log q contributes nothing
    n = rng.normal(size=(1, 3))
    got = ch03.mixed_negatives_reference(u, v, n, lq, np.array([1e6]), 0.5)
    assert got == pytest.approx(ch03.in_batch_loss_reference(u, v, lq, 0.5, 0.0))


def test_mixed_outcomes(capsys):
    assert _status("ch3-ex-mixed", ch03.mixed_negatives_reference, capsys)[0] == CORRECT
    assert _status("ch3-ex-mixed", _stub, capsys)[0] == NOT_ATTEMPTED


def test_chapter_mixed_solution_pytorch_passes(capsys):
    torch = pytest.importorskip("torch")
    from torch.nn import functional

    from recsys_utils import torch as rt

    scope = {"torch": torch, "F": functional, "rt": rt, "np": np}
    exec(_solution_source("ch3-ex-mixed", "pytorch"), scope)
    answer = scope["mixed_negatives_loss_pt"]
    assert _status("ch3-ex-mixed", answer, capsys)[0] == CORRECT


def test_chapter_mixed_solution_tensorflow_passes(capsys):
    from recsys_utils import tf as rtf

    scope = {"tf": rtf.tf, "rtf": rtf, "np": np}
    exec(_solution_source("ch3-ex-mixed", "tensorflow"), scope)
    answer = scope["mixed_negatives_loss_tf"]
    assert _status("ch3-ex-mixed", answer, capsys)[0] == CORRECT


# --- ch3-ex-topk ---------------------------------------------------------------------


def test_topk_reference_by_hand():
    q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    v = np.array([[0.1, 0], [0.9, 0.2], [0.5, -0.1], [-1, 0.3]], dtype=np.float32)
    exclude = [np.array([1]), np.array([], dtype=np.int64)]
    got = ch03.topk_reference(q, v, 3, exclude)
    np.testing.assert_array_equal(got, [[2, 0, 3], [3, 1, 0]])
    # without the exclusions the first list is the package's exact top-k
    np.testing.assert_array_equal(exact_topk(q, v, 3)[0][0], [1, 2, 0])


def test_topk_inputs_exclude_a_top_item():
    # every non-empty exclusion list holds its query's best item, so keeping the
    # exclusions changes the answer
    q, v, k, exclude = ch03._topk_hidden(np.random.default_rng(3))
    best = np.argmax(q @ v.T, axis=1)
    assert len(exclude[0]) == 0
    assert all(best[i] in exclude[i] for i in range(1, len(q)))


def test_topk_outcomes_and_chapter_solution(capsys):
    assert _status("ch3-ex-topk", _stub, capsys)[0] == NOT_ATTEMPTED
    scope = {"np": np}
    exec(_solution_source("ch3-ex-topk"), scope)
    assert _status("ch3-ex-topk", scope["my_exact_topk"], capsys)[0] == CORRECT


# --- ch3-ex-reason -------------------------------------------------------------------


def test_reason_reference_by_hand():
    # item 2 points like item 0 (cosine 1) but item 1 is longer: the dot product would
    # pick item 1, the cosine picks item 0
    vecs = np.array([[1.0, 0.0], [10.0, 10.0], [2.0, 0.0]])
    nearest, sim = nearest_history_item([2], [0, 1], vecs)
    assert nearest.tolist() == [0] and sim[0] == pytest.approx(1.0)
    history, even = np.array([0, 1]), np.array([1.0, 1.0])
    assert ch03.reason_reference(np.array([2]), history, vecs, even).tolist() == [0]
    assert ch03._by_dot(np.array([2]), history, vecs, even).tolist() == [1]
    # item 0 bought long ago (weight 0.5), item 1 recently (1.0): 0.5 * 1 < 1 * 0.707
    recent = np.array([0.5, 1.0])
    assert ch03.reason_reference(np.array([2]), history, vecs, recent).tolist() == [1]
    # ... but 0.8 * 1 > 0.707
    older = np.array([0.8, 1.0])
    assert ch03.reason_reference(np.array([2]), history, vecs, older).tolist() == [0]


def test_reason_outcomes(capsys):
    assert _status("ch3-ex-reason", _stub, capsys)[0] == NOT_ATTEMPTED
    scope = {"np": np}
    exec(_solution_source("ch3-ex-reason"), scope)
    assert _status("ch3-ex-reason", scope["my_nearest_history"], capsys)[0] == CORRECT


# --- ch3-ex-nprobe -------------------------------------------------------------------


def test_smallest_setting_reference_by_hand():
    # rows not sorted by setting, the recall not monotone, 0.9 reached exactly at 8
    table = pd.DataFrame(
        {"recall": [0.95, 0.5, 0.9, 0.88, 0.7]},
        index=pd.Index([128, 1, 8, 16, 2], name="value"),
    )
    assert ch03.smallest_setting_reference(table, "recall", 0.9) == 8
    assert ch03._largest_setting(table, "recall", 0.9) == 128
    assert ch03._first_row_setting(table, "recall", 0.9) == 128
    assert ch03._strictly_above_setting(table, "recall", 0.9) == 128
    assert ch03.smallest_setting_reference(table, "recall", 0.5) == 1
    assert ch03.smallest_setting_reference(table, "recall", 0.96) == -1


def test_setting_tables_cover_the_cases():
    # over the hidden draws: shuffled rows, non-monotone columns, unreachable targets
    # and targets met with equality all occur
    seen = set()
    for t in range(40):
        table, column, target = ch03._setting_table(np.random.default_rng([7, t]))
        values = table.sort_index()[column].to_numpy()
        seen.add("shuffled" if not table.index.is_monotonic_increasing else "sorted")
        seen.add("monotone" if np.all(np.diff(values) >= 0) else "not monotone")
        seen.add("equal" if target in values else "unreachable")
        if target not in values:
            assert (values < target).all()
    assert seen == {
        "shuffled",
        "sorted",
        "monotone",
        "not monotone",
        "equal",
        "unreachable",
    }


@pytest.mark.parametrize(
    "wrong, words",
    [
        (ch03._largest_setting, "LARGEST"),
        (ch03._first_row_setting, "need not be sorted"),
        (ch03._strictly_above_setting, ">="),
    ],
)
def test_nprobe_hints(wrong, words, capsys):
    status, out = _status("ch3-ex-nprobe", wrong, capsys)
    assert status == HINT and words in out


def test_nprobe_outcomes_and_chapter_solution(capsys):
    assert _status("ch3-ex-nprobe", _stub, capsys)[0] == NOT_ATTEMPTED
    assert _status("ch3-ex-nprobe", ..., capsys)[0] == NOT_ATTEMPTED
    ivf_big = pd.DataFrame(
        {"recall": [0.5, 0.7, 0.88, 0.95, 0.99, 1.0]},
        index=pd.Index([1, 2, 4, 8, 16, 128], name="value"),
    )
    scope = {"np": np, "ivf_big": ivf_big}
    exec(_solution_source("ch3-ex-nprobe"), scope)
    assert _status("ch3-ex-nprobe", scope["smallest_setting"], capsys)[0] == CORRECT
    assert scope["my_nprobe"] == 8


def test_every_exercise_of_the_chapter_is_registered():
    nb = nbformat.read(CHAPTER, as_version=4)
    checked = {
        line.split('"')[1]
        for cell in nb.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if "ru.exercises.check(" in line
    }
    assert checked == {
        "ch3-ex-loss",
        "ch3-ex-mixed",
        "ch3-ex-topk",
        "ch3-ex-reason",
        "ch3-ex-nprobe",
    }
    assert checked <= set(ru.exercises.labels())
