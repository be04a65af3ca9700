"""Matrix factorization in NumPy: the reference the PyTorch and TensorFlow models meet.

Taught in chapter 1 ("A reference optimum"): alternating least squares solves the
same regularized objective as the mini-batch models, one closed-form ridge regression
per user and per item, so its objective value is the yardstick for the optimizers.
Later chapters use :class:`ALSMF` and :class:`ImplicitALS` as baselines.

The explicit-feedback objective (observed entries only, biases regularized too):

    L = 1/2 * sum_{(u,i) observed} (r_ui - mu - b_u - b_i - p_u . q_i)^2
        + reg * (||P||^2 + ||Q||^2 + ||b_user||^2 + ||b_item||^2)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .validation import as_ids, check_bool, check_finite, check_int, check_number

__all__ = [
    "init_factors",
    "mf_objective",
    "occurrence_weights",
    "predict_ratings",
    "implicit_user_matrix",
    "bounded_offset",
    "ALSMF",
    "ImplicitALS",
    "BayesianMF",
]


def _check_csr(train, name: str = "train") -> sp.csr_matrix:
    if not sp.issparse(train):
        raise ValueError(
            f"{name} must be a scipy.sparse matrix (users x items); got "
            f"{type(train).__name__}"
        )
    train = sp.csr_matrix(train, dtype=np.float64)
    if train.nnz == 0:
        raise ValueError(f"{name} has no observed entries")
    if not np.isfinite(train.data).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return train


def _check_fitted(model, attr: str) -> None:
    if not hasattr(model, attr):
        raise ValueError(f"{type(model).__name__} is not fitted: call fit(train) first")


def init_factors(
    num_users: int,
    num_items: int,
    embedding_dim: int,
    *,
    scale: float = 0.1,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Initial weights of a biased MF model, shared by NumPy, PyTorch and TensorFlow.

    Both frameworks start from these arrays so that their training curves can be
    compared step by step.

    Args:
        num_users: rows of P.
        num_items: rows of Q.
        embedding_dim: columns of P and Q.
        scale: standard deviation of the normal initialization of P and Q.
        seed: seed of the generator.

    Returns:
        Dict with float32 arrays ``P`` (num_users, embedding_dim), ``Q`` (num_items,
        embedding_dim), ``user_bias`` (num_users,), ``item_bias`` (num_items,) (zeros).
    """
    for name, value in (
        ("num_users", num_users),
        ("num_items", num_items),
        ("embedding_dim", embedding_dim),
    ):
        check_int(value, name, low=1)
    check_number(scale, "scale", low=0)
    check_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    return {
        "P": (scale * rng.standard_normal((num_users, embedding_dim))).astype(
            np.float32
        ),
        "Q": (scale * rng.standard_normal((num_items, embedding_dim))).astype(
            np.float32
        ),
        "user_bias": np.zeros(num_users, dtype=np.float32),
        "item_bias": np.zeros(num_items, dtype=np.float32),
    }


def occurrence_weights(user_ids, item_ids) -> tuple[np.ndarray, np.ndarray]:
    """Per-rating weights 1 / (number of ratings of its user), 1 / (... of its item).

    Taught in chapter 1, section "Regularization done right with mini-batches": when
    each batch penalises the rows it touches with these weights, one epoch adds up to
    the full objective's ``reg * (||P||^2 + ||Q||^2 + ...)``, whatever the batch size,
    so the mini-batch models and ALS minimise the same function.

    Args:
        user_ids, item_ids: 1-D int arrays of the same length, the observed pairs.

    Returns:
        ``(user_weight, item_weight)``, float32 arrays of that length.

    Raises:
        ValueError: when the arrays are not 1-D of the same length, or hold ids that
            are not non-negative whole numbers.
    """
    user_ids = as_ids(user_ids, "user_ids")
    item_ids = as_ids(item_ids, "item_ids")
    if user_ids.shape != item_ids.shape:
        raise ValueError(
            f"user_ids and item_ids must be 1-D of the same length; got "
            f"{user_ids.shape} and {item_ids.shape}"
        )
    nu, ni = np.bincount(user_ids), np.bincount(item_ids)
    return (1.0 / nu[user_ids]).astype(np.float32), (1.0 / ni[item_ids]).astype(
        np.float32
    )


def mf_objective(
    train: sp.spmatrix,
    P: np.ndarray,
    Q: np.ndarray,
    *,
    reg: float,
    global_mean: float = 0.0,
    user_bias: np.ndarray | None = None,
    item_bias: np.ndarray | None = None,
) -> float:
    """The full regularized objective L above, on the observed entries of ``train``.

    Args:
        train: users x items sparse matrix of observed ratings.
        P, Q: user and item factors.
        reg: the L2 strength lambda.
        global_mean: mu (0 for the bias-free model).
        user_bias, item_bias: b_u and b_i, or None for the bias-free model.

    Returns:
        The objective value (a Python float).

    Raises:
        ValueError: ``P`` or ``Q`` (or a bias) whose shape does not match ``train``,
            a non-finite value, or a ``reg`` that is not a finite number >= 0.
    """
    train = _check_csr(train)
    check_number(reg, "reg", low=0)
    check_number(global_mean, "global_mean")
    P, Q = check_finite(P, "P"), check_finite(Q, "Q")
    num_users, num_items = train.shape
    if P.ndim != 2 or Q.ndim != 2 or P.shape[1] != Q.shape[1]:
        raise ValueError(
            "P and Q must be 2-D with the same number of columns; got shapes "
            f"{P.shape} and {Q.shape}"
        )
    for name, arr, rows in (("P", P, num_users), ("Q", Q, num_items)):
        if arr.shape[0] != rows:
            raise ValueError(
                f"{name} must have {rows} rows (train is {num_users} x {num_items}); "
                f"got shape {arr.shape}"
            )
    for name, arr, rows in (
        ("user_bias", user_bias, num_users),
        ("item_bias", item_bias, num_items),
    ):
        if arr is not None and check_finite(arr, name).shape != (rows,):
            raise ValueError(f"{name} must have shape ({rows},); got {np.shape(arr)}")
    coo = train.tocoo()
    pred = (
        np.einsum(
            "nd,nd->n", P[coo.row].astype(np.float64), Q[coo.col].astype(np.float64)
        )
        + global_mean
    )
    penalty = (P.astype(np.float64) ** 2).sum() + (Q.astype(np.float64) ** 2).sum()
    if user_bias is not None:
        pred = pred + user_bias[coo.row]
        penalty += (user_bias.astype(np.float64) ** 2).sum()
    if item_bias is not None:
        pred = pred + item_bias[coo.col]
        penalty += (item_bias.astype(np.float64) ** 2).sum()
    return float(0.5 * ((coo.data - pred) ** 2).sum() + reg * penalty)


def _ridge_rows(
    target: sp.csr_matrix,
    other: np.ndarray,
    offset_rows: np.ndarray,
    offset_cols: np.ndarray,
    ridge: float,
    with_bias: bool,
) -> np.ndarray:
    """Solve one ridge regression per row of ``target`` against the rows of ``other``.

    For row a with observed columns J_a: [x_a, c_a] = argmin sum_j (t_aj - o_a - o_j -
    [other_j, 1] . [x, c])^2 / 2 + ridge/2 * (||x||^2 + c^2). Returns (rows, d (+1)).
    """
    d = other.shape[1]
    width = d + 1 if with_bias else d
    out = np.zeros((target.shape[0], width))
    eye = ridge * np.eye(width)
    for a in range(target.shape[0]):
        lo, hi = target.indptr[a], target.indptr[a + 1]
        if lo == hi:
            continue  # no observations: the ridge solution is 0
        cols = target.indices[lo:hi]
        y = target.data[lo:hi] - offset_rows[a] - offset_cols[cols]
        X = other[cols]
        if with_bias:
            X = np.hstack([X, np.ones((len(cols), 1))])
        out[a] = np.linalg.solve(X.T @ X + eye, X.T @ y)
    return out


class ALSMF:
    """Biased matrix factorization fitted by alternating least squares (ratings).

    Each sweep solves, in closed form, the ridge regression of every user's ratings on
    the item factors, then of every item's ratings on the user factors. Each step can
    only lower the objective, so ``objective_`` is non-increasing.

    Args:
        embedding_dim: number of latent factors d.
        reg: lambda of the objective (the ridge of each solve is 2 * reg).
        num_iters: alternating sweeps.
        use_bias: fit mu + b_u + b_i as well (mu is the training mean, not regularized).
        scale: initialization scale (see :func:`init_factors`).
        seed: initialization seed.
    """

    def __init__(
        self,
        embedding_dim: int = 32,
        reg: float = 0.1,
        num_iters: int = 10,
        use_bias: bool = True,
        scale: float = 0.1,
        seed: int = 0,
    ):
        check_int(embedding_dim, "embedding_dim", low=1)
        check_int(num_iters, "num_iters", low=1)
        check_number(reg, "reg", low=0)
        check_number(scale, "scale", low=0)
        check_bool(use_bias, "use_bias")
        check_int(seed, "seed", low=0)
        self.embedding_dim, self.reg, self.num_iters = embedding_dim, reg, num_iters
        self.use_bias, self.scale, self.seed = use_bias, scale, seed

    def fit(self, train: sp.spmatrix) -> ALSMF:
        """Fit on a users x items sparse matrix of observed ratings.

        Args:
            train: ``scipy.sparse`` matrix; stored entries are the observed ratings.

        Returns:
            self, with ``P_``, ``Q_``, ``user_bias_``, ``item_bias_``,
            ``global_mean_`` and ``objective_`` (objective after each sweep, starting
            with the initial value).
        """
        train = _check_csr(train)
        num_users, num_items = train.shape
        init = init_factors(
            num_users, num_items, self.embedding_dim, scale=self.scale, seed=self.seed
        )
        P, Q = init["P"].astype(np.float64), init["Q"].astype(np.float64)
        bu, bi = np.zeros(num_users), np.zeros(num_items)
        mu = float(train.data.mean()) if self.use_bias else 0.0
        train_t = train.T.tocsr()
        ridge = 2.0 * self.reg
        self.objective_ = [self._objective(train, P, Q, mu, bu, bi)]
        for _ in range(self.num_iters):
            sol = _ridge_rows(
                train, Q, np.zeros(num_users), mu + bi, ridge, self.use_bias
            )
            P = sol[:, : self.embedding_dim]
            if self.use_bias:
                bu = sol[:, -1]
            sol = _ridge_rows(
                train_t, P, np.zeros(num_items), mu + bu, ridge, self.use_bias
            )
            Q = sol[:, : self.embedding_dim]
            if self.use_bias:
                bi = sol[:, -1]
            self.objective_.append(self._objective(train, P, Q, mu, bu, bi))
        self.P_, self.Q_, self.user_bias_, self.item_bias_, self.global_mean_ = (
            P,
            Q,
            bu,
            bi,
            mu,
        )
        return self

    def _objective(self, train, P, Q, mu, bu, bi) -> float:
        if self.use_bias:
            return mf_objective(
                train, P, Q, reg=self.reg, global_mean=mu, user_bias=bu, item_bias=bi
            )
        return mf_objective(train, P, Q, reg=self.reg)

    def predict(self, user_ids, item_ids) -> np.ndarray:
        """Predicted ratings for paired (user, item) ids.

        Args:
            user_ids, item_ids: integer arrays of the same length.

        Returns:
            float array of predictions mu + b_u + b_i + p_u . q_i.
        """
        _check_fitted(self, "P_")
        user_ids = as_ids(user_ids, "user_ids", self.P_.shape[0])
        item_ids = as_ids(item_ids, "item_ids", self.Q_.shape[0])
        if user_ids.shape != item_ids.shape:
            raise ValueError(
                "user_ids and item_ids must have the same shape; got "
                f"{user_ids.shape} and {item_ids.shape}"
            )
        return (
            np.einsum("nd,nd->n", self.P_[user_ids], self.Q_[item_ids])
            + self.global_mean_
            + self.user_bias_[user_ids]
            + self.item_bias_[item_ids]
        )

    def score(self, user_ids) -> np.ndarray:
        """Scores of every item for the given users.

        Args:
            user_ids: user ids (int array-like, or one id).

        Returns:
            float array ``(len(user_ids), num_items)``.
        """
        _check_fitted(self, "P_")
        user_ids = as_ids(user_ids, "user_ids", self.P_.shape[0])
        return (
            self.P_[user_ids] @ self.Q_.T
            + self.global_mean_
            + self.user_bias_[user_ids, None]
            + self.item_bias_[None, :]
        )


class ImplicitALS:
    """Weighted matrix factorization for implicit feedback (Hu, Koren, Volinsky 2008).

    Every (user, item) entry is a target: p_ui = 1 if the user interacted, else 0, with
    confidence c_ui = 1 + alpha * r_ui. The objective

        sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + reg (||X||^2 + ||Y||^2)

    is solved by alternating least squares with the Y^T Y trick, so a sweep costs
    O(nnz d^2 + (m + n) d^3) instead of touching all m x n entries.

    Args:
        embedding_dim: number of factors.
        reg: L2 strength.
        alpha: confidence slope.
        num_iters: alternating sweeps.
        seed: initialization seed.
    """

    def __init__(
        self,
        embedding_dim: int = 32,
        reg: float = 1.0,
        alpha: float = 10.0,
        num_iters: int = 10,
        seed: int = 0,
    ):
        check_int(embedding_dim, "embedding_dim", low=1)
        check_int(num_iters, "num_iters", low=1)
        check_number(reg, "reg", low=0)
        check_number(alpha, "alpha", low=0)
        check_int(seed, "seed", low=0)
        self.embedding_dim, self.reg, self.alpha = embedding_dim, reg, alpha
        self.num_iters, self.seed = num_iters, seed

    @staticmethod
    def _solve(
        counts: sp.csr_matrix, Y: np.ndarray, alpha: float, reg: float
    ) -> np.ndarray:
        YtY = Y.T @ Y
        eye = reg * np.eye(Y.shape[1])
        X = np.zeros((counts.shape[0], Y.shape[1]))
        for a in range(counts.shape[0]):
            lo, hi = counts.indptr[a], counts.indptr[a + 1]
            if lo == hi:
                continue
            cols, r = counts.indices[lo:hi], counts.data[lo:hi]
            Yc = Y[cols]
            conf = alpha * r  # c - 1 on the observed entries
            A = YtY + (Yc.T * conf) @ Yc + eye
            X[a] = np.linalg.solve(A, (Yc.T * (1.0 + conf)).sum(axis=1))
        return X

    def fit(self, train: sp.spmatrix) -> ImplicitALS:
        """Fit on a users x items sparse matrix of interaction counts (or 1s).

        Args:
            train: ``scipy.sparse`` matrix with non-negative entries.

        Returns:
            self, with ``user_factors_`` and ``item_factors_``.
        """
        train = _check_csr(train)
        if (train.data < 0).any():
            raise ValueError("train must hold non-negative interaction strengths")
        init = init_factors(
            *train.shape, self.embedding_dim, scale=0.01, seed=self.seed
        )
        X, Y = init["P"].astype(np.float64), init["Q"].astype(np.float64)
        train_t = train.T.tocsr()
        for _ in range(self.num_iters):
            X = self._solve(train, Y, self.alpha, self.reg)
            Y = self._solve(train_t, X, self.alpha, self.reg)
        self.user_factors_, self.item_factors_ = X, Y
        return self

    def score(self, user_ids) -> np.ndarray:
        """Preference scores of every item.

        Args:
            user_ids: user ids (int array-like, or one id).

        Returns:
            float array ``(len(user_ids), num_items)``.
        """
        _check_fitted(self, "user_factors_")
        users = as_ids(user_ids, "user_ids", self.user_factors_.shape[0])
        return self.user_factors_[users] @ self.item_factors_.T


# ---------------------------------------------------------------------------
# Helpers of chapter 1's sections (NumPy plumbing around the taught models)
# ---------------------------------------------------------------------------


def _pairs(user_ids, item_ids, num_users: int, num_items: int):
    user_ids = as_ids(user_ids, "user_ids", num_users)
    item_ids = as_ids(item_ids, "item_ids", num_items)
    if user_ids.shape != item_ids.shape:
        raise ValueError(
            "user_ids and item_ids must have the same length; got "
            f"{user_ids.shape} and {item_ids.shape}"
        )
    return user_ids, item_ids


def _check_bounds(bounds) -> tuple[float, float]:
    if (
        not isinstance(bounds, (tuple, list))
        or len(bounds) != 2
        or not all(isinstance(b, (int, float, np.number)) for b in bounds)
        or not np.isfinite(bounds).all()
        or not bounds[0] < bounds[1]
    ):
        raise ValueError(f"bounds must be (low, high) with low < high; got {bounds!r}")
    return float(bounds[0]), float(bounds[1])


def bounded_offset(global_mean: float, bounds) -> float:
    """The logit ``t`` with ``low + (high - low) * sigmoid(t) == global_mean``.

    A bounded model (chapter 1, section 1.5) predicts ``low + (high - low) *
    sigmoid(t + b_u + b_i + p_u . q_i)``: with this offset, the model whose weights are
    all zero predicts the mean rating, as the unbounded model does.

    Args:
        global_mean: mu, strictly between ``low`` and ``high``.
        bounds: ``(low, high)``.

    Returns:
        The offset, a float.

    Raises:
        ValueError: bad bounds, or a mean outside them.
    """
    low, high = _check_bounds(bounds)
    check_number(global_mean, "global_mean", low=low, high=high)
    if not low < global_mean < high:
        raise ValueError(
            f"global_mean must lie strictly inside the bounds {bounds}; got "
            f"{global_mean}"
        )
    share = (global_mean - low) / (high - low)
    return float(np.log(share / (1.0 - share)))


def implicit_user_matrix(user_ids, item_ids, num_users: int, num_items: int):
    """The normalized "who rated what" matrix of SVD++'s implicit user vector.

    Row ``u`` holds ``|N(u)|^(-1/2)`` at the items ``N(u)`` that user ``u`` rated (0
    elsewhere), so that ``(N @ Y)[u] = |N(u)|^(-1/2) sum_{j in N(u)} y_j``, the term
    SVD++ adds to the user vector (Koren 2008; chapter 1, section 1.5).

    Args:
        user_ids, item_ids: the observed pairs (int arrays of the same length; a pair
            given twice counts once).
        num_users, num_items: the shape.

    Returns:
        ``scipy.sparse.csr_matrix`` of shape ``(num_users, num_items)``, float64.
    """
    check_int(num_users, "num_users", low=1)
    check_int(num_items, "num_items", low=1)
    user_ids, item_ids = _pairs(user_ids, item_ids, num_users, num_items)
    rated = sp.csr_matrix(
        (np.ones(len(user_ids)), (user_ids, item_ids)), shape=(num_users, num_items)
    )
    rated.data[:] = 1.0  # duplicates were summed: a pair counts once
    counts = np.diff(rated.indptr)
    scale = 1.0 / np.sqrt(np.maximum(counts, 1))
    return sp.csr_matrix(sp.diags(scale) @ rated)


def predict_ratings(
    weights, global_mean, user_ids, item_ids, *, implicit=None, bounds=None
) -> np.ndarray:
    """The chapter's rating models in NumPy, from the weights either framework returns.

    Taught in chapter 1 (sections 1.2 and 1.5): ``mu + b_u + b_i + p_u . q_i`` for
    paired ids; with ``implicit`` the user vector is ``p_u + (N Y)_u`` (SVD++'s
    implicit user vector, ``weights["Y"]``); with ``bounds = (low, high)`` the output is
    ``low + (high - low) * sigmoid(offset + b_u + b_i + p_u . q_i)`` with
    :func:`bounded_offset` (the zero model predicts ``mu``).

    Args:
        weights: dict with ``P`` (num_users, k), ``Q`` (num_items, k), ``user_bias``
            (num_users,), ``item_bias`` (num_items,) (as :func:`init_factors`
            gives), and ``Y`` (num_items, k) when ``implicit`` is given.
        global_mean: mu.
        user_ids, item_ids: int arrays of the same length (the pairs to predict).
        implicit: optional ``(num_users, num_items)`` sparse matrix, e.g.
            :func:`implicit_user_matrix`.
        bounds: optional ``(low, high)``.

    Returns:
        float array of predictions, one per pair.

    Raises:
        ValueError: a missing key, shapes that do not fit together, ids outside the
            tables, arrays of different lengths, or bad bounds.
    """
    wanted = ("P", "Q", "user_bias", "item_bias") + (
        ("Y",) if implicit is not None else ()
    )
    missing = [k for k in wanted if k not in weights]
    if missing:
        raise ValueError(f"weights must hold {', '.join(wanted)}; missing {missing}")
    P, Q = np.asarray(weights["P"]), np.asarray(weights["Q"])
    if P.ndim != 2 or Q.ndim != 2 or P.shape[1] != Q.shape[1]:
        raise ValueError(
            f"P and Q must be 2-D with the same number of columns; got {P.shape} and "
            f"{Q.shape}"
        )
    user_bias = np.asarray(weights["user_bias"])
    item_bias = np.asarray(weights["item_bias"])
    if user_bias.shape != (P.shape[0],) or item_bias.shape != (Q.shape[0],):
        raise ValueError(
            f"user_bias must have shape ({P.shape[0]},) and item_bias ({Q.shape[0]},); "
            f"got {user_bias.shape} and {item_bias.shape}"
        )
    check_number(global_mean, "global_mean")
    user_ids, item_ids = _pairs(user_ids, item_ids, P.shape[0], Q.shape[0])
    users = P[user_ids]
    if implicit is not None:
        Y = np.asarray(weights["Y"])
        if not sp.issparse(implicit) or implicit.shape != (P.shape[0], Q.shape[0]):
            raise ValueError(
                f"implicit must be a sparse ({P.shape[0]}, {Q.shape[0]}) matrix; got "
                f"{type(implicit).__name__} of shape {getattr(implicit, 'shape', None)}"
            )
        if Y.shape != Q.shape:
            raise ValueError(f"Y must have the shape of Q {Q.shape}; got {Y.shape}")
        users = users + np.asarray(implicit[user_ids] @ Y)
    x = (
        user_bias[user_ids]
        + item_bias[item_ids]
        + np.einsum("nd,nd->n", users, Q[item_ids])
    )
    if bounds is None:
        return global_mean + x
    low, high = _check_bounds(bounds)
    return low + (high - low) / (
        1.0 + np.exp(-(bounded_offset(global_mean, bounds) + x))
    )


# ---------------------------------------------------------------------------
# Bayesian matrix factorization (Gibbs sampling)
# ---------------------------------------------------------------------------


def _row_systems(target: sp.csr_matrix, other: np.ndarray, values: np.ndarray):
    """For every row a of ``target``: ``sum_j o_j o_j^T`` and ``sum_j v_aj o_j`` over
    its stored columns j (``values`` aligned with ``target.data``).

    Returns ``(grams (rows, k, k), rhs (rows, k))``, computed for all rows at once (a
    sparse product), in chunks of stored entries to bound the memory.
    """
    rows, k = target.shape[0], other.shape[1]
    coo = target.tocoo()
    grams = np.zeros((rows, k * k))
    rhs = np.zeros((rows, k))
    chunk = max(1, 4_000_000 // (k * k))
    for s in range(0, coo.nnz, chunk):
        r, c, v = coo.row[s : s + chunk], coo.col[s : s + chunk], values[s : s + chunk]
        o = other[c]  # (n, k)
        pick = sp.csr_matrix((np.ones(len(r)), (r, np.arange(len(r)))), (rows, len(r)))
        grams += pick @ (o[:, :, None] * o[:, None, :]).reshape(len(r), k * k)
        rhs += pick @ (o * v[:, None])
    return grams.reshape(rows, k, k), rhs


def _sample_gaussians(precision, shift, rng) -> np.ndarray:
    """One draw from N(precision^-1 shift, precision^-1) for each row (batched).

    ``precision`` is (rows, k, k) symmetric positive definite, ``shift`` (rows, k).
    With ``precision = L L^T`` the draw is ``mean + L^-T z``, ``z ~ N(0, I)``.
    """
    chol = np.linalg.cholesky(precision)
    mean = np.linalg.solve(precision, shift[..., None])[..., 0]
    z = rng.standard_normal(shift.shape)
    return mean + np.linalg.solve(np.swapaxes(chol, 1, 2), z[..., None])[..., 0]


class BayesianMF:
    """Bayesian probabilistic matrix factorization (Salakhutdinov and Mnih 2008).

    Ratings minus their mean are modelled as ``u_a . v_j`` plus Gaussian noise of
    precision ``precision``; the rows of U and V have Gaussian priors whose mean and
    precision matrix are themselves drawn from a Gaussian-Wishart hyperprior. Gibbs
    sampling alternates: hyperparameters given U; every row of U given V (a Gaussian,
    drawn for all rows at once); the same for V. The prediction averages the samples
    drawn after ``burn_in`` sweeps, each clipped to ``rating_range``: an average over
    the posterior instead of one point estimate, which shrinks uncertain users and
    items without a tuned lambda. Used in chapter 1 (section 1.5) as the
    Bayesian lever on MovieLens.

    Args:
        embedding_dim: number of factors k.
        num_sweeps: Gibbs sweeps in all.
        burn_in: sweeps discarded before averaging (< num_sweeps).
        precision: the noise precision alpha (2: a noise standard deviation of 0.7).
        rating_range: ``(low, high)`` each sample's predictions are clipped to, or
            ``None``.
        num_chains: independent chains (seeds ``seed``, ``seed + 1``, ...), whose
            samples are pooled.
        seed: seed of the first chain.
    """

    def __init__(
        self,
        embedding_dim: int = 10,
        num_sweeps: int = 60,
        burn_in: int = 10,
        precision: float = 2.0,
        rating_range: tuple[float, float] | None = (1.0, 5.0),
        num_chains: int = 1,
        seed: int = 0,
    ):
        check_int(embedding_dim, "embedding_dim", low=1)
        check_int(num_sweeps, "num_sweeps", low=2)
        check_int(burn_in, "burn_in", low=0, high=num_sweeps - 1)
        check_number(precision, "precision", low=0, low_open=True)
        if rating_range is not None:
            rating_range = _check_bounds(rating_range)
        check_int(num_chains, "num_chains", low=1)
        check_int(seed, "seed", low=0)
        self.num_chains = num_chains
        self.embedding_dim, self.num_sweeps, self.burn_in = (
            embedding_dim,
            num_sweeps,
            burn_in,
        )
        self.precision, self.rating_range, self.seed = precision, rating_range, seed

    def _hyper(self, X: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
        """Draw (mean, precision matrix) of the rows' prior given the rows X."""
        from scipy.stats import wishart

        n, k = X.shape
        beta0, nu0 = 2.0, k  # the usual weak hyperprior: W0 = I, mu0 = 0
        xbar = X.mean(0)
        scatter = (X - xbar).T @ (X - xbar)
        beta, nu = beta0 + n, nu0 + n
        w_inv = np.eye(k) + scatter + beta0 * n / beta * np.outer(xbar, xbar)
        w = np.linalg.inv(w_inv)
        lam = np.atleast_2d(wishart.rvs(df=nu, scale=(w + w.T) / 2, random_state=rng))
        mean = rng.multivariate_normal(n * xbar / beta, np.linalg.inv(beta * lam))
        return mean, lam

    def _rows(self, target, other, mean, lam, rng) -> np.ndarray:
        grams, rhs = _row_systems(target, other, target.data)
        precision = lam[None] + self.precision * grams
        shift = (lam @ mean)[None] + self.precision * rhs
        return _sample_gaussians(precision, shift, rng)

    def fit(self, train: sp.spmatrix) -> BayesianMF:
        """Sample the posterior given the observed ratings of ``train``.

        Args:
            train: users x items sparse matrix; stored entries are the ratings.

        Returns:
            self, with ``global_mean_`` and ``samples_`` (a list of ``(U, V)``, the
            draws kept after the burn-in, chain after chain).
        """
        train = _check_csr(train)
        mu = float(train.data.mean())
        centred = train.copy()
        centred.data = centred.data - mu
        centred_t = centred.T.tocsr()
        k = self.embedding_dim
        samples = []
        for chain in range(self.num_chains):
            rng = np.random.default_rng(self.seed + chain)
            U = 0.1 * rng.standard_normal((train.shape[0], k))
            V = 0.1 * rng.standard_normal((train.shape[1], k))
            for sweep in range(self.num_sweeps):
                U = self._rows(centred, V, *self._hyper(U, rng), rng)
                V = self._rows(centred_t, U, *self._hyper(V, rng), rng)
                if sweep >= self.burn_in:
                    samples.append((U.astype(np.float32), V.astype(np.float32)))
        self.global_mean_, self.samples_ = mu, samples
        return self

    def predict(self, user_ids, item_ids) -> np.ndarray:
        """The posterior mean prediction for paired ids (each sample clipped first).

        Args:
            user_ids, item_ids: int arrays of the same length.

        Returns:
            float array of predictions.
        """
        _check_fitted(self, "samples_")
        U0, V0 = self.samples_[0]
        user_ids, item_ids = _pairs(user_ids, item_ids, U0.shape[0], V0.shape[0])
        total = np.zeros(len(user_ids))
        for U, V in self.samples_:
            pred = self.global_mean_ + np.einsum("nd,nd->n", U[user_ids], V[item_ids])
            if self.rating_range is not None:
                pred = np.clip(pred, *self.rating_range)
            total += pred
        return total / len(self.samples_)
