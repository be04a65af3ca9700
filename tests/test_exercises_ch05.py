"""Chapter 5's exercise checks: each accepts a correct answer written independently of
its reference, gives each typical mistake its own hint, and reports a stub as not
attempted."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_cases import instructor

import recsys_utils as ru
from recsys_utils.checks import CORRECT, HINT, NOT_ATTEMPTED

LABELS = ("ch5-ex-mask", "ch5-ex-pool", "ch5-ex-search", "ch5-ex-gate", "ch5-ex-late")


def _stub(*args):
    raise NotImplementedError("your code here")


def _check(label, answer, capsys):
    result = ru.exercises.check(label, answer)
    return result, capsys.readouterr().out


def test_labels_are_registered():
    assert set(LABELS) <= set(ru.exercises.labels())


@pytest.mark.parametrize("label", LABELS)
def test_stub_is_not_attempted(label, capsys):
    result, _ = _check(label, _stub, capsys)
    assert result.status == NOT_ATTEMPTED and not result.ok
    assert result.exercise == label


# --- ch5-ex-mask: (1/L)(h1 + ... + hn) = (n/L) * (1/n)(h1 + ... + hn) -------------


def test_mask_reference_by_hand():
    ch05 = instructor("ch05")

    # the statement's batch: 3 and 5 tokens padded to 5
    np.testing.assert_allclose(ch05.shrink_reference(np.array([3, 5]), 5), [0.6, 1.0])


def test_mask_reference_is_the_ratio_of_the_two_means():
    ch05 = instructor("ch05")

    rng = np.random.default_rng(0)
    h = rng.normal(size=(7, 4))  # one text's hidden states, padded to 7 positions
    for n in range(1, 8):
        masked, real_part_of_plain = h[:n].mean(0), h[:n].sum(0) / 7
        factor = ch05.shrink_reference([n], 7)[0]
        np.testing.assert_allclose(real_part_of_plain, factor * masked)


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (lambda n, L: np.array([k / L for k in n]), CORRECT, None),
        (lambda n, L: L / np.asarray(n), HINT, "inverse"),
        (lambda n, L: 1 - np.asarray(n) / L, HINT, "padding's share"),
        (lambda n, L: np.ones(len(n)), HINT, "every position"),
        (lambda n, L: np.asarray(n) / (L + 1), HINT, "differs from the expected"),
    ],
)
def test_mask_shrink_factor(answer, status, words, capsys):
    result, out = _check("ch5-ex-mask", answer, capsys)
    assert result.status == status
    if words:
        assert words in out


# --- ch5-ex-pool ----------------------------------------------------------------


def _pool_by_hand(h, m, w):  # vectorised, with a guard on both divisions
    weights = m[:, :, None] * w[:, :, None]
    pooled = (h * weights).sum(1) / np.maximum(weights.sum(1), 1e-12)
    norm = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norm, 1e-12)


def test_pool_reference_on_a_hand_example():
    ch05 = instructor("ch05")

    h = np.array(
        [
            [[3.0, 0.0], [1.0, 2.0], [100.0, 100.0]],  # last token is padding
            [[1.0, 1.0], [2.0, 0.0], [5.0, 5.0]],  # real tokens weigh 0
        ]
    )
    m = np.array([[1, 1, 0], [1, 1, 0]])
    w = np.array([[1.0, 3.0, 7.0], [0.0, 0.0, 4.0]])
    # row 0: (3 + 3, 0 + 6) / 4 = (1.5, 1.5) -> (1, 1) / sqrt(2); row 1: zeros
    np.testing.assert_allclose(
        ch05.pool_reference(h, m, w), [[2**-0.5, 2**-0.5], [0.0, 0.0]]
    )


def test_pool(capsys):
    assert _check("ch5-ex-pool", _pool_by_hand, capsys)[0].status == CORRECT

    def nan_rows(h, m, w):
        weights = (m * w)[:, :, None]
        pooled = (h * weights).sum(1) / weights.sum(1)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    with np.errstate(all="ignore"):
        result, out = _check("ch5-ex-pool", nan_rows, capsys)
    assert result.status == HINT and "NaN" in out

    def unweighted(h, m, w):
        return _pool_by_hand(h, m, np.ones_like(w))

    result, out = _check("ch5-ex-pool", unweighted, capsys)
    assert result.status == HINT and "plain masked mean" in out

    def padding_counted(h, m, w):
        return _pool_by_hand(h, np.ones_like(m), w)

    result, out = _check("ch5-ex-pool", padding_counted, capsys)
    assert result.status == HINT and "attention mask" in out

    def not_normalised(h, m, w):
        weights = (m * w)[:, :, None]
        return (h * weights).sum(1) / np.maximum(weights.sum(1), 1e-12)

    result, out = _check("ch5-ex-pool", not_normalised, capsys)
    assert result.status == HINT and "L2 norm" in out


def test_pool_reference_matches_the_package_pooling_with_unit_weights():
    torch = pytest.importorskip("torch")
    ch05 = instructor("ch05")
    from recsys_utils.text import mean_pooling

    h, m, _ = ch05._pool_inputs(np.random.default_rng(3))
    pooled = mean_pooling(torch.from_numpy(h), torch.from_numpy(m)).numpy()
    expected = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    np.testing.assert_allclose(
        ch05.pool_reference(h, m, np.ones(m.shape)), expected, atol=1e-12
    )


# --- ch5-ex-search --------------------------------------------------------------


def _search_by_hand(q, v, k, exclude):  # a loop and a lexicographic sort
    out = []
    for j in range(len(q)):
        cos = (v @ q[j]) / (np.linalg.norm(v, axis=1) * np.linalg.norm(q[j]))
        keep = np.setdiff1d(np.arange(len(v)), np.asarray(exclude[j], dtype=int))
        order = np.lexsort((keep, -cos[keep]))  # by -cosine, then by id
        out.append(keep[order][:k])
    return np.array(out)


def test_search_reference_by_hand():
    ch05 = instructor("ch05")

    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    v = np.array([[10.0, 10.0], [0.1, 0.0], [0.0, 5.0], [3.0, 1.0], [1.0, 1.0]])
    # query 0, cosines 0.707, 1, 0, 0.949, 0.707 -> 1, 3, then the tie 0 before 4;
    # query 1 excludes item 2 (cosine 1): 0 and 4 tie at 0.707, then 3 (0.316)
    np.testing.assert_array_equal(
        ch05.search_reference(q, v, 3, [[], [2]]), [[1, 3, 0], [0, 4, 3]]
    )


def test_search_ties_are_exact_in_the_inputs():
    ch05 = instructor("ch05")

    q, v, _, _ = ch05._search_inputs(np.random.default_rng(0))
    cos = ch05._cosines(q, v)
    half = len(v) // 2
    for row in cos:
        assert row[half : half + 3] == row[:3]  # the copies tie exactly


def test_search(capsys):
    assert _check("ch5-ex-search", _search_by_hand, capsys)[0].status == CORRECT

    def by_dot(q, v, k, exclude):
        scores = q @ v.T
        for j, banned in enumerate(exclude):
            scores[j, list(banned)] = -np.inf
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]

    result, out = _check("ch5-ex-search", by_dot, capsys)
    assert result.status == HINT and "raw dot product" in out

    def increasing(q, v, k, exclude):
        return _search_by_hand(q, v, k, exclude)[:, ::-1]

    result, out = _check("ch5-ex-search", increasing, capsys)
    assert result.status == HINT and "wrong order" in out

    def kept(q, v, k, exclude):
        return _search_by_hand(q, v, k, [[] for _ in q])

    result, out = _check("ch5-ex-search", kept, capsys)
    assert result.status == HINT and "exclude list" in out

    def ties_large(q, v, k, exclude):
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        vn = v / np.linalg.norm(v, axis=1, keepdims=True)
        cos = qn @ vn.T
        for j, banned in enumerate(exclude):
            cos[j, list(banned)] = -np.inf
        return np.argsort(cos, axis=1, kind="stable")[:, ::-1][:, :k]

    result, out = _check("ch5-ex-search", ties_large, capsys)
    assert result.status == HINT and "smaller item id" in out


def test_search_in_pytorch(capsys):
    torch = pytest.importorskip("torch")

    def search_pt(q, v, k, exclude):  # normalise, matmul, mask, stable sort
        q = torch.nn.functional.normalize(torch.from_numpy(q), dim=1)
        v = torch.nn.functional.normalize(torch.from_numpy(v), dim=1)
        cos = q @ v.T
        for j, banned in enumerate(exclude):
            cos[j, list(banned)] = -float("inf")
        return torch.sort(-cos, dim=1, stable=True).indices[:, :k].numpy()

    assert _check("ch5-ex-search", search_pt, capsys)[0].status == CORRECT


# --- ch5-ex-gate ----------------------------------------------------------------


def test_gate_reference_by_hand():
    ch05 = instructor("ch05")

    logits = np.array([[0.0, 2 * np.log(3.0), 5.0], [1.0, 1.0, 1.0], [3.0, 1.0, 2.0]])
    available = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 0]])
    # temperature 2: row 0 logits 0, log 3 -> 1/4, 3/4; row 2 has no modality
    np.testing.assert_allclose(
        ch05.gate_reference(logits, available, 2.0),
        [[0.25, 0.75, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 0.0]],
    )


def _gate_by_hand(logits, available, temperature):
    z = np.where(available > 0, logits / temperature, -1e9)
    e = np.exp(z - z.max(1, keepdims=True)) * (available > 0)
    total = e.sum(1, keepdims=True)
    return e / np.maximum(total, 1e-300)


def test_gate(capsys):
    assert _check("ch5-ex-gate", _gate_by_hand, capsys)[0].status == CORRECT

    def nan_rows(logits, available, temperature):
        z = np.where(available > 0, logits / temperature, -np.inf)
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    with np.errstate(all="ignore"):
        result, out = _check("ch5-ex-gate", nan_rows, capsys)
    assert result.status == HINT and "NaN" in out

    def large_negative(logits, available, temperature):
        z = np.where(available > 0, logits / temperature, -1e9)
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    result, out = _check("ch5-ex-gate", large_negative, capsys)
    assert result.status == HINT and "equal weights" in out

    def unmasked(logits, available, temperature):
        e = np.exp(logits / temperature)
        return e / e.sum(1, keepdims=True)

    result, out = _check("ch5-ex-gate", unmasked, capsys)
    assert result.status == HINT and "still gets weight" in out

    def zeroed(logits, available, temperature):
        return unmasked(logits, available, temperature) * available

    result, out = _check("ch5-ex-gate", zeroed, capsys)
    assert result.status == HINT and "no longer sum to 1" in out

    def no_temperature(logits, available, temperature):
        return _gate_by_hand(logits, available, 1.0)

    result, out = _check("ch5-ex-gate", no_temperature, capsys)
    assert result.status == HINT and "temperature is ignored" in out

    def times(logits, available, temperature):
        return _gate_by_hand(logits * temperature, available, 1.0)

    result, out = _check("ch5-ex-gate", times, capsys)
    assert result.status == HINT and "divide by it" in out


# --- ch5-ex-late ----------------------------------------------------------------


def _late_numpy(user_parts, item_parts, late_logits):
    alpha = np.exp(late_logits) / np.exp(late_logits).sum()
    return np.einsum("bmd,imd,m->bi", user_parts, item_parts, alpha)


def test_late_reference_by_hand():
    ch05 = instructor("ch05")

    user = np.array([[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]])  # (1, 3, 2)
    item = np.array([[[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])  # (1, 3, 2)
    logits = np.log(np.array([1.0, 1.0, 2.0]))  # alpha = (1/4, 1/4, 1/2)
    # modality dots 3, 2, 0 -> 3/4 + 2/4 + 0 = 1.25
    np.testing.assert_allclose(ch05.late_reference(user, item, logits), [[1.25]])


def test_late(capsys):
    assert _check("ch5-ex-late", _late_numpy, capsys)[0].status == CORRECT
    result, out = _check(
        "ch5-ex-late",
        lambda u, i, a: np.einsum("bmd,imd,m->bi", u, i, a),
        capsys,
    )
    assert result.status == HINT and "raw logits" in out
    result, out = _check(
        "ch5-ex-late", lambda u, i, a: np.einsum("bmd,imd->bi", u, i), capsys
    )
    assert result.status == HINT and "equal weights" in out


def test_late_in_pytorch(capsys):
    torch = pytest.importorskip("torch")

    def late_scores_pt(user_parts, item_parts, late_logits):
        alpha = torch.softmax(torch.from_numpy(late_logits), dim=0)
        u = torch.from_numpy(user_parts) * alpha[:, None]
        return torch.einsum("bmd,imd->bi", u, torch.from_numpy(item_parts))

    assert _check("ch5-ex-late", late_scores_pt, capsys)[0].status == CORRECT


def test_late_in_tensorflow(capsys):
    from recsys_utils._seed import import_tensorflow_quietly

    pytest.importorskip("tensorflow")
    tf = import_tensorflow_quietly()

    def late_scores_tf(user_parts, item_parts, late_logits):
        alpha = tf.nn.softmax(tf.constant(late_logits))
        u = tf.constant(user_parts) * alpha[:, None]
        return tf.einsum("bmd,imd->bi", u, tf.constant(item_parts))

    assert _check("ch5-ex-late", late_scores_tf, capsys)[0].status == CORRECT
