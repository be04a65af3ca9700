"""Non-neural baselines every chapter compares against.

All of them share one interface:

* ``fit(train_csr) -> self`` where ``train_csr`` is a ``scipy.sparse.csr_matrix`` of
  shape ``(num_users, num_items)`` whose values are ratings or 1;
* ``score(user_ids) -> np.ndarray`` of shape ``(len(user_ids), num_items)``, float,
  higher is better. Seen items are NOT masked here: ``evaluate_topk`` does that.

Everything is vectorised NumPy/SciPy. ``ItemKNN`` is the model the collaborative
filtering chapter teaches from, so it is written step by step with shape comments.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .validation import as_ids, check_bool, check_int, check_number

__all__ = ["Popularity", "BiasesOnly", "ItemKNN", "UserKNN", "EASE", "Oracle"]


def _check_train(train_csr) -> sp.csr_matrix:
    if not sp.issparse(train_csr) or train_csr.ndim != 2:
        raise ValueError(
            "train_csr must be a scipy.sparse matrix of shape (num_users, num_items); "
            f"got {type(train_csr).__name__}"
        )
    if not (np.issubdtype(train_csr.dtype, np.number) or train_csr.dtype == bool):
        raise ValueError(
            f"train_csr must hold numbers (ratings or 1); got dtype {train_csr.dtype}"
        )
    x = sp.csr_matrix(train_csr, dtype=np.float64, copy=True)
    x.sum_duplicates()
    x.eliminate_zeros()
    bad = ~np.isfinite(x.data)
    if bad.any():
        coo = x.tocoo()
        i = int(np.flatnonzero(~np.isfinite(coo.data))[0])
        raise ValueError(
            f"train_csr must hold finite values (ratings or 1); entry (user "
            f"{coo.row[i]}, item {coo.col[i]}) is {coo.data[i]} ({int(bad.sum())} "
            "non-finite entries in all)"
        )
    return x


class _Base:
    """Shared bookkeeping: the training matrix and user id checks."""

    train_: sp.csr_matrix | None = None

    def _check_fitted(self) -> None:
        if self.train_ is None:
            raise ValueError(
                f"{type(self).__name__} is not fitted: call fit(train_csr) first"
            )

    def _users(self, user_ids) -> np.ndarray:
        self._check_fitted()
        return as_ids(user_ids, "user_ids", self.train_.shape[0])

    @property
    def num_items(self) -> int:
        self._check_fitted()
        return self.train_.shape[1]


class Popularity(_Base):
    """Recommend what most users interacted with: score_ui = #users who had item i."""

    def fit(self, train_csr) -> Popularity:
        """Count interactions per item.

        Args:
            train_csr: ``(num_users, num_items)`` sparse matrix (values ignored: a
                non-zero entry counts 1).

        Returns:
            ``self``, with ``counts_`` of shape ``(num_items,)``.
        """
        self.train_ = _check_train(train_csr)
        self.counts_ = np.diff(self.train_.tocsc().indptr).astype(np.float64)
        return self

    def score(self, user_ids) -> np.ndarray:
        """Same popularity row for every user.

        Args:
            user_ids: user ids (int array-like).

        Returns:
            ``(len(user_ids), num_items)`` float array.
        """
        users = self._users(user_ids)
        return np.broadcast_to(self.counts_, (len(users), self.num_items)).copy()


class BiasesOnly(_Base):
    """Rating = global mean + user bias + item bias, with L2-regularised biases.

    The biases minimise ``sum (r_ui - mu - b_u - b_i)^2 + reg_user sum b_u^2 +
    reg_item sum b_i^2`` by alternating exact updates (each sweep solves for all
    ``b_i`` given ``b_u``, then all ``b_u`` given ``b_i``).

    Args:
        reg_user: L2 penalty of the user biases (>= 0).
        reg_item: L2 penalty of the item biases (>= 0).
        num_sweeps: number of alternating sweeps (>= 1).
    """

    def __init__(
        self, reg_user: float = 5.0, reg_item: float = 5.0, num_sweeps: int = 10
    ):
        check_number(reg_user, "reg_user", low=0)
        check_number(reg_item, "reg_item", low=0)
        check_int(num_sweeps, "num_sweeps", low=1)
        self.reg_user, self.reg_item, self.num_sweeps = reg_user, reg_item, num_sweeps

    def fit(self, train_csr) -> BiasesOnly:
        """Fit ``mu``, ``user_bias_`` and ``item_bias_`` on the observed ratings.

        Args:
            train_csr: ``(num_users, num_items)`` sparse matrix of ratings.

        Returns:
            ``self``.
        """
        x = self.train_ = _check_train(train_csr)
        coo = x.tocoo()
        u, i, r = coo.row, coo.col, coo.data
        num_users, num_items = x.shape
        self.global_mean_ = float(r.mean()) if r.size else 0.0
        n_u = np.bincount(u, minlength=num_users)
        n_i = np.bincount(i, minlength=num_items)
        b_u = np.zeros(num_users)
        b_i = np.zeros(num_items)
        resid = r - self.global_mean_
        for _ in range(self.num_sweeps):
            b_i = np.bincount(i, weights=resid - b_u[u], minlength=num_items) / (
                n_i + self.reg_item
            )
            b_u = np.bincount(u, weights=resid - b_i[i], minlength=num_users) / (
                n_u + self.reg_user
            )
        self.user_bias_, self.item_bias_ = b_u, b_i
        return self

    def predict(self, user_ids, item_ids) -> np.ndarray:
        """Predicted ratings of (user, item) pairs.

        Args:
            user_ids: user ids, 1-d.
            item_ids: item ids, same length.

        Returns:
            ``mu + b_u + b_i`` for each pair, shape ``(len(user_ids),)``.
        """
        users = self._users(user_ids)
        items = as_ids(item_ids, "item_ids", self.num_items)
        if items.shape != users.shape:
            raise ValueError(
                "item_ids must have the same length as user_ids; got "
                f"{items.shape} vs {users.shape}"
            )
        return self.global_mean_ + self.user_bias_[users] + self.item_bias_[items]

    def score(self, user_ids) -> np.ndarray:
        """Predicted rating of every item.

        Args:
            user_ids: user ids (int array-like).

        Returns:
            ``(len(user_ids), num_items)`` float array ``mu + b_u + b_i``.
        """
        users = self._users(user_ids)
        return (
            self.global_mean_
            + self.user_bias_[users][:, None]
            + self.item_bias_[None, :]
        )


def _shrunk_cosine(x: sp.csr_matrix, shrinkage: float) -> np.ndarray:
    """Cosine similarity between the COLUMNS of ``x``, shrunk towards 0.

    ``sim_ij = (x_i . x_j) / (|x_i| |x_j|) * n_ij / (n_ij + shrinkage)`` where
    ``n_ij`` is the number of rows where both columns are non-zero. Diagonal = 0.

    Returns:
        dense ``(n_cols, n_cols)`` float array.
    """
    binary = x.copy()
    binary.data[:] = 1.0
    dot = (x.T @ x).toarray()  # (n_cols, n_cols) x_i . x_j
    co = (binary.T @ binary).toarray()  # (n_cols, n_cols) n_ij, co-occurrence counts
    norms = np.sqrt(np.diag(dot))  # (n_cols,) |x_i|
    denom = np.outer(norms, norms)
    sim = np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
    if shrinkage > 0:
        sim *= co / (co + shrinkage)
    np.fill_diagonal(sim, 0.0)
    return sim


def _keep_topk_per_column(sim: np.ndarray, k: int) -> np.ndarray:
    """Zero all but the ``k`` largest entries of each column (ties: lower row id)."""
    n_rows, n_cols = sim.shape
    if k >= n_rows:
        return sim
    # rows of the k largest values in each column, (k, n_cols)
    top = np.argsort(-sim, axis=0, kind="stable")[:k]
    keep = np.zeros_like(sim, dtype=bool)
    keep[top, np.arange(n_cols)[None, :]] = True
    return np.where(keep, sim, 0.0)


def _center_rows(x: sp.csr_matrix) -> sp.csr_matrix:
    """Subtract each row's mean from its stored values (adjusted cosine)."""
    x = x.copy()
    counts = np.diff(x.indptr)
    means = np.divide(
        np.asarray(x.sum(axis=1)).ravel(),
        counts,
        out=np.zeros(x.shape[0]),
        where=counts > 0,
    )
    x.data -= np.repeat(means, counts)
    return x


class _NeighbourhoodModel(_Base):
    """What ItemKNN and UserKNN share: k neighbours, shrinkage, optional centring."""

    def __init__(self, k: int = 50, shrinkage: float = 10.0, centered: bool = False):
        check_int(k, "k", low=1)
        check_number(shrinkage, "shrinkage", low=0)
        check_bool(centered, "centered")
        self.k, self.shrinkage, self.centered = k, shrinkage, centered


class ItemKNN(_NeighbourhoodModel):
    """Item-based collaborative filtering with a shrunk cosine similarity.

    Steps (``X`` is the ``(num_users, num_items)`` training matrix):

    1. ``sim = cosine(columns of X) * n_co / (n_co + shrinkage)``, diagonal 0;
    2. for each item keep only its ``k`` most similar neighbours (per column);
    3. ``score(u) = X[u] @ sim``: an item scores high when it is similar to items in
       the user's history.

    Args:
        k: neighbours kept per item (>= 1).
        shrinkage: ``s >= 0`` in ``n_co / (n_co + s)``; damps similarities supported
            by few co-occurrences.
        centered: subtract each user's mean value before the cosine (adjusted
            cosine, useful with ratings).

    Attributes:
        similarity_: sparse ``(num_items, num_items)``; entry ``(j, i)`` is the
            similarity of history item ``j`` to candidate ``i``.
    """

    def fit(self, train_csr) -> ItemKNN:
        """Compute the pruned item-item similarity.

        Args:
            train_csr: ``(num_users, num_items)`` sparse matrix, ratings or 1.

        Returns:
            ``self``. Memory: a dense ``num_items x num_items`` array during fit.
        """
        x = self.train_ = _check_train(train_csr)  # (num_users, num_items)
        xs = _center_rows(x) if self.centered else x
        sim = _shrunk_cosine(xs, self.shrinkage)  # (num_items, num_items)
        sim = _keep_topk_per_column(sim, self.k)  # column i: k neighbours of i
        self.similarity_ = sp.csr_matrix(sim)
        return self

    def score(self, user_ids) -> np.ndarray:
        """Sum of the similarities of each candidate to the user's history.

        Args:
            user_ids: user ids (int array-like).

        Returns:
            ``(len(user_ids), num_items)`` float array ``X[user_ids] @ similarity_``.
        """
        users = self._users(user_ids)
        history = self.train_[users]  # (len(users), num_items)
        return np.asarray(
            (history @ self.similarity_).toarray()
        )  # (len(users), num_items)


class UserKNN(_NeighbourhoodModel):
    """User-based collaborative filtering: score(u) = sum over the k most similar
    users v of ``sim(u, v) * X[v]``, with the same shrunk cosine as :class:`ItemKNN`.

    Args:
        k: neighbours kept per user (>= 1).
        shrinkage: ``s >= 0`` in ``n_co / (n_co + s)``.
        centered: subtract each user's mean value before the cosine.
    """

    def fit(self, train_csr) -> UserKNN:
        """Store the training matrix (similarities are computed per scored batch).

        Args:
            train_csr: ``(num_users, num_items)`` sparse matrix, ratings or 1.

        Returns:
            ``self``.
        """
        self.train_ = _check_train(train_csr)
        self._xs = _center_rows(self.train_) if self.centered else self.train_
        self._binary = self.train_.copy()
        self._binary.data[:] = 1.0
        self._norms = np.sqrt(
            np.asarray(self._xs.multiply(self._xs).sum(axis=1)).ravel()
        )
        return self

    def similarity(self, user_ids) -> np.ndarray:
        """Pruned shrunk cosine similarity of the given users to all users.

        Args:
            user_ids: user ids (int array-like).

        Returns:
            ``(len(user_ids), num_users)`` array, k non-zeros at most per row, self = 0.
        """
        users = self._users(user_ids)
        dot = (self._xs[users] @ self._xs.T).toarray()  # (b, num_users)
        co = (self._binary[users] @ self._binary.T).toarray()  # (b, num_users)
        denom = np.outer(self._norms[users], self._norms)
        sim = np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
        if self.shrinkage > 0:
            sim *= co / (co + self.shrinkage)
        sim[np.arange(len(users)), users] = 0.0
        return _keep_topk_per_column(sim.T, self.k).T

    def score(self, user_ids) -> np.ndarray:
        """Similarity-weighted sum of the neighbours' rows.

        Args:
            user_ids: user ids (int array-like).

        Returns:
            ``(len(user_ids), num_items)`` float array.
        """
        sim = self.similarity(user_ids)  # (b, num_users)
        return np.asarray(self.train_.T.dot(sim.T).T)  # (b, num_items)


class EASE(_Base):
    """Embarrassingly Shallow Autoencoder (Steck, 2019).

    ``B = argmin ||X - X B||^2 + reg ||B||^2`` subject to ``diag(B) = 0`` has the
    closed form ``P = (X^T X + reg I)^-1``, ``B_ij = -P_ij / P_jj`` (i != j),
    ``B_jj = 0``. Scores are ``X[u] @ B``.

    Args:
        reg: L2 penalty ``lambda > 0``.
    """

    def __init__(self, reg: float = 250.0):
        check_number(reg, "reg", low=0, low_open=True)
        self.reg = reg

    def fit(self, train_csr) -> EASE:
        """Solve for the item-item weights ``weights_`` (dense, num_items^2).

        Args:
            train_csr: ``(num_users, num_items)`` sparse matrix, ratings or 1.

        Returns:
            ``self``.
        """
        x = self.train_ = _check_train(train_csr)
        gram = (x.T @ x).toarray()  # (num_items, num_items)
        gram[np.diag_indices_from(gram)] += self.reg
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)[None, :]  # column j divided by P_jj
        np.fill_diagonal(b, 0.0)
        self.weights_ = b
        return self

    def score(self, user_ids) -> np.ndarray:
        """Reconstruction ``X[user_ids] @ B``.

        Args:
            user_ids: user ids (int array-like).

        Returns:
            ``(len(user_ids), num_items)`` float array.
        """
        users = self._users(user_ids)
        return np.asarray(self.train_[users] @ self.weights_)


class Oracle(_Base):
    """Scores with the TRUE expected utility of a synthetic marketplace (upper bound).

    Args:
        truth: a :class:`recsys_utils.marketplace.Truth` (``marketplace.truth``).
        target: ``"relevance"`` (true expected utility: what the user WOULD like) or
            ``"purchase"`` (true probability of an OBSERVED purchase, exposure
            included: the best possible predictor of held-out logged data).
    """

    def __init__(self, truth, target: str = "relevance"):
        if target not in ("relevance", "purchase"):
            raise ValueError(
                f"target must be 'relevance' or 'purchase'; got {target!r}"
            )
        if not hasattr(truth, "relevance"):
            raise ValueError(
                "truth must have a relevance(user_ids) method (marketplace.truth)"
            )
        self.truth, self.target = truth, target

    def fit(self, train_csr) -> Oracle:
        """Only records the shape (the oracle needs no data).

        Args:
            train_csr: ``(num_users, num_items)`` sparse matrix.

        Returns:
            ``self``.
        """
        self.train_ = _check_train(train_csr)
        return self

    def score(self, user_ids) -> np.ndarray:
        """True expected utility.

        Args:
            user_ids: user ids (int array-like).

        Returns:
            ``(len(user_ids), num_items)`` float array.
        """
        users = self._users(user_ids)
        if self.target == "purchase":
            return self.truth.purchase_probability(users)
        return self.truth.relevance(users)
