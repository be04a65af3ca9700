"""Chapter 1's exercise checks: the worked answer passes, each typical mistake gets its
own hint, a stub reports "not attempted", and bad arguments fail clearly.

The answers below are written independently of recsys_utils/exercises/ch01.py (the
references there are the checks' own).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from exercise_cases import instructor

import recsys_utils as ru
from recsys_utils.checks import CORRECT, ERROR, HINT, NOT_ATTEMPTED


def _stub(*args):
    raise NotImplementedError("your code here")


def _status_and_output(label, answer, capsys, **context):
    result = ru.exercises.check(label, answer, **context)
    assert result.exercise == label
    return result, capsys.readouterr().out


# --- observed_loss ----------------------------------------------------------------


def _observed_loss(R, P, Q, b_u, b_i, mu, reg, half=0.5, bias_penalty=True):
    R = sp.coo_matrix(R)
    total = 0.0
    for u, i, r in zip(R.row, R.col, R.data):  # one observed cell at a time
        total += half * (r - mu - b_u[u] - b_i[i] - P[u] @ Q[i]) ** 2
    penalty = np.sum(P * P) + np.sum(Q * Q)
    if bias_penalty:
        penalty += np.sum(b_u * b_u) + np.sum(b_i * b_i)
    return total + reg * penalty


def _dense_loss(R, P, Q, b_u, b_i, mu, reg):
    pred = mu + b_u[:, None] + b_i[None, :] + P @ Q.T
    return 0.5 * np.sum((R.toarray() - pred) ** 2) + reg * (
        np.sum(P * P) + np.sum(Q * Q) + np.sum(b_u * b_u) + np.sum(b_i * b_i)
    )


def _without_biases(R, P, Q, b_u, b_i, mu, reg):  # ru.mf.mf_objective's loss
    zero_u, zero_i = np.zeros_like(b_u), np.zeros_like(b_i)
    return _observed_loss(R, P, Q, zero_u, zero_i, 0.0, reg)


@pytest.mark.parametrize(
    "answer, status, hint",
    [
        (_observed_loss, CORRECT, None),
        (_dense_loss, HINT, "missing ratings are not zeros"),
        (
            lambda *a: _observed_loss(*a, bias_penalty=False),
            HINT,
            "the L2 penalty covers",
        ),
        (lambda *a: _observed_loss(*a, half=1.0), HINT, "factor 1/2"),
        (_without_biases, HINT, "the biases and the global mean are missing"),
        (_stub, NOT_ATTEMPTED, None),
        (lambda *a: _observed_loss(*a) + 1.0, HINT, "differs"),
    ],
)
def test_observed_loss(answer, status, hint, capsys):
    result, out = _status_and_output("ch1-ex-observed-loss", answer, capsys)
    assert result.status == status
    if hint:
        assert hint in out


def test_observed_loss_old_signature_fails_clearly(capsys):
    """The four-argument answer of the old statement cannot pass."""
    result, _ = _status_and_output(
        "ch1-ex-observed-loss",
        lambda R, P, Q, reg: 0.5 * np.sum(sp.coo_matrix(R).data ** 2),
        capsys,
    )
    assert not result.ok


# --- occurrence_weights -----------------------------------------------------------


def _weights(ids):
    ids = list(ids)
    return np.array([1.0 / ids.count(x) for x in ids])


@pytest.mark.parametrize(
    "answer, status, hint",
    [
        (_weights, CORRECT, None),
        (lambda ids: np.ones(len(ids)), HINT, "weight decay"),
        (lambda ids: np.bincount(ids)[ids].astype(float), HINT, "not 1/n"),
        (_stub, NOT_ATTEMPTED, None),
    ],
)
def test_occurrence_weights(answer, status, hint, capsys):
    result, out = _status_and_output("ch1-ex-weights", answer, capsys)
    assert result.status == status
    if hint:
        assert hint in out


# --- confidence -------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, status, hint",
    [
        (lambda counts, alpha: counts * alpha + np.ones_like(counts), CORRECT, None),
        (lambda counts, alpha: alpha * counts, HINT, "keep confidence 1"),
        (_stub, NOT_ATTEMPTED, None),
    ],
)
def test_confidence(answer, status, hint, capsys):
    result, out = _status_and_output("ch1-ex-confidence", answer, capsys)
    assert result.status == status
    if hint:
        assert hint in out


# --- masked_loss, in each framework -------------------------------------------------


def _masked_pt(scale=0.5, mask=True, mean=False):
    def loss(P, Q, R, M, reg):
        err = (M if mask else 1.0) * (R - P @ Q.T)
        sq = (err**2).mean() if mean else (err**2).sum()
        return scale * sq + reg * ((P**2).sum() + (Q**2).sum())

    return loss


def _masked_tf(scale=0.5, mask=True, mean=False):
    import tensorflow as tf

    def loss(P, Q, R, M, reg):
        err = (M if mask else 1.0) * (R - tf.matmul(P, Q, transpose_b=True))
        sq = tf.reduce_mean(err**2) if mean else tf.reduce_sum(err**2)
        return scale * sq + reg * (tf.reduce_sum(P**2) + tf.reduce_sum(Q**2))

    return loss


MASKED_CASES = [
    ({}, CORRECT, None),
    ({"mask": False}, HINT, "multiply the errors by the mask"),
    ({"scale": 1.0}, HINT, "factor 1/2"),
    ({"mean": True}, HINT, "averaged"),
]


@pytest.mark.parametrize("options, status, hint", MASKED_CASES)
@pytest.mark.parametrize(
    "framework, make", [("pytorch", _masked_pt), ("tensorflow", _masked_tf)]
)
def test_masked_loss_in_each_framework(framework, make, options, status, hint, capsys):
    pytest.importorskip("torch" if framework == "pytorch" else "tensorflow")
    result, out = _status_and_output(
        "ch1-ex-masked-loss", make(**options), capsys, framework=framework
    )
    assert result.status == status, out
    if hint:
        assert hint in out


def test_masked_loss_receives_the_framework_tensors(capsys):
    torch = pytest.importorskip("torch")
    seen = []

    def answer(P, Q, R, M, reg):
        seen.append(type(P))
        return _masked_pt()(P, Q, R, M, reg)

    result, _ = _status_and_output(
        "ch1-ex-masked-loss", answer, capsys, framework="pytorch"
    )
    assert result.ok and set(seen) == {torch.Tensor}


def _through_numpy(framework):
    """The one-call answer the statement rules out: NumPy (or recsys_utils.mf on
    .numpy() arrays) gives the right number, with no gradient behind it."""

    def loss(P, Q, R, M, reg):
        P, Q, R, M = (
            np.array(getattr(x, "detach", lambda x=x: x)()) for x in (P, Q, R, M)
        )
        value = 0.5 * ((M * (R - P @ Q.T)) ** 2).sum() + reg * (
            (P**2).sum() + (Q**2).sum()
        )
        if framework == "pytorch":
            import torch

            return torch.tensor(value)
        import tensorflow as tf

        return tf.constant(value)

    return loss


def _penalty_as_constant(framework):
    if framework == "pytorch":

        def loss(P, Q, R, M, reg):
            err = M * (R - P @ Q.T)
            penalty = float((P**2).sum().detach() + (Q**2).sum())
            return 0.5 * (err**2).sum() + reg * penalty

        return loss
    import tensorflow as tf

    def loss_tf(P, Q, R, M, reg):
        err = M * (R - tf.matmul(P, Q, transpose_b=True))
        penalty = tf.stop_gradient(tf.reduce_sum(P**2)) + tf.reduce_sum(Q**2)
        return 0.5 * tf.reduce_sum(err**2) + reg * penalty

    return loss_tf


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_masked_loss_checks_the_gradient_too(framework, capsys):
    pytest.importorskip("torch" if framework == "pytorch" else "tensorflow")
    result, out = _status_and_output(
        "ch1-ex-masked-loss", _through_numpy(framework), capsys, framework=framework
    )
    assert result.status == ERROR and "not connected to P" in out
    result, out = _status_and_output(
        "ch1-ex-masked-loss",
        _penalty_as_constant(framework),
        capsys,
        framework=framework,
    )
    assert result.status == HINT and "gradient misses the penalty" in out


def test_masked_loss_reference_gradient_matches_finite_differences():
    ch01 = instructor("ch01")
    rng = np.random.default_rng(3)
    P, Q, R, M, reg = (
        x.astype(np.float64) if isinstance(x, np.ndarray) else x
        for x in ch01._masked_inputs(rng)
    )
    out = ch01.masked_loss_reference(P, Q, R, M, reg)
    value, grad = out[0], out[1:].reshape(P.shape)
    numeric = np.zeros_like(P)
    for idx in np.ndindex(P.shape):
        step = np.zeros_like(P)
        step[idx] = 1e-6
        plus = ch01.masked_loss_reference(P + step, Q, R, M, reg)[0]
        minus = ch01.masked_loss_reference(P - step, Q, R, M, reg)[0]
        numeric[idx] = (plus - minus) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)
    assert value == pytest.approx(ch01._masked_value(P, Q, R, M, reg))


def test_masked_loss_stub_and_bad_framework(capsys):
    result, _ = _status_and_output(
        "ch1-ex-masked-loss", _stub, capsys, framework="pytorch"
    )
    assert result.status == NOT_ATTEMPTED
    with pytest.raises(ValueError, match="framework must be 'pytorch' or 'tensorflow'"):
        ru.exercises.check("ch1-ex-masked-loss", _masked_pt(), framework="jax")


def test_with_gradient_framework_and_fresh_errors():
    with pytest.raises(
        ValueError, match="framework must be one of pytorch, tensorflow.*'jax'"
    ):
        ru.exercises.with_gradient(lambda P: P, "jax", 0, "P", "loss")
    torch = pytest.importorskip("torch")
    P = torch.ones(2, 2)
    value_and_grad = ru.exercises.with_gradient(
        lambda P: (P**2).sum(), " PyTorch ", 0, "P", "loss"
    )
    np.testing.assert_allclose(value_and_grad(P), [4.0, 2.0, 2.0, 2.0, 2.0])
    detached = ru.exercises.with_gradient(
        lambda P: torch.tensor(float(P.sum())), "pytorch", 0, "P", "loss"
    )
    errors = []
    for _ in range(2):
        with pytest.raises(ValueError, match="not connected to P") as caught:
            detached(P)
        errors.append(caught.value)
    assert errors[0] is not errors[1]  # a fresh error, with its own traceback


def test_every_chapter_1_label_is_registered():
    assert {
        "ch1-ex-observed-loss",
        "ch1-ex-weights",
        "ch1-ex-confidence",
        "ch1-ex-masked-loss",
    } <= set(ru.exercises.labels())
