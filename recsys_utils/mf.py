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

__all__ = ["init_factors", "mf_objective", "occurrence_weights", "ALSMF", "ImplicitALS"]


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
