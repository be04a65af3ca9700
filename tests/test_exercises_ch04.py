"""Chapter 4's exercise checks: the reference answers pass, each typical mistake gets
its own hint, and a stub reports "not attempted"."""

import numpy as np
import pytest
from exercise_cases import instructor, solution_source
from notebook_runner import ROOT

import recsys_utils as ru
from recsys_utils.checks import CORRECT, HINT, NOT_ATTEMPTED

ch04 = instructor("ch04")

# the chapter's exercises section
CHAPTER = ROOT / "chapters" / "04_long_tail_attention" / "06_exercises.ipynb"


def _solution(label, name):
    """The function ``name`` defined by the NumPy solution cell(s) of ``label``."""
    scope = {"np": np}
    exec(solution_source(CHAPTER, label), scope)
    return scope[name], scope


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
    # shares whose ties (x = p) are exact in binary (0.5, 0.375, 0.75) or do not occur
    # within 12 picks (0.41); a share like 0.8 ties at x = 4/5, which rounding decides
    for p in (0.5, 0.375, 0.75, 0.41):
        top = lt.xquad_rerank(scores, tail, np.array([p]), lam=1.0, k=12)
        np.testing.assert_array_equal(tail[top[0]], ch04.xquad_reference(p, 12))
    top = lt.xquad_rerank(scores, tail, np.array([0.3]), lam=1.0, k=8)
    np.testing.assert_array_equal(tail[top[0]], ch04.xquad_reference(0.3, 8))


def test_xquad_ties_go_to_the_head_item():
    # p = 1/2: the first pick is a tie (0.5 against 0.5), so head; then the list
    # alternates, every even step a tie at x = 1/2 won by the head item
    np.testing.assert_array_equal(ch04.xquad_reference(0.5, 6), [0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(ch04._xquad_ties_to_tail(0.5, 6), [1, 0, 1, 0, 1, 0])
    # p = 3/8: x = 3/8 after 8 picks is a tie, the 9th pick is a head item
    picks = ch04.xquad_reference(0.375, 9)
    assert picks[:8].mean() == 0.375 and picks[8] == 0
    assert ch04._xquad_ties_to_tail(0.375, 9)[8] == 1


def test_xquad_mistakes_by_hand():
    np.testing.assert_array_equal(ch04._xquad_no_update(0.3, 5), [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(ch04._xquad_first_inverted(0.3, 5), [1, 0, 0, 0, 1])


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (ch04.xquad_reference, CORRECT, "correct"),
        (ch04._xquad_no_update, HINT, "picks never change"),
        (ch04._xquad_first_inverted, HINT, "only your first pick"),
        (ch04._xquad_ties_to_tail, HINT, "on a tie"),
        (_stub, NOT_ATTEMPTED, "still the stub"),
        (..., NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_calibration(answer, status, words, capsys):
    got, out = _status("ch4-ex-calibration", answer, capsys)
    assert got == status and words in out


def test_calibration_chapter_solution(capsys):
    answer, scope = _solution("ch4-ex-calibration", "xquad_picks")
    assert _status("ch4-ex-calibration", answer, capsys)[0] == CORRECT
    assert scope["first_five"] == [0, 1, 0, 0, 1]


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


def test_true_tail_recall_by_hand():
    from recsys_utils import longtail as lt

    topk = np.array([[1, 2, 3], [4, 5, 6], [1, 2, 3]])
    true_top = np.array([[2, 7], [4, 8], [1, 3]])
    tail = np.zeros(10, bool)
    tail[[2, 7, 8]] = True
    # user 0: tail items {2, 7}, 2 is in the top 2 -> 1/2; user 1: tail {8} -> 0;
    # user 2 has no tail item in true_top and does not count
    got = ch04.true_tail_recall_reference(topk, true_top, tail, np.array([1, 2, 3]))
    np.testing.assert_allclose(got, [0.0, 0.25, 0.25])
    for k, value in zip([1, 2, 3], got, strict=True):
        assert lt.subset_recall(topk, true_top, k, tail) == pytest.approx(value)
    # counting user 2 as 0 gives a third less
    wrong = ch04._recall_over_all_users(topk, true_top, tail, np.array([2]))
    np.testing.assert_allclose(wrong, [1 / 6])


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (ch04.true_tail_recall_reference, CORRECT, "correct"),
        (ch04._recall_all_true_top, HINT, "true recall over ALL true top items"),
        (ch04._recall_whole_list, HINT, "only the first k entries"),
        (ch04._recall_over_all_users, HINT, "averaged over every user"),
        (_stub, NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_true_tail_recall(answer, status, words, capsys):
    got, out = _status("ch4-ex-true-tail-recall", answer, capsys)
    assert got == status and words in out


def test_true_tail_recall_chapter_solution(capsys):
    answer, _ = _solution("ch4-ex-true-tail-recall", "true_tail_recall_at")
    assert _status("ch4-ex-true-tail-recall", answer, capsys)[0] == CORRECT


# -- Inverse propensity weights, clipped --


def test_ipw_by_hand():
    # counts (3, 1, 0), power 1: 1/p = 4/4, 4/2, 4/1 = (1, 2, 4); mean over the four
    # purchases (3 * 1 + 1 * 2) / 4 = 1.25, so w = (0.8, 1.6, 3.2); clipped at 1.2:
    # (0.8, 1.2, 1.2), mean over the purchases (2.4 + 1.2) / 4 = 0.9, so
    # w = (8/9, 4/3, 4/3)
    counts = np.array([3.0, 1.0, 0.0])
    np.testing.assert_allclose(
        ch04.ipw_reference(counts, 1.0, 1.2), [8 / 9, 4 / 3, 4 / 3]
    )
    np.testing.assert_allclose(
        ch04._ipw_no_second_rescaling(counts, 1.0, 1.2), [0.8, 1.2, 1.2]
    )
    # the package clips 1/p = (1, 2, 4) at 1.2 first: (1, 1.2, 1.2) / 1.05
    np.testing.assert_allclose(
        ch04._ipw_clip_raw(counts, 1.0, 1.2), np.array([1, 1.2, 1.2]) / 1.05
    )


def test_ipw_inputs_clip_a_bought_item():
    # the clip must bind on an item with purchases, or the second rescaling is a no-op
    for t in range(20):
        counts, power, max_weight = ch04._ipw_hidden(np.random.default_rng(t))
        w = ch04._ipw_no_second_rescaling(counts, power, max_weight)
        assert np.dot(counts, w) / counts.sum() < 1 - 1e-6


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (ch04.ipw_reference, CORRECT, "correct"),
        (ch04._ipw_unscaled, HINT, "wrong scale"),
        (ch04._ipw_item_mean, HINT, "mean over the ITEMS"),
        (ch04._ipw_no_second_rescaling, HINT, "rescale once more"),
        (ch04._ipw_clip_raw, HINT, "you clipped the raw weights"),
        (_stub, NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_ipw(answer, status, words, capsys):
    got, out = _status("ch4-ex-ipw", answer, capsys)
    assert got == status and words in out


def test_ipw_chapter_solution(capsys):
    answer, _ = _solution("ch4-ex-ipw", "ipw_weights")
    assert _status("ch4-ex-ipw", answer, capsys)[0] == CORRECT
