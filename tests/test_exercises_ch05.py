"""Chapter 5's exercise checks: each accepts a correct answer written independently of
its reference, gives each typical mistake its own hint, and reports a stub as not
attempted."""

from __future__ import annotations

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
    answer = ... if label == "ch5-ex-mask" else _stub
    result, _ = _check(label, answer, capsys)
    assert result.status == NOT_ATTEMPTED and not result.ok
    assert result.exercise == label


# --- ch5-ex-mask: (1/5)(h1 + h2 + h3) = (3/5) * (1/3)(h1 + h2 + h3) --------------


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (0.6, CORRECT, None),
        (5 / 3, HINT, "inverse"),
        (0.4, HINT, "padding's share"),
        (1.0, HINT, "divided by 5"),
        (0.7, HINT, "differ from the reference"),
    ],
)
def test_mask_shrink_factor(answer, status, words, capsys):
    result, out = _check("ch5-ex-mask", answer, capsys)
    assert result.status == status
    if words:
        assert words in out


# --- ch5-ex-pool ----------------------------------------------------------------


def _pool_by_hand(h, m):  # the chapter's vectorised answer
    mask = m[:, :, None].astype(h.dtype)
    pooled = (h * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def test_pool_reference_on_a_hand_example():
    ch05 = _instructor("ch05")

    h = np.array([[[3.0, 0.0], [1.0, 2.0], [100.0, 100.0]]])  # last token is padding
    m = np.array([[1, 1, 0]])
    # masked mean (2, 1), norm sqrt(5)
    np.testing.assert_allclose(
        ch05.pool_reference(h, m), [[2 / np.sqrt(5), 1 / np.sqrt(5)]]
    )


def test_pool(capsys):
    assert _check("ch5-ex-pool", _pool_by_hand, capsys)[0].status == CORRECT

    def unmasked(h, m):
        out = h.mean(1)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    result, out = _check("ch5-ex-pool", unmasked, capsys)
    assert result.status == HINT and "padding positions" in out

    def not_normalised(h, m):
        mask = m[:, :, None]
        return (h * mask).sum(1) / mask.sum(1)

    result, out = _check("ch5-ex-pool", not_normalised, capsys)
    assert result.status == HINT and "L2 norm" in out


def test_pool_reference_matches_the_package_pooling():
    torch = pytest.importorskip("torch")
    ch05 = _instructor("ch05")
    from recsys_utils.text import mean_pooling

    h, m = ch05._pool_inputs(np.random.default_rng(3))
    pooled = mean_pooling(torch.from_numpy(h), torch.from_numpy(m)).numpy()
    expected = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    np.testing.assert_allclose(ch05.pool_reference(h, m), expected, atol=1e-12)


# --- ch5-ex-search --------------------------------------------------------------


def test_search(capsys):
    def by_cosine(q, v, k):
        qn = q / np.linalg.norm(q)
        vn = v / np.linalg.norm(v, axis=1, keepdims=True)
        return np.argsort(-(vn @ qn), kind="stable")[:k]

    assert _check("ch5-ex-search", by_cosine, capsys)[0].status == CORRECT
    result, out = _check(
        "ch5-ex-search", lambda q, v, k: np.argsort(-(v @ q), kind="stable")[:k], capsys
    )
    assert result.status == HINT and "raw dot product" in out

    def least_similar(q, v, k):
        return by_cosine(-q, v, k)  # reversed order, up to ties

    result, out = _check("ch5-ex-search", least_similar, capsys)
    assert result.status == HINT and "least similar" in out


def test_search_reference_by_hand():
    ch05 = _instructor("ch05")

    q = np.array([1.0, 0.0])
    v = np.array([[10.0, 10.0], [0.1, 0.0], [0.0, 5.0], [3.0, 1.0]])
    # cosines: 0.707, 1, 0, 0.949 -> order 1, 3, 0, 2 (the long item 0 is not first)
    np.testing.assert_array_equal(ch05.search_reference(q, v, 3), [1, 3, 0])


# --- ch5-ex-gate ----------------------------------------------------------------


def test_gate_reference_by_hand():
    ch05 = _instructor("ch05")

    logits = np.array([[0.0, np.log(3.0), 5.0], [1.0, 1.0, 1.0]])
    available = np.array([[1, 1, 0], [0, 1, 1]])
    np.testing.assert_allclose(
        ch05.gate_reference(logits, available), [[0.25, 0.75, 0.0], [0.0, 0.5, 0.5]]
    )


def test_gate(capsys):
    def masked(logits, available):
        z = np.where(available > 0, logits, -1e9)
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    assert _check("ch5-ex-gate", masked, capsys)[0].status == CORRECT

    def unmasked(logits, available):
        e = np.exp(logits)
        return e / e.sum(1, keepdims=True)

    result, out = _check("ch5-ex-gate", unmasked, capsys)
    assert result.status == HINT and "still gets weight" in out

    def zeroed(logits, available):
        return unmasked(logits, available) * available

    result, out = _check("ch5-ex-gate", zeroed, capsys)
    assert result.status == HINT and "no longer sum to 1" in out


# --- ch5-ex-late ----------------------------------------------------------------


def _late_numpy(user_parts, item_parts, late_logits):
    alpha = np.exp(late_logits) / np.exp(late_logits).sum()
    return np.einsum("bmd,imd,m->bi", user_parts, item_parts, alpha)


def test_late_reference_by_hand():
    ch05 = _instructor("ch05")

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
