"""Biased MF trained with the twins' infrastructure: same predictions, same steps, the
objective of recsys_utils.mf.

Chapter 1 writes its model in its own cells (``BiasedMFPT`` / ``BiasedMFTF``); the
twins keep only the infrastructure (``embedding``, ``train``, ``batches``). These tests
define the same small model here, in each framework, and check what the chapter relies
on: both frameworks predict the same from the same NumPy weights, one SGD step through
``train`` is the gradient worked out by hand, an epoch of 1/n-weighted batch losses adds
up to ``mf_objective``, the two twins' Adam runs agree, and Adam reaches the objective
value that ALS (``recsys_utils.mf.ALSMF``) reaches.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_utils.mf import ALSMF, init_factors, mf_objective, occurrence_weights

rt = pytest.importorskip("recsys_utils.torch")
rtf = pytest.importorskip("recsys_utils.tf")
torch = pytest.importorskip("torch")
tf = rtf.tf
keras = rtf.keras

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


class TinyMFTorch(torch.nn.Module):
    """mu + b_u + b_i + p_u . q_i from NumPy weights (the chapter's BiasedMFPT)."""

    def __init__(self, w, mu):
        super().__init__()
        self.P, self.Q = rt.embedding(w["P"]), rt.embedding(w["Q"])
        self.bu = rt.embedding(w["user_bias"][:, None])
        self.bi = rt.embedding(w["item_bias"][:, None])
        self.mu = mu

    def forward(self, u, i):
        return (
            self.mu
            + self.bu(u)[:, 0]
            + self.bi(i)[:, 0]
            + (self.P(u) * self.Q(i)).sum(-1)
        )

    def loss(self, u, i, r, wu, wi, reg):
        err = r - self(u, i)
        pen = wu * ((self.P(u) ** 2).sum(-1) + self.bu(u)[:, 0] ** 2) + wi * (
            (self.Q(i) ** 2).sum(-1) + self.bi(i)[:, 0] ** 2
        )
        return (0.5 * (err**2).sum() + reg * pen.sum()) / err.shape[0]

    def weights(self):
        return {
            "P": rt.to_numpy(self.P.weight),
            "Q": rt.to_numpy(self.Q.weight),
            "user_bias": rt.to_numpy(self.bu.weight)[:, 0],
            "item_bias": rt.to_numpy(self.bi.weight)[:, 0],
        }


class TinyMFKeras(keras.Model):
    """The Keras twin of TinyMFTorch (the chapter's BiasedMFTF)."""

    def __init__(self, w, mu):
        super().__init__()
        self.P, self.Q = rtf.embedding(w["P"]), rtf.embedding(w["Q"])
        self.bu = rtf.embedding(w["user_bias"][:, None])
        self.bi = rtf.embedding(w["item_bias"][:, None])
        self.mu = mu

    def call(self, u, i):
        return (
            self.mu
            + self.bu(u)[:, 0]
            + self.bi(i)[:, 0]
            + tf.reduce_sum(self.P(u) * self.Q(i), -1)
        )

    def loss_value(self, u, i, r, wu, wi, reg):
        err = r - self(u, i)
        pen = wu * (tf.reduce_sum(self.P(u) ** 2, -1) + self.bu(u)[:, 0] ** 2) + wi * (
            tf.reduce_sum(self.Q(i) ** 2, -1) + self.bi(i)[:, 0] ** 2
        )
        batch = tf.cast(tf.shape(err)[0], err.dtype)
        return (0.5 * tf.reduce_sum(err**2) + reg * tf.reduce_sum(pen)) / batch

    def weights(self):
        return {
            "P": rtf.to_numpy(self.P.embeddings),
            "Q": rtf.to_numpy(self.Q.embeddings),
            "user_bias": rtf.to_numpy(self.bu.embeddings)[:, 0],
            "item_bias": rtf.to_numpy(self.bi.embeddings)[:, 0],
        }


def _fit(framework, users, items, ratings, *, reg, lr, optimizer, mu=MU, **train_kw):
    """Train the framework's model with its twin's ``train``; (weights, History)."""
    wu, wi = occurrence_weights(users, items)
    arrays = [users, items, ratings, wu, wi]
    if framework == "pytorch":
        model = TinyMFTorch(_init(), mu)
        opt = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(
            model.parameters(), lr=lr
        )

        def step(u, i, r, w_u, w_i):
            opt.zero_grad()
            loss = model.loss(u, i, r, w_u, w_i, reg)
            loss.backward()
            opt.step()
            return loss

        history = rt.train(step, arrays, progress=False, **train_kw)
    else:
        model = TinyMFKeras(_init(), mu)
        opt = (
            keras.optimizers.SGD(learning_rate=lr)
            if optimizer == "sgd"
            else keras.optimizers.Adam(learning_rate=lr, epsilon=1e-8)
        )
        variables = model.trainable_variables

        @tf.function(reduce_retracing=True)
        def step(u, i, r, w_u, w_i):
            with tf.GradientTape() as tape:
                loss = model.loss_value(u, i, r, w_u, w_i, reg)
            grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]
            opt.apply_gradients(zip(grads, variables))
            return loss

        history = rtf.train(step, arrays, progress=False, **train_kw)
    return model.weights(), history


def test_same_predictions_from_same_init():
    init = _init()
    users, items, _ = _tiny_data()
    want = (
        MU
        + init["user_bias"][users]
        + init["item_bias"][items]
        + (init["P"][users] * init["Q"][items]).sum(1)
    )
    m_pt, m_tf = TinyMFTorch(init, MU), TinyMFKeras(init, MU)
    got_pt = rt.to_numpy(m_pt(rt.to_tensor(users), rt.to_tensor(items)))
    got_tf = rtf.to_numpy(m_tf(rtf.to_tensor(users), rtf.to_tensor(items)))
    np.testing.assert_allclose(got_pt, got_tf, atol=1e-6)
    np.testing.assert_allclose(got_pt, want, atol=1e-5)
    for m in (m_pt, m_tf):
        for key, value in m.weights().items():
            np.testing.assert_array_equal(value, init[key])


def _numpy_sgd_step(init, users, items, ratings, wu, wi, reg, lr):
    """One SGD step on the 1/n-weighted batch loss, gradient worked out by hand."""
    P, Q = init["P"].astype(np.float64), init["Q"].astype(np.float64)
    bu, bi = init["user_bias"].astype(np.float64), init["item_bias"].astype(np.float64)
    B = len(users)
    err = ratings - (MU + bu[users] + bi[items] + (P[users] * Q[items]).sum(1))
    gP, gQ, gbu, gbi = (np.zeros_like(a) for a in (P, Q, bu, bi))
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


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_one_sgd_step_through_train_is_the_hand_gradient(framework):
    users, items, ratings = _tiny_data()
    reg, lr = 0.2, 0.5
    wu = 1.0 / np.bincount(users)[users]
    wi = 1.0 / np.bincount(items)[items]
    want = _numpy_sgd_step(
        _init(), users, items, ratings.astype(np.float64), wu, wi, reg, lr
    )
    got, history = _fit(
        framework,
        users,
        items,
        ratings,
        reg=reg,
        lr=lr,
        optimizer="sgd",
        num_epochs=1,
        batch_size=len(users),  # one full batch: one step
    )
    assert len(history.batch_loss) == 1
    for key in want:
        np.testing.assert_allclose(got[key], want[key], atol=1e-5, err_msg=key)


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_epoch_of_weighted_batch_losses_is_the_full_objective(framework):
    # at lr=0 the weights stay put, so N * mean batch loss = mf_objective (batches of 8)
    init = _init()
    users, items, ratings = _tiny_data()
    reg = 0.3
    train = sp.csr_matrix((ratings, (users, items)), shape=(NUM_USERS, NUM_ITEMS))
    # rows without ratings are never penalized in a batch: zero them for the objective
    P, Q = init["P"].copy(), init["Q"].copy()
    bu, bi = init["user_bias"].copy(), init["item_bias"].copy()
    P[np.bincount(users, minlength=NUM_USERS) == 0] = 0
    bu[np.bincount(users, minlength=NUM_USERS) == 0] = 0
    Q[np.bincount(items, minlength=NUM_ITEMS) == 0] = 0
    bi[np.bincount(items, minlength=NUM_ITEMS) == 0] = 0
    want = mf_objective(
        train, P, Q, reg=reg, global_mean=MU, user_bias=bu, item_bias=bi
    )
    _, history = _fit(
        framework,
        users,
        items,
        ratings,
        reg=reg,
        lr=0.0,
        optimizer="sgd",
        num_epochs=1,
        batch_size=8,
    )
    assert len(history.batch_loss) == 5
    assert len(users) * history.loss[0] == pytest.approx(want, rel=1e-5)


# SGD: float32 rounding only. Adam: Keras adds epsilon to sqrt(v) before the bias
# correction, PyTorch after it, so small gradients take slightly different steps.
@pytest.mark.parametrize(
    "optimizer, lr, rtol", [("sgd", 0.5, 1e-4), ("adam", 0.05, 2e-3)]
)
def test_twins_train_in_step_and_the_loss_falls(optimizer, lr, rtol):
    users, items, ratings = _tiny_data()
    runs = {
        fw: _fit(
            fw,
            users,
            items,
            ratings,
            reg=0.1,
            lr=lr,
            optimizer=optimizer,
            num_epochs=2,
            batch_size=8,
            seed=3,
        )
        for fw in ("pytorch", "tensorflow")
    }
    (w_pt, h_pt), (w_tf, h_tf) = runs["pytorch"], runs["tensorflow"]
    assert len(h_pt.batch_loss) == len(h_tf.batch_loss) == 10
    np.testing.assert_allclose(h_pt.batch_loss, h_tf.batch_loss, rtol=rtol)
    np.testing.assert_allclose(h_pt.loss, h_tf.loss, rtol=rtol)
    for key in w_pt:
        np.testing.assert_allclose(w_pt[key], w_tf[key], atol=50 * rtol, err_msg=key)
    assert h_pt.loss[1] < h_pt.loss[0]


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_adam_reaches_the_als_objective(framework):
    # a small, well-regularized problem: ALS's optimum is the yardstick the chapter uses
    rng = np.random.default_rng(4)
    users = np.repeat(np.arange(NUM_USERS), NUM_ITEMS)
    items = np.tile(np.arange(NUM_ITEMS), NUM_USERS)
    keep = rng.random(users.size) < 0.7
    users, items = users[keep], items[keep]
    ratings = rng.integers(1, 6, users.size).astype(np.float32)
    train = sp.csr_matrix((ratings, (users, items)), shape=(NUM_USERS, NUM_ITEMS))
    reg = 1.0
    als = ALSMF(embedding_dim=DIM, reg=reg, num_iters=200, seed=0).fit(train)
    mu = float(ratings.mean())  # ALS's fixed offset: the training mean
    weights, _ = _fit(
        framework,
        users,
        items,
        ratings,
        reg=reg,
        lr=0.1,
        optimizer="adam",
        mu=mu,
        num_epochs=300,
        batch_size=users.size,  # full batch: Adam on the objective itself
    )
    got = mf_objective(
        train,
        weights["P"],
        weights["Q"],
        reg=reg,
        global_mean=mu,
        user_bias=weights["user_bias"],
        item_bias=weights["item_bias"],
    )
    init = _init()
    start = mf_objective(
        train,
        init["P"],
        init["Q"],
        reg=reg,
        global_mean=mu,
        user_bias=init["user_bias"],
        item_bias=init["item_bias"],
    )
    assert got < 0.8 * start  # training moved far from the start ...
    assert got == pytest.approx(als.objective_[-1], rel=1e-3)  # ... to ALS's optimum
