"""Chapter 4's exercise checks: the reference answers pass, each typical mistake gets
its own hint, and a stub reports "not attempted"."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import recsys_utils as ru
from recsys_utils.checks import CORRECT, HINT, NOT_ATTEMPTED


def _instructor(name: str):
    """A module of instructors/grading (the references stay with the instructor)."""
    path = Path(__file__).parents[1] / "instructors" / "grading" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"instructor_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ch04 = _instructor("ch04")


def _stub(*args):
    raise NotImplementedError("your code here")


def _status(label, answer, capsys, **context):
    result = ru.exercises.check(label, answer, **context)
    assert result.exercise == label
    return result.status, capsys.readouterr().out


def test_labels_registered():
    assert {
        "ch4-ex-calibration",
        "ch4-ex-masked-softmax",
        "ch4-ex-masked-mean",
        "ch4-ex-true-tail-recall",
        "ch4-ex-ipw",
    } <= set(ru.exercises.labels())


# -- xQuAD calibrates: worked by hand in the chapter's solution --


def test_xquad_picks_by_hand():
    # p = 0.3: head (0.7 > 0.3), tail (0.3 > 0), head (0.15 < 0.35),
    # head (0.2 < 0.233), tail (0.225 > 0.175)
    np.testing.assert_array_equal(ch04.xquad_reference(0.3, 5), [0, 1, 0, 0, 1])


def test_xquad_picks_agree_with_the_package_reranker():
    # an independent check: recsys_utils.longtail.xquad_rerank with lam = 1
    from recsys_utils import longtail as lt

    tail = np.r_[np.zeros(20, bool), np.ones(20, bool)]
    scores = np.linspace(1.0, 0.0, 40)[None, :]
    for p in (0.3, 0.5, 0.8):
        top = lt.xquad_rerank(scores, tail, np.array([p]), lam=1.0, k=8)
        np.testing.assert_array_equal(tail[top[0]], ch04.xquad_reference(p, 8))


@pytest.mark.parametrize(
    "answer, status, words",
    [
        ([0, 1, 0, 0, 1], CORRECT, "correct"),
        ([0, 0, 0, 0, 0], HINT, "the scores do not count"),
        ([1, 0, 1, 0, 1], HINT, "compares p = 0.3 with 1 - p = 0.7"),
        ([0, 1, 0, 1, 0], HINT, "at step 4"),
        (..., NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_calibration(answer, status, words, capsys):
    got, out = _status("ch4-ex-calibration", answer, capsys)
    assert got == status and words in out


# -- A masked softmax --


def _masked_softmax(logits, mask):
    m = mask[:, None, :]
    z = np.where(m, logits, -np.inf)
    z = z - z.max(axis=-1, keepdims=True)
    w = np.where(m, np.exp(z), 0.0)
    return w / w.sum(axis=-1, keepdims=True)


def test_masked_softmax_reference_by_hand():
    logits = np.array([[[0.0, np.log(3.0), 5.0]]])
    mask = np.array([[True, True, False]])
    np.testing.assert_allclose(
        ch04.masked_softmax_reference(logits, mask), [[[0.25, 0.75, 0.0]]]
    )


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (_masked_softmax, CORRECT, "correct"),
        (ch04._unmasked_softmax, HINT, "padding slots still get weight"),
        (_stub, NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_masked_softmax(answer, status, words, capsys):
    got, out = _status("ch4-ex-masked-softmax", answer, capsys)
    assert got == status and words in out


def test_masked_softmax_needs_the_stable_form(capsys):
    def unstable(logits, mask):
        w = np.where(mask[:, None, :], np.exp(logits), 0.0)
        return w / w.sum(axis=-1, keepdims=True)

    with np.errstate(over="ignore", invalid="ignore"):
        got, out = _status("ch4-ex-masked-softmax", unstable, capsys)
    assert got == HINT and "NaN" in out


# -- The masked mean, in each framework --


def test_masked_mean_reference_by_hand():
    h = np.array([[[1.0], [3.0], [100.0]]])
    mask = np.array([[True, True, False]])
    np.testing.assert_allclose(ch04.masked_mean_reference(h, mask), [[2.0]])


def _masked_mean_np(h, mask):
    m = mask[:, :, None].astype(h.dtype)
    return (h * m).sum(1) / m.sum(1)


def _masked_mean_pt(h, mask):
    m = mask[:, :, None].float()
    return (h * m).sum(1) / m.sum(1)


def _masked_mean_tf(h, mask):
    import tensorflow as tf

    m = tf.cast(mask[:, :, None], h.dtype)
    return tf.reduce_sum(h * m, 1) / tf.reduce_sum(m, 1)


@pytest.mark.parametrize(
    "framework, answer",
    [
        (None, _masked_mean_np),
        ("pytorch", _masked_mean_pt),
        ("tensorflow", _masked_mean_tf),
    ],
)
def test_masked_mean_solutions(framework, answer, capsys):
    got, _ = _status("ch4-ex-masked-mean", answer, capsys, framework=framework)
    assert got == CORRECT


def test_masked_mean_gets_tensors_of_its_framework(capsys):
    import torch

    seen = []

    def spy(h, mask):
        seen.append((type(h), type(mask)))
        return _masked_mean_pt(h, mask)

    got, _ = _status("ch4-ex-masked-mean", spy, capsys, framework="pytorch")
    assert got == CORRECT and seen[0] == (torch.Tensor, torch.Tensor)


@pytest.mark.parametrize(
    "answer, words",
    [
        (ch04._mean_over_all_slots, "you divided by L"),
        (ch04._plain_mean, "the padding slots are in your mean"),
    ],
)
def test_masked_mean_hints(answer, words, capsys):
    got, out = _status("ch4-ex-masked-mean", answer, capsys)
    assert got == HINT and words in out


def test_masked_mean_stub_and_bad_framework(capsys):
    got, _ = _status("ch4-ex-masked-mean", _stub, capsys, framework="pytorch")
    assert got == NOT_ATTEMPTED
    with pytest.raises(ValueError, match="framework must be 'pytorch' or 'tensorflow'"):
        ru.exercises.check("ch4-ex-masked-mean", _stub, framework="jax")


# -- True tail recall --


def _true_tail_recall(topk, true_top, tail_mask, k):
    recalls = []
    for recommended, relevant in zip(topk[:, :k], true_top):
        relevant_tail = relevant[tail_mask[relevant]]
        if len(relevant_tail):
            recalls.append(np.isin(relevant_tail, recommended).mean())
    return float(np.mean(recalls))


def test_true_tail_recall_by_hand():
    from recsys_utils import longtail as lt

    topk = np.array([[1, 2, 3], [4, 5, 6]])
    true_top = np.array([[2, 7], [4, 8]])
    tail = np.zeros(10, bool)
    tail[[2, 7, 8]] = True
    # user 0: tail items {2, 7}, 2 is in the top 2 -> 1/2; user 1: tail {8} -> 0
    assert lt.subset_recall(topk, true_top, 2, tail) == pytest.approx(0.25)
    assert _true_tail_recall(topk, true_top, tail, 2) == pytest.approx(0.25)


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (_true_tail_recall, CORRECT, "correct"),
        (
            lambda topk, true_top, tail_mask, k: _true_tail_recall(
                topk, true_top, np.ones_like(tail_mask), k
            ),
            HINT,
            "true recall over ALL true top items",
        ),
        (
            lambda topk, true_top, tail_mask, k: _true_tail_recall(
                topk, true_top, tail_mask, topk.shape[1]
            ),
            HINT,
            "only its first k entries count",
        ),
        (_stub, NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_true_tail_recall(answer, status, words, capsys):
    got, out = _status("ch4-ex-true-tail-recall", answer, capsys)
    assert got == status and words in out


# -- Inverse propensity weights --


def _ipw(counts, power):
    w = ((counts + 1.0) / (counts.max() + 1.0)) ** (-power)
    return w / (np.dot(counts, w) / counts.sum())


def test_ipw_by_hand():
    # counts (3, 1, 0), power 1: 1/p = 4/4, 4/2, 4/1 = (1, 2, 4); mean over the four
    # purchases (3 * 1 + 1 * 2) / 4 = 1.25, so w = (0.8, 1.6, 3.2)
    np.testing.assert_allclose(_ipw(np.array([3.0, 1.0, 0.0]), 1.0), [0.8, 1.6, 3.2])


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (_ipw, CORRECT, "correct"),
        (ch04._ipw_unscaled, HINT, "wrong scale"),
        (ch04._ipw_item_mean, HINT, "mean over the ITEMS"),
        (_stub, NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_ipw(answer, status, words, capsys):
    got, out = _status("ch4-ex-ipw", answer, capsys)
    assert got == status and words in out
