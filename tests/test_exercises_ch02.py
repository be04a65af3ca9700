"""Chapter 2's exercise checks: the reference passes, each typical mistake gets its
hint, a stub reports "not attempted" (recsys_utils/exercises/ch02.py).

The correct answers here are written independently of the checks' references (by hand
or with another formula), so a wrong reference would fail these tests.
"""

import numpy as np
import pytest
from exercise_cases import outcome as _outcome  # noqa: E402
from exercise_cases import stub as _stub  # noqa: E402

import recsys_utils as ru
from recsys_utils.checks import CORRECT, ERROR, HINT, NOT_ATTEMPTED


def test_chapter_2_labels_are_registered():
    assert {
        "ch2-ex-euclid",
        "ch2-ex-cosine",
        "ch2-ex-center",
        "ch2-ex-neighbours",
        "ch2-ex-balance",
    } <= set(ru.exercises.labels())


# --- ch2-ex-euclid: ||u_hat - v1_hat||^2 for the worked example -------------------

# By hand: u.v1 = 0.88, |u|^2 = 0.93, |v1|^2 = 0.86, so cos = 0.88 / sqrt(0.7998).
_COS = 0.88 / np.sqrt(0.93 * 0.86)


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (2 - 2 * _COS, CORRECT, ""),
        (2 - 2 * 0.9840, CORRECT, ""),  # the printed cosine, rounded to 4 decimals
        (2 - _COS, HINT, "two cross terms"),
        (1 - _COS, HINT, "1 + 1 = 2"),
        (0.01 + 0.01 + 0.01, HINT, "normalised vectors"),  # |u - v1|^2 by hand
        (0.5, HINT, "differ from the reference"),
        (..., NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_euclid(capsys, answer, status, words):
    got, out = _outcome(capsys, "ch2-ex-euclid", answer)
    assert got == status and words in out


# --- ch2-ex-cosine: the framework exercise ---------------------------------------


# Independent answers: ties broken by sorting on (-cosine, id) pairs, in NumPy-free
# framework code; the mistakes are what a learner writes.


def _torch_answers():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def cosines(P, Q, eps):  # clamp each norm at eps (torch's own convention)
        return F.normalize(P, dim=1, eps=eps) @ F.normalize(Q, dim=1, eps=eps).T

    def right(P, Q, k, eps):  # ids as a secondary key: sort by -cos * m + id
        s = cosines(P, Q, eps).double()
        ids = torch.arange(Q.shape[0], dtype=torch.float64)
        key = torch.round(s * 1e6) * -Q.shape[0] + ids  # 1e-6 apart = distinct
        return torch.sort(key, dim=1).indices[:, :k]

    def increasing(P, Q, k, eps):
        return torch.argsort(cosines(P, Q, eps), dim=1, stable=True)[:, :k]

    def dot(P, Q, k, eps):
        return torch.argsort(P @ Q.T, dim=1, descending=True, stable=True)[:, :k]

    def reversed_ties(P, Q, k, eps):
        order = torch.argsort(cosines(P, Q, eps), dim=1, stable=True)
        return order.flip(1)[:, :k]

    def no_guard(P, Q, k, eps):  # 0 / 0 on the zero row of Q
        s = (P / P.norm(dim=1, keepdim=True)) @ (Q / Q.norm(dim=1, keepdim=True)).T
        return torch.argsort(s, dim=1, descending=True, stable=True)[:, :k]

    return right, increasing, dot, reversed_ties, no_guard


def _tf_answers():
    tf = pytest.importorskip("tensorflow")

    def cosines(P, Q, eps):
        norm_p = tf.sqrt(tf.reduce_sum(P * P, axis=1, keepdims=True))
        norm_q = tf.sqrt(tf.reduce_sum(Q * Q, axis=1, keepdims=True))
        return tf.matmul(
            P / tf.maximum(norm_p, eps), Q / tf.maximum(norm_q, eps), transpose_b=True
        )

    def right(P, Q, k, eps):  # top_k keeps the lower index first among ties
        return tf.math.top_k(cosines(P, Q, eps), k=k).indices

    def increasing(P, Q, k, eps):  # keras' cosine similarity is a loss, -cos
        import keras

        n, m = P.shape[0], Q.shape[0]
        p = tf.repeat(P[:, None, :], m, axis=1)
        q = tf.repeat(Q[None, :, :], n, axis=0)
        loss = keras.losses.cosine_similarity(p, q, axis=-1)
        return tf.math.top_k(loss, k=k).indices

    def dot(P, Q, k, eps):
        return tf.math.top_k(tf.matmul(P, Q, transpose_b=True), k=k).indices

    def reversed_ties(P, Q, k, eps):
        order = tf.argsort(cosines(P, Q, eps), axis=1, stable=True)
        return tf.reverse(order, axis=[1])[:, :k]

    def no_guard(P, Q, k, eps):
        norm_p = tf.norm(P, axis=1, keepdims=True)
        norm_q = tf.norm(Q, axis=1, keepdims=True)
        s = tf.matmul(P / norm_p, Q / norm_q, transpose_b=True)
        return tf.argsort(s, axis=1, direction="DESCENDING", stable=True)[:, :k]

    return right, increasing, dot, reversed_ties, no_guard


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_cosine_in_each_framework(capsys, framework):
    answers = _torch_answers() if framework == "pytorch" else _tf_answers()
    right, increasing, dot, reversed_ties, no_guard = answers
    expected = [
        (right, CORRECT, "correct"),
        (increasing, HINT, "k smallest cosines"),
        (dot, HINT, "dot product"),
        (reversed_ties, HINT, "ties go to the lower id"),
        (_stub, NOT_ATTEMPTED, "still the stub"),
        (..., NOT_ATTEMPTED, "still the stub"),
    ]
    if framework == "pytorch":  # TensorFlow's argsort puts NaN elsewhere
        expected.append((no_guard, HINT, "NaN sorts first"))
    for answer, status, words in expected:
        got, out = _outcome(capsys, "ch2-ex-cosine", answer, framework=framework)
        assert got == status and words in out, (answer, out)


def test_cosine_topk_ties_and_zero_rows_by_hand():
    from exercise_cases import instructor

    P = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    Q = np.array([[0.0, 3.0], [0.0, 0.0], [5.0, 0.0], [1.0, 1.0]])
    # row 0 ties every item at 0 -> ids in order; row 1: item 2 (1.0), 3 (0.71),
    # then 0 and 1 tie at 0; row 2: item 0 (1.0), 3 (0.71), then 1 and 2 at 0
    expected = [[0, 1, 2], [2, 3, 0], [0, 3, 1]]
    ref = instructor("ch02").cosine_topk_reference(P, Q, 3, 1e-8)
    np.testing.assert_array_equal(ref, expected)


def test_cosine_names_the_framework_in_its_message(capsys):
    pytest.importorskip("tensorflow")
    _, out = _outcome(capsys, "ch2-ex-cosine", _stub, framework="tensorflow")
    assert "cosine_topk_tf" in out


def test_cosine_rejects_an_unknown_framework():
    with pytest.raises(ValueError, match="framework must be 'pytorch' or 'tensorflow'"):
        ru.exercises.check("ch2-ex-cosine", _stub, framework="jax")


# --- ch2-ex-center ----------------------------------------------------------------


def _center_by_loops(X, shrink, use_shrink=True):
    out = np.zeros_like(X, dtype=float)
    for r in range(X.shape[0]):
        rated = [c for c in range(X.shape[1]) if X[r, c] != 0]
        if rated:
            denom = len(rated) + (shrink if use_shrink else 0.0)
            mean = sum(X[r, c] for c in rated) / denom
            for c in rated:
                out[r, c] = X[r, c] - mean
    return out


def test_center_by_hand_on_the_toy_table():
    # user C rated the trail shoes 1 and the teapot 5: mean 3 -> -2, 0, +2;
    # shrunk with shrink = 2: 6 / 4 = 1.5 -> -0.5, 0, +3.5
    toy = np.array([[5.0, 4.0, 0.0], [4.0, 5.0, 1.0], [1.0, 0.0, 5.0]])
    np.testing.assert_allclose(_center_by_loops(toy, 0.0)[2], [-2.0, 0.0, 2.0])
    np.testing.assert_allclose(_center_by_loops(toy, 2.0)[2], [-0.5, 0.0, 3.5])


def _shrunk_row_means(X, shrink):
    counts = (X != 0).sum(axis=1, keepdims=True)
    sums = X.sum(axis=1, keepdims=True)
    return np.where(counts > 0, sums / np.maximum(counts + shrink, 1e-12), 0.0)


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (_center_by_loops, CORRECT, "correct"),
        (
            lambda X, s: np.where(X != 0, X - X.mean(axis=1, keepdims=True), 0.0),
            HINT,
            "RATED items only",
        ),
        (
            lambda X, s: X - _shrunk_row_means(X, s),
            HINT,
            "leave the unrated entries at 0",
        ),
        (
            lambda X, s: _center_by_loops(X, s, use_shrink=False),
            HINT,
            "count + shrink",
        ),
        (lambda X, s: X, HINT, "differs from the expected output"),
        (_stub, NOT_ATTEMPTED, "still the stub"),
        (lambda X, s: X[10**6], ERROR, "raised IndexError"),
    ],
)
def test_center(capsys, answer, status, words):
    got, out = _outcome(capsys, "ch2-ex-center", answer)
    assert got == status and words in out, out


def test_center_old_signature_does_not_pass(capsys):
    """The one-argument answer of the old statement cannot be called: error."""
    got, _ = _outcome(capsys, "ch2-ex-center", lambda X: X)
    assert got != CORRECT


# --- ch2-ex-neighbours ------------------------------------------------------------


def _neighbours_by_loops(Q, k, exclude):
    n = len(Q)
    out = []
    for i in range(n):
        sims = [
            (Q[i] @ Q[j] / (np.linalg.norm(Q[i]) * np.linalg.norm(Q[j])), j)
            for j in range(n)
            if j != i and j not in set(exclude[i])
        ]
        out.append([j for _, j in sorted(sims, key=lambda s: -s[0])[:k]])
    return np.array(out)


def _unit(Q):
    return Q / np.linalg.norm(Q, axis=1, keepdims=True)


def _cosines_without(Q, exclude, self_too=True):
    sims = _unit(Q) @ _unit(Q).T
    for i, ids in enumerate(exclude):
        for j in ids:
            sims[i, j] = -np.inf
        if self_too:
            sims[i, i] = -np.inf
    return sims


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (_neighbours_by_loops, CORRECT, "correct"),
        (
            lambda Q, k, ex: np.argsort(-_cosines_without(Q, ex, False), axis=1)[:, :k],
            HINT,
            "first neighbour is itself",
        ),
        (
            lambda Q, k, ex: _neighbours_by_loops(Q, k, [[] for _ in Q]),
            HINT,
            "listed in exclude[i]",
        ),
        (
            lambda Q, k, ex: np.argsort(_cosines_without(Q, ex), axis=1)[:, :k],
            HINT,
            "increasing order",
        ),
        (_stub, NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_neighbours(capsys, answer, status, words):
    got, out = _outcome(capsys, "ch2-ex-neighbours", answer)
    assert got == status and words in out, out


def test_neighbours_old_signature_does_not_pass(capsys):
    """The two-argument answer of the old statement cannot be called."""
    got, _ = _outcome(
        capsys,
        "ch2-ex-neighbours",
        lambda Q, k: np.argsort(-(_unit(Q) @ _unit(Q).T), axis=1)[:, 1 : k + 1],
    )
    assert got != CORRECT


# --- ch2-ex-balance ---------------------------------------------------------------


def _scale_by_grid(a, b):
    # an independent route: minimise d^2 a^2 + b^2 / d^2 on a fine grid, then refine
    out = []
    for a_k, b_k in zip(a, b):
        grid = np.linspace(0.05, 5.0, 20001)
        f = grid**2 * a_k**2 + b_k**2 / grid**2
        out.append(grid[np.argmin(f)])
    return np.array(out)


def test_balance_reference_matches_a_grid_search():
    a, b = np.array([1.0, 2.0, 0.5]), np.array([4.0, 2.0, 2.0])
    np.testing.assert_allclose(_scale_by_grid(a, b), [2.0, 1.0, 2.0], atol=1e-3)


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (lambda a, b: (b / a) ** 0.5, CORRECT, "correct"),
        (lambda a, b: b / a, HINT, "take the square root"),
        (lambda a, b: np.sqrt(a / b), HINT, "upside down"),
        (lambda a, b: np.ones_like(a), HINT, "only when a_k = b_k"),
        (_stub, NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_balance(capsys, answer, status, words):
    got, out = _outcome(capsys, "ch2-ex-balance", answer)
    assert got == status and words in out, out
