"""The twins recsys_utils.torch and recsys_utils.tf: same API, batches and numbers."""

import functools
import inspect
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_utils import evaluate_topk, minibatch_indices
from recsys_utils import tf as rtf  # a broken install fails here, it does not skip
from recsys_utils import torch as rt


def _params(obj):
    return [
        (p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()
    ]


def test_same_public_names_and_signatures():
    assert rt.__all__ == rtf.__all__
    for name in rt.__all__:
        a, b = getattr(rt, name), getattr(rtf, name)
        assert _params(a) == _params(b), name
        assert bool(a.__doc__) and bool(b.__doc__), name


@pytest.mark.parametrize(
    "module, other",
    [("recsys_utils.torch", "tensorflow"), ("recsys_utils.tf", "torch")],
)
def test_each_twin_imports_only_its_framework(module, other):
    code = (
        f"import {module}, sys; assert {other!r} not in sys.modules, 'imported {other}'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (
        "oneDNN" not in proc.stderr and "cuda" not in proc.stderr.lower()
    )  # no start-up banner


def test_minibatch_indices():
    batches = minibatch_indices(10, 4, shuffle=True, seed=1, epoch=2)
    assert [len(b) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(10))
    np.testing.assert_array_equal(
        np.concatenate(batches), np.random.default_rng([1, 2]).permutation(10)
    )
    again = minibatch_indices(10, 4, shuffle=True, seed=1, epoch=2)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    other = minibatch_indices(10, 4, shuffle=True, seed=1, epoch=3)
    assert not np.array_equal(np.concatenate(other), np.concatenate(batches))
    np.testing.assert_array_equal(
        np.concatenate(minibatch_indices(5, 2, shuffle=False)), np.arange(5)
    )
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        minibatch_indices(10, 0)


def test_to_tensor_dtypes_and_round_trip():
    x = np.array([[1.5, 2.0]])
    for mod in (rt, rtf):
        t = mod.to_tensor(x)
        assert mod.to_numpy(t).dtype == np.float32
        assert (
            mod.to_numpy(mod.to_tensor(np.array([1, 2], dtype=np.int32))).dtype
            == np.int64
        )
        assert mod.to_numpy(mod.to_tensor(x, dtype="float64")).dtype == np.float64
        np.testing.assert_array_equal(mod.to_numpy(t), x.astype(np.float32))


def test_batches_identical_across_frameworks():
    users, ratings = np.arange(11), np.linspace(0, 1, 11)
    pt = list(rt.batches([users, ratings], 4, seed=5, epoch=1))
    tf_ = list(rtf.batches([users, ratings], 4, seed=5, epoch=1))
    assert len(pt) == len(tf_) == 3
    for (u1, r1), (u2, r2) in zip(pt, tf_):
        np.testing.assert_array_equal(rt.to_numpy(u1), rtf.to_numpy(u2))
        np.testing.assert_allclose(rt.to_numpy(r1), rtf.to_numpy(r2))


def test_train_same_history_in_both_twins():
    # a framework-free "step" that records the batches: loss = mean of the batch
    x = np.arange(10, dtype=float)
    seen = {"pt": [], "tf": []}

    def step(key, mod):
        def model_step(xb):
            seen[key].append(mod.to_numpy(xb))
            return float(mod.to_numpy(xb).mean())

        return model_step

    h_pt = rt.train(
        step("pt", rt),
        [x],
        num_epochs=2,
        batch_size=4,
        seed=0,
        valid_fn=lambda epoch: {"recall@10": epoch / 10},
        progress=False,
    )
    h_tf = rtf.train(
        step("tf", rtf),
        [x],
        num_epochs=2,
        batch_size=4,
        seed=0,
        valid_fn=lambda epoch: {"recall@10": epoch / 10},
        progress=False,
    )
    assert h_pt.batch_loss == h_tf.batch_loss and len(h_pt.batch_loss) == 6
    assert h_pt.loss == h_tf.loss
    # each epoch visits every example once: the mean of the batch means, by hand
    first = [b for b in seen["pt"][:3]]
    assert h_pt.loss[0] == pytest.approx(np.mean([b.mean() for b in first]))
    assert h_pt.valid == [{"recall@10": 0.0}, {"recall@10": 0.1}]


def test_train_a_real_model_in_each_framework():
    # fit y = 2 x with one weight and plain SGD in both frameworks from the same start
    import tensorflow as tf
    import torch

    x = np.linspace(-1, 1, 32)
    y = 2 * x
    w_pt = torch.zeros(1, requires_grad=True)
    opt_pt = torch.optim.SGD([w_pt], lr=0.5)

    def step_pt(xb, yb):
        opt_pt.zero_grad()
        loss = ((w_pt * xb - yb) ** 2).mean()
        loss.backward()
        opt_pt.step()
        return loss

    w_tf = tf.Variable([0.0])
    opt_tf = tf.keras.optimizers.SGD(learning_rate=0.5)

    def step_tf(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((w_tf * xb - yb) ** 2)
        opt_tf.apply_gradients([(tape.gradient(loss, w_tf), w_tf)])
        return loss

    h_pt = rt.train(step_pt, [x, y], num_epochs=5, batch_size=8, progress=False)
    h_tf = rtf.train(step_tf, [x, y], num_epochs=5, batch_size=8, progress=False)
    np.testing.assert_allclose(h_pt.batch_loss, h_tf.batch_loss, rtol=1e-5, atol=1e-7)
    assert h_pt.loss[-1] < 1e-3 * h_pt.loss[0]


def test_scores_for_users_matches_numpy_and_plugs_into_evaluate():
    rng = np.random.default_rng(0)
    U, V = rng.normal(size=(6, 3)), rng.normal(size=(9, 3))
    users = np.array([4, 0, 5])
    want = U[users] @ V.T
    for mod in (rt, rtf):
        got = mod.scores_for_users(
            mod.to_tensor(U), mod.to_tensor(V), users, batch_size=2
        )
        assert got.shape == (3, 9)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    train = sp.csr_matrix((rng.random((6, 9)) < 0.3).astype(float))
    test = sp.csr_matrix(
        ((rng.random((6, 9)) < 0.3) & (train.toarray() == 0)).astype(float)
    )
    a = evaluate_topk(functools.partial(rt.scores_for_users, U, V), train, test, k=3)
    b = evaluate_topk(functools.partial(rtf.scores_for_users, U, V), train, test, k=3)
    c = evaluate_topk(U @ V.T, train, test, k=3)
    np.testing.assert_array_equal(a.topk, c.topk)
    np.testing.assert_array_equal(b.topk, c.topk)
    with pytest.raises(ValueError, match="same embedding_dim"):
        rt.scores_for_users(U, V[:, :2], users)


def test_progress_bar_and_scalar_loss(capsys):
    x = np.arange(6, dtype=float)
    h = rt.train(
        lambda xb: xb.sum(), [x], num_epochs=1, batch_size=3, desc="mf", progress=True
    )
    err = capsys.readouterr().err
    assert "mf" in err and "loss=" in err and "epoch=1/1" in err
    assert h.loss == [pytest.approx(7.5)]  # batch sums add to 15 over 2 batches
    with pytest.raises(ValueError, match="model_step must return a scalar loss"):
        rtf.train(lambda xb: xb, [x], num_epochs=1, batch_size=3, progress=False)
    with pytest.raises(ValueError, match="arrays must all have the same length"):
        rt.train(
            lambda a, b: 0.0, [x, x[:2]], num_epochs=1, batch_size=3, progress=False
        )
    with pytest.raises(ValueError, match="num_epochs must be a positive int"):
        rt.train(lambda a: 0.0, [x], num_epochs=0, batch_size=3, progress=False)


def test_check_score_args_rejects_bad_shapes_and_ids():
    from recsys_utils.batching import check_score_args

    np.testing.assert_array_equal(check_score_args((3, 2), (5, 2), [[0], [2]]), [0, 2])
    with pytest.raises(ValueError, match="embedding_dim"):
        check_score_args((3, 2), (5, 4), [0])
    with pytest.raises(ValueError, match="user_ids must lie in"):
        check_score_args((3, 2), (5, 2), [3])
