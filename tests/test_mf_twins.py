"""The biased MF model and its trainer in both twins: same predictions, same steps."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_utils.mf import init_factors, mf_objective

rt = pytest.importorskip("recsys_utils.torch")
rtf = pytest.importorskip("recsys_utils.tf")

NUM_USERS, NUM_ITEMS, DIM, MU = 9, 6, 3, 3.5


def _tiny_data(n=40, seed=1):
    rng = np.random.default_rng(seed)
    pairs = rng.choice(NUM_USERS * NUM_ITEMS, size=n, replace=False)
    users, items = pairs // NUM_ITEMS, pairs % NUM_ITEMS
    ratings = rng.integers(1, 6, size=n).astype(np.float32)
    return users.astype(np.int64), items.astype(np.int64), ratings


def _init(seed=0):
    init = init_factors(NUM_USERS, NUM_ITEMS, DIM, scale=0.3, seed=seed)
    init["user_bias"] = np.linspace(-0.5, 0.5, NUM_USERS).astype(np.float32)
    init["item_bias"] = np.linspace(0.3, -0.3, NUM_ITEMS).astype(np.float32)
    return init


def test_same_predictions_from_same_init():
    init = _init()
    users, items, _ = _tiny_data()
    want = (
        MU
        + init["user_bias"][users]
        + init["item_bias"][items]
        + (init["P"][users] * init["Q"][items]).sum(1)
    )
    m_pt = rt.MF(NUM_USERS, NUM_ITEMS, DIM, global_mean=MU, init=init)
    m_tf = rtf.MF(NUM_USERS, NUM_ITEMS, DIM, global_mean=MU, init=init)
    got_pt = rt.to_numpy(m_pt(rt.to_tensor(users), rt.to_tensor(items)))
    got_tf = rtf.to_numpy(m_tf(rtf.to_tensor(users), rtf.to_tensor(items)))
    np.testing.assert_allclose(got_pt, got_tf, atol=1e-6)
    np.testing.assert_allclose(got_pt, want, atol=1e-5)
    for mod, m in ((rt, m_pt), (rtf, m_tf)):
        w = m.get_weights_numpy()
        assert set(w) == {"P", "Q", "user_bias", "item_bias"}
        for key in w:
            np.testing.assert_array_equal(w[key], init[key])


def test_bad_init_shape_raises():
    init = _init()
    init["P"] = init["P"][:, :2]
    for mod in (rt, rtf):
        with pytest.raises(ValueError, match="init\\['P'\\]"):
            mod.MF(NUM_USERS, NUM_ITEMS, DIM, init=init)


def _numpy_sgd_step(init, users, items, ratings, wu, wi, reg, lr):
    """One SGD step on mf_loss, gradient worked out by hand."""
    P, Q = init["P"].astype(np.float64), init["Q"].astype(np.float64)
    bu, bi = init["user_bias"].astype(np.float64), init["item_bias"].astype(np.float64)
    B = len(users)
    err = ratings - (MU + bu[users] + bi[items] + (P[users] * Q[items]).sum(1))
    gP, gQ, gbu, gbi = (
        np.zeros_like(P),
        np.zeros_like(Q),
        np.zeros_like(bu),
        np.zeros_like(bi),
    )
    # d/dp_u of 1/2 (r - r_hat)^2 = -err q_i ; of reg w_u ||p_u||^2 = 2 reg w_u p_u
    np.add.at(
        gP, users, (-err[:, None] * Q[items] + 2 * reg * wu[:, None] * P[users]) / B
    )
    np.add.at(
        gQ, items, (-err[:, None] * P[users] + 2 * reg * wi[:, None] * Q[items]) / B
    )
    np.add.at(gbu, users, (-err + 2 * reg * wu * bu[users]) / B)
    np.add.at(gbi, items, (-err + 2 * reg * wi * bi[items]) / B)
    return {
        "P": P - lr * gP,
        "Q": Q - lr * gQ,
        "user_bias": bu - lr * gbu,
        "item_bias": bi - lr * gbi,
    }


def test_one_sgd_step_matches_numpy_gradient():
    init = _init()
    users, items, ratings = _tiny_data()
    reg, lr = 0.2, 0.5
    # one full batch: one step
    wu = 1.0 / np.bincount(users)[users]
    wi = 1.0 / np.bincount(items)[items]
    want = _numpy_sgd_step(
        init, users, items, ratings.astype(np.float64), wu, wi, reg, lr
    )
    for mod in (rt, rtf):
        m = mod.MF(NUM_USERS, NUM_ITEMS, DIM, global_mean=MU, init=init)
        mod.train_mf(
            m,
            users,
            items,
            ratings,
            reg=reg,
            lr=lr,
            num_epochs=1,
            batch_size=len(users),
            optimizer="sgd",
            progress=False,
        )
        got = m.get_weights_numpy()
        for key in want:
            np.testing.assert_allclose(
                got[key], want[key], atol=1e-5, err_msg=f"{mod.FRAMEWORK} {key}"
            )


def test_epoch_of_batch_losses_is_the_full_objective():
    # at lr=0 the weights stay put, so N * mean batch loss = mf_objective (equal-size batches)
    init = _init()
    users, items, ratings = _tiny_data()
    reg = 0.3
    train = sp.csr_matrix((ratings, (users, items)), shape=(NUM_USERS, NUM_ITEMS))
    # users/items without ratings have zero weight in the batches: zero them for the objective
    P, Q = init["P"].copy(), init["Q"].copy()
    bu, bi = init["user_bias"].copy(), init["item_bias"].copy()
    P[np.bincount(users, minlength=NUM_USERS) == 0] = 0
    bu[np.bincount(users, minlength=NUM_USERS) == 0] = 0
    Q[np.bincount(items, minlength=NUM_ITEMS) == 0] = 0
    bi[np.bincount(items, minlength=NUM_ITEMS) == 0] = 0
    want = mf_objective(
        train, P, Q, reg=reg, global_mean=MU, user_bias=bu, item_bias=bi
    )
    for mod in (rt, rtf):
        m = mod.MF(NUM_USERS, NUM_ITEMS, DIM, global_mean=MU, init=init)
        h = mod.train_mf(
            m,
            users,
            items,
            ratings,
            reg=reg,
            lr=0.0,
            num_epochs=1,
            batch_size=8,
            progress=False,
        )
        assert len(users) * h.loss[0] == pytest.approx(want, rel=1e-5)


# SGD: float32 rounding only. Adam: Keras adds epsilon to sqrt(v) before the bias
# correction, PyTorch after it, so small gradients take slightly different steps.
@pytest.mark.parametrize(
    "optimizer, lr, rtol", [("sgd", 0.5, 1e-4), ("adam", 0.05, 2e-3)]
)
def test_train_mf_parity_and_loss_decreases(optimizer, lr, rtol):
    users, items, ratings = _tiny_data()
    init = _init()
    hist = {}
    for mod in (rt, rtf):
        m = mod.MF(NUM_USERS, NUM_ITEMS, DIM, global_mean=MU, init=init)
        hist[mod.FRAMEWORK] = mod.train_mf(
            m,
            users,
            items,
            ratings,
            reg=0.1,
            lr=lr,
            num_epochs=2,
            batch_size=8,
            seed=3,
            optimizer=optimizer,
            progress=False,
        )
    h_pt, h_tf = hist["pytorch"], hist["tensorflow"]
    assert len(h_pt.batch_loss) == len(h_tf.batch_loss) == 10
    np.testing.assert_allclose(h_pt.batch_loss, h_tf.batch_loss, rtol=rtol)
    np.testing.assert_allclose(h_pt.loss, h_tf.loss, rtol=rtol)
    assert h_pt.loss[1] < h_pt.loss[0]
    # and over a longer run it keeps going down
    m = rt.MF(NUM_USERS, NUM_ITEMS, DIM, global_mean=MU, init=init)
    h = rt.train_mf(
        m,
        users,
        items,
        ratings,
        reg=0.1,
        lr=lr,
        num_epochs=20,
        batch_size=8,
        optimizer=optimizer,
        progress=False,
    )
    assert h.loss[-1] < 0.5 * h.loss[0]


def test_custom_loss_fn_and_bad_optimizer():
    users, items, ratings = _tiny_data()
    calls = []

    def my_loss(model, u, i, r, wu, wi, *, reg):
        calls.append(reg)
        return rt.mf_loss(model, u, i, r, wu, wi, reg=reg)

    m = rt.MF(NUM_USERS, NUM_ITEMS, DIM, init=_init())
    rt.train_mf(
        m,
        users,
        items,
        ratings,
        reg=0.25,
        lr=0.1,
        num_epochs=1,
        batch_size=20,
        loss_fn=my_loss,
        progress=False,
    )
    assert calls == [0.25, 0.25]
    for mod in (rt, rtf):
        with pytest.raises(ValueError, match="optimizer must be"):
            mod.train_mf(
                mod.MF(NUM_USERS, NUM_ITEMS, DIM),
                users,
                items,
                ratings,
                reg=0.1,
                lr=0.1,
                num_epochs=1,
                batch_size=8,
                optimizer="rmsprop",
            )
