"""topk_from_scores and evaluate_topk against brute-force Python loops."""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_utils.evaluation import (
    evaluate_topk,
    rating_metrics,
    to_csr,
    topk_from_scores,
)


def brute_topk(scores, k, exclude=None):
    """Reference: sort each row by (-score, item id) with Python's sort."""
    out = []
    for u, row in enumerate(scores):
        banned = set() if exclude is None else set(exclude[u].indices)
        keyed = sorted(
            range(len(row)), key=lambda i: (-(-math.inf if i in banned else row[i]), i)
        )
        out.append(keyed[:k])
    return np.array(out)


def brute_metrics(ranked, relevant, k):
    """Reference per-user recall, ndcg, hit rate, precision, mrr with plain loops."""
    top = list(ranked[:k])
    hits = [1.0 if i in relevant else 0.0 for i in top]
    dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
    idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(relevant))))
    first = next((r for r, h in enumerate(hits) if h), None)
    return {
        "recall": sum(hits) / len(relevant),
        "ndcg": dcg / idcg,
        "hit_rate": float(any(hits)),
        "precision": sum(hits) / k,
        "mrr": 0.0 if first is None else 1 / (first + 1),
    }


def test_topk_by_hand_with_ties():
    scores = np.array([[0.0, 1.0, 1.0, 1.0, 0.5], [3.0, 2.0, 1.0, 0.0, 0.0]])
    # row 0: three items tied at 1.0 -> lower ids first: [1, 2]
    item_ids, top = topk_from_scores(scores, 2)
    np.testing.assert_array_equal(item_ids, [[1, 2], [0, 1]])
    np.testing.assert_array_equal(top, [[1.0, 1.0], [3.0, 2.0]])
    assert item_ids.dtype == np.int64 and top.dtype == np.float64
    exclude = sp.csr_matrix(np.array([[0, 1, 0, 0, 0], [1, 0, 0, 0, 0]]))
    # row 0 without item 1: [2, 3, 4]; row 1 without item 0: [1, 2, 3] (3 beats 4
    # on the tie)
    item_ids, top = topk_from_scores(scores, 3, exclude)
    np.testing.assert_array_equal(item_ids, [[2, 3, 4], [1, 2, 3]])
    np.testing.assert_array_equal(top, [[1.0, 1.0, 0.5], [2.0, 1.0, 0.0]])
    # an excluded item fills a list only when nothing else is left, at -inf
    item_ids, top = topk_from_scores(scores[:1, :2], 2, exclude[:1, :2])
    np.testing.assert_array_equal(item_ids, [[0, 1]])
    np.testing.assert_array_equal(top, [[0.0, -np.inf]])


def test_topk_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.integers(0, 4, size=(7, 11)).astype(float)  # many ties
        exclude = sp.csr_matrix(rng.random((7, 11)) < 0.3)
        k = int(rng.integers(1, 12))
        item_ids, top = topk_from_scores(scores, k, exclude)
        expected = brute_topk(scores, k, exclude)
        np.testing.assert_array_equal(item_ids, expected)
        masked = np.where(exclude.toarray(), -np.inf, scores)
        np.testing.assert_array_equal(top, np.take_along_axis(masked, expected, 1))
        item_ids, top = topk_from_scores(scores, k)
        np.testing.assert_array_equal(item_ids, brute_topk(scores, k))


def test_evaluate_topk_matches_brute_force(random_scores):
    scores, train, test = random_scores
    res = evaluate_topk(scores, train, test, k=(5, 10), batch_size=7)
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    assert list(res.per_user.index) == list(users)
    assert res.per_user.index.name == "user_id"
    np.testing.assert_array_equal(res.topk, brute_topk(scores[users], 10, train[users]))
    for k in (5, 10):
        for name in ("recall", "ndcg", "hit_rate", "precision", "mrr"):
            want = [
                brute_metrics(res.topk[j], set(test[u].indices), k)[name]
                for j, u in enumerate(users)
            ]
            np.testing.assert_allclose(
                res.per_user[f"{name}@{k}"], want, err_msg=f"{name}@{k}"
            )
            assert res.means[f"{name}@{k}"] == pytest.approx(np.mean(want))
    summary = res.summary("random")
    assert summary.shape == (1, 10) and summary.index[0] == "random"


def test_callable_scores_and_batches_agree(random_scores):
    scores, train, test = random_scores
    calls = []

    def score(user_ids):
        calls.append(len(user_ids))
        return scores[user_ids]

    a = evaluate_topk(score, train, test, k=5, batch_size=4)
    b = evaluate_topk(scores, train, test, k=5, batch_size=1000)
    pd.testing.assert_frame_equal(a.per_user, b.per_user)
    assert max(calls) == 4 and sum(calls) == len(a.per_user)


def test_seen_items_are_excluded_and_can_be_kept():
    # 1 user, 3 items: item 0 scores best but is in train; item 1 is the test item
    scores = np.array([[3.0, 2.0, 1.0]])
    train = sp.csr_matrix(np.array([[1.0, 0, 0]]))
    test = sp.csr_matrix(np.array([[0, 1.0, 0]]))
    res = evaluate_topk(scores, train, test, k=1, metrics=("hit_rate",))
    assert res.means == {"hit_rate@1": 1.0}
    res = evaluate_topk(
        scores, train, test, k=1, metrics=("hit_rate",), exclude_seen=False
    )
    assert res.means == {"hit_rate@1": 0.0}


def test_given_user_ids_without_test_items_are_nan(random_scores):
    scores, train, test = random_scores
    empty_user = int(np.flatnonzero(np.diff(test.indptr) == 0)[0])
    res = evaluate_topk(scores, train, test, k=3, user_ids=[empty_user, 0])
    assert np.isnan(res.per_user.loc[empty_user, "recall@3"])
    assert res.means["recall@3"] == pytest.approx(
        res.per_user["recall@3"].dropna().mean()
    )


def test_rating_metrics_by_hand():
    # errors (1, -1): RMSE 1, MAE 1
    assert rating_metrics([2.0, 1.0], [1.0, 2.0]) == {"rmse": 1.0, "mae": 1.0}


def test_to_csr_still_works():
    df = pd.DataFrame({"user_id": [0, 1, 1], "item_id": [2, 0, 0], "rating": [4, 3, 5]})
    m = to_csr(df, 2, 3, "rating")
    np.testing.assert_array_equal(m.toarray(), [[0, 0, 4], [5, 0, 0]])


# --- bad input --------------------------------------------------------------------


def test_bad_k(random_scores):
    scores, train, test = random_scores
    with pytest.raises(ValueError, match="k must be a positive int"):
        evaluate_topk(scores, train, test, k=0)
    with pytest.raises(ValueError, match="k must be a positive int"):
        topk_from_scores(scores, 2.0)
    with pytest.raises(ValueError, match="larger than the number of items"):
        evaluate_topk(scores, train, test, k=31)


def test_wrong_number_of_columns(random_scores):
    scores, train, test = random_scores
    with pytest.raises(
        ValueError, match="scores has 29 columns but train has num_items=30"
    ):
        evaluate_topk(scores[:, :29], train, test)
    with pytest.raises(ValueError, match=r"must have shape \(3, 30\)"):
        evaluate_topk(lambda u: scores[u, :29], train, test, batch_size=3)


def test_nan_scores(random_scores):
    scores, train, test = random_scores
    scores = scores.copy()
    scores[2, 3] = np.nan
    with pytest.raises(ValueError, match="scores must not contain NaN; row 2"):
        topk_from_scores(scores, 3)
    with pytest.raises(ValueError, match="must not contain NaN"):
        evaluate_topk(scores, train, test, user_ids=[2])


def test_user_ids_out_of_range(random_scores):
    scores, train, test = random_scores
    with pytest.raises(ValueError, match=r"user_ids must lie in \[0, 20\)"):
        evaluate_topk(scores, train, test, user_ids=[0, 20])


def test_empty_inputs(random_scores):
    scores, train, test = random_scores
    with pytest.raises(ValueError, match="test has no interactions"):
        evaluate_topk(scores, train, sp.csr_matrix(test.shape))
    with pytest.raises(ValueError, match="user_ids must not be empty"):
        evaluate_topk(scores, train, test, user_ids=[])
    with pytest.raises(ValueError, match="scores must not be empty"):
        topk_from_scores(np.zeros((0, 5)), 1)


def test_shape_mismatch_train_test_and_unknown_metric(random_scores):
    scores, train, test = random_scores
    with pytest.raises(ValueError, match="train and test must have the same shape"):
        evaluate_topk(scores, train, test[:, :10])
    with pytest.raises(ValueError, match="metrics must be names among"):
        evaluate_topk(scores, train, test, metrics=("auc",))
    with pytest.raises(ValueError, match="exclude must have the shape of scores"):
        topk_from_scores(scores, 2, exclude=train[:3])


# --- test and train overlap ------------------------------------------------------


def test_the_training_matrix_passed_as_test_is_refused(random_scores):
    scores, train, _ = random_scores
    # every test item would be excluded as seen: every metric 0, without a word
    with pytest.raises(
        ValueError,
        match=r"test overlaps train entirely: all \d+ test interactions .*also in "
        r"train .*training matrix passed as test",
    ):
        evaluate_topk(scores, train, train)
    # the same matrices with nothing excluded: the overlap is then meant
    result = evaluate_topk(scores, train, train, exclude_seen=False)
    assert result.means["recall@10"] > 0


def test_a_partial_overlap_is_named_in_a_warning(random_scores):
    scores, train, test = random_scores
    both = test.tolil()
    user, item = train.nonzero()[0][0], train.nonzero()[1][0]
    both[user, item] = 1.0  # one test interaction the user also has in train
    with pytest.warns(UserWarning) as record:
        res = evaluate_topk(scores, train, both.tocsr(), metrics="recall")
    assert len(record) == 1
    message = str(record[0].message)
    assert f"1 of the {test.nnz + 1} test interactions" in message
    assert f"user {user}, item {item}" in message
    # the overlapping item counts as a miss: that user's recall is below the
    # recall without it, over one more relevant item
    clean = evaluate_topk(scores, train, test, metrics="recall")
    hits = clean.per_user.loc[user, "recall@10"] * test[user].nnz
    assert res.per_user.loc[user, "recall@10"] == pytest.approx(
        hits / (test[user].nnz + 1)
    )


def test_disjoint_train_and_test_give_no_warning(random_scores, recwarn):
    scores, train, test = random_scores
    evaluate_topk(scores, train, test)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
