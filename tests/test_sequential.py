"""recsys_utils.sequential: sequences, padding, next-item rows, the Markov chain and
the ranks behind full and sampled metrics, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import recsys_utils as ru
from recsys_utils import sequential as sq


@pytest.fixture
def log():
    # user 0 bought 5, 3, 9 (in time order, rows shuffled); user 2 bought 7, 8 with
    # the same timestamp (the frame order decides); user 1 bought nothing
    return pd.DataFrame(
        {
            "user_id": [0, 2, 0, 2, 0],
            "item_id": [9, 7, 5, 8, 3],
            "timestamp": [30, 5, 10, 5, 20],
        }
    )


def test_sequences_from_log(log):
    seqs = sq.sequences_from_log(log, 3)
    assert [s.tolist() for s in seqs] == [[5, 3, 9], [], [7, 8]]
    assert all(s.dtype == np.int64 for s in seqs)


def test_sequences_from_log_errors(log):
    with pytest.raises(ValueError, match="column 'timestamp'"):
        sq.sequences_from_log(log.drop(columns="timestamp"), 3)
    with pytest.raises(ValueError, match="user_id must lie in"):
        sq.sequences_from_log(log, 2)
    with pytest.raises(ValueError, match="num_users must be a positive int"):
        sq.sequences_from_log(log, 0)


def test_pad_sequences_left_pads_and_keeps_the_last_items():
    seqs = [np.array([1, 2, 3, 4]), np.array([5]), np.array([], dtype=np.int64)]
    np.testing.assert_array_equal(
        sq.pad_sequences(seqs, 3, pad_id=9),
        [[2, 3, 4], [9, 9, 5], [9, 9, 9]],
    )


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="max_len must be a positive int"):
        sq.pad_sequences([np.array([1])], 0, 9)
    with pytest.raises(ValueError, match=r"sequences\[0\] must be a 1-D array"):
        sq.pad_sequences([np.array([0.5])], 2, 9)
    with pytest.raises(ValueError, match="list of 1-D int arrays"):
        sq.pad_sequences(np.array([[1, 2]]), 2, 9)
    with pytest.raises(ValueError, match="negative item id"):
        sq.pad_sequences([np.array([-1])], 2, 9)


def test_next_item_examples_by_hand():
    # 1 2 3 4 5 6 with windows of 3: targets 2..6 cut from the end into (4 5 6), (2 3)
    seqs = [np.array([1, 2, 3, 4, 5, 6]), np.array([7]), np.array([8, 9])]
    x, y = sq.next_item_examples(seqs, 3, pad_id=10)  # 10 items: pad with 10
    np.testing.assert_array_equal(x, [[3, 4, 5], [10, 1, 2], [10, 10, 8]])
    np.testing.assert_array_equal(y, [[4, 5, 6], [10, 2, 3], [10, 10, 9]])
    # every transition appears exactly once
    assert (y != 10).sum() == 5 + 0 + 1


def test_next_item_examples_errors():
    with pytest.raises(ValueError, match="nothing to predict"):
        sq.next_item_examples([np.array([1]), np.array([], dtype=np.int64)], 3, 2)


@pytest.mark.parametrize("make", [sq.pad_sequences, sq.next_item_examples])
def test_a_pad_id_that_is_a_real_item_is_refused(make):
    # with pad_id 0, a padded slot and item 0 would read the same: the model would
    # learn (and be scored on) padding as if it were the item
    seqs = [np.array([3, 0, 2]), np.array([1, 4])]
    with pytest.raises(
        ValueError,
        match=r"pad_id=0 is a real item id \(sequences\[0\] holds item 0\).*"
        r"num_items.*at least 5",
    ):
        make(seqs, 3, 0)
    # an id below the largest item is a real item even if no sequence holds it
    with pytest.raises(ValueError, match="pad_id=3 is a real item id .*up to 4"):
        make([np.array([0, 4]), np.array([1, 2])], 3, 3)
    with pytest.raises(ValueError, match="pad_id must be a non-negative int"):
        make(seqs, 3, -1)
    with pytest.raises(ValueError, match="pad_id must be a non-negative int"):
        make(seqs, 3, 5.0)
    make(seqs, 3, 5)  # num_items: accepted


def test_markov_chain_counts_and_tie_break():
    seqs = [np.array([0, 1, 0, 1]), np.array([1, 2]), np.array([2])]
    mc = sq.MarkovChain().fit(seqs, 4)
    # transitions 0->1 twice, 1->0 once, 1->2 once
    np.testing.assert_array_equal(
        mc.transitions_.toarray(),
        [[0, 2, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
    )
    np.testing.assert_array_equal(mc.popularity_, [2, 3, 2, 0])
    scores = mc.score([1, 3])
    # counts plus popularity / (max popularity + 1) = popularity / 4
    np.testing.assert_allclose(scores[0], [1 + 2 / 4, 3 / 4, 1 + 2 / 4, 0])
    np.testing.assert_allclose(scores[1], [2 / 4, 3 / 4, 2 / 4, 0])
    # the tie-break never overturns a count
    assert scores[0, 0] > scores[0, 1]


def test_markov_chain_errors():
    with pytest.raises(ValueError, match="call fit"):
        sq.MarkovChain().score([0])
    with pytest.raises(ValueError, match="item ids must lie"):
        sq.MarkovChain().fit([np.array([0, 5])], 3)
    mc = sq.MarkovChain().fit([np.array([0, 1])], 2)
    with pytest.raises(ValueError, match="previous_item_ids must be integer ids"):
        mc.score([2])


def test_full_ranks_by_hand_and_against_the_evaluator():
    scores = np.array([[0.1, 0.9, 0.5, 0.5, 0.3], [1.0, 1.0, 1.0, 0.0, 2.0]])
    targets = np.array([3, 2])
    exclude = sp.csr_matrix(np.array([[0, 1, 0, 0, 0], [0, 0, 0, 0, 1]]))
    # row 0: item 1 excluded; item 2 ties with the target (0.5) and has a lower id,
    # so it ranks above: rank 1. Row 1: item 4 excluded; items 0 and 1 tie with the
    # target and have lower ids: rank 2.
    np.testing.assert_array_equal(sq.full_ranks(scores, targets, exclude), [1, 2])
    np.testing.assert_array_equal(sq.full_ranks(scores, targets), [2, 3])
    # the same answer as the book's top-k lists: rank < k iff the target is in top-k
    test = sp.csr_matrix((np.ones(2), (np.arange(2), targets)), shape=(2, 5))
    for k in (1, 2, 3):
        result = ru.evaluate_topk(scores, exclude, test, k=k, metrics=("hit_rate",))
        ranks = sq.full_ranks(scores, targets, exclude)
        assert result.means[f"hit_rate@{k}"] == pytest.approx(np.mean(ranks < k))


def test_sample_negatives_are_uniform_and_allowed():
    exclude = np.zeros((2000, 10), dtype=bool)
    exclude[:, 0] = True  # item 0 is in every history
    targets = np.full(2000, 1)
    negs = sq.sample_negatives(targets, exclude, num_negatives=4, seed=3)
    assert negs.shape == (2000, 4)
    assert not np.isin(negs, [0, 1]).any()
    assert all(len(set(row)) == 4 for row in negs)  # without replacement
    # uniform over the 8 allowed items: each appears in 4/8 of the rows
    share = np.bincount(negs.ravel(), minlength=10)[2:] / 2000
    np.testing.assert_allclose(share, 0.5, atol=0.05)
    again = sq.sample_negatives(targets, sp.csr_matrix(exclude), 4, seed=3)
    np.testing.assert_array_equal(negs, again)  # seeded, sparse or dense alike


def test_sample_negatives_errors():
    with pytest.raises(ValueError, match="num_negatives=3 is more than the 2 items"):
        sq.sample_negatives([0], np.zeros((1, 3), dtype=bool), 3)
    with pytest.raises(ValueError, match="exclude must be"):
        sq.sample_negatives([0], None, 1)
    with pytest.raises(ValueError, match="target_items must hold 1 ids"):
        sq.sample_negatives([0, 1], np.zeros((1, 3), dtype=bool), 1)


def test_sampled_ranks_by_hand():
    scores = np.array([[0.0, 0.5, 0.2, 0.5, 0.9]])
    # target 3 (score 0.5) against negatives 0, 1, 4: item 4 is above; item 1 ties
    # and has a lower id, so it is above too: rank 2
    np.testing.assert_array_equal(sq.sampled_ranks(scores, [3], [[0, 1, 4]]), [2])
    np.testing.assert_array_equal(sq.sampled_ranks(scores, [1], [[0, 2, 3]]), [0])
    with pytest.raises(ValueError, match="negatives must be an int array with 1 rows"):
        sq.sampled_ranks(scores, [1], [[0.0, 2.0]])


def test_nan_scores_are_refused_not_ranked_first():
    # a NaN compares false with everything: the target would count nobody above it
    # and get rank 0, a perfect hit rate and nDCG of 1.0
    scores = np.array([[0.0, 0.5, 0.2, 0.5, 0.9], [0.1, 0.2, 0.3, 0.4, 0.5]])
    scores[1, 2] = np.nan
    match = r"scores must not contain NaN; row 1 has NaN at item 2"
    with pytest.raises(ValueError, match=match):
        sq.full_ranks(scores, [4, 2])
    with pytest.raises(ValueError, match=match):
        sq.sampled_ranks(scores, [4, 2], [[0, 1], [0, 1]])
    with pytest.raises(ValueError, match=match):  # NaN among the negatives too
        sq.sampled_ranks(scores, [4, 0], [[0, 1], [2, 3]])
    # without the NaN, the same call ranks: target 2 has 2 items above it
    scores[1, 2] = 0.3
    np.testing.assert_array_equal(sq.full_ranks(scores, [4, 2]), [0, 2])


def test_rank_metrics_by_hand():
    out = sq.rank_metrics(np.array([0, 1, 9, 10]), k=10)
    assert out["hit_rate@10"] == pytest.approx(3 / 4)
    expected = (1 / np.log2(2) + 1 / np.log2(3) + 1 / np.log2(11) + 0) / 4
    assert out["ndcg@10"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="ranks must be >= 0; got -1 at position 0"):
        sq.rank_metrics(np.array([-1]))
    with pytest.raises(ValueError, match="k must be a positive int"):
        sq.rank_metrics(np.array([0]), k=0)
    # whole-number floats are ranks; NaN, infinity and fractions are named
    assert sq.rank_metrics([0.0, 10.0], k=10) == sq.rank_metrics([0, 10], k=10)
    with pytest.raises(
        ValueError, match=r"ranks must be finite .*got nan at position 1"
    ):
        sq.rank_metrics([1.0, np.nan])
    with pytest.raises(
        ValueError, match=r"ranks must be finite .*got inf at position 0"
    ):
        sq.rank_metrics([np.inf])
    with pytest.raises(ValueError, match="ranks must be whole numbers.*0.5"):
        sq.rank_metrics([0.5])
    with pytest.raises(ValueError, match=r"non-empty 1-D array.*shape \(1, 2\)"):
        sq.rank_metrics([[0, 1]])


class _Ratings:
    """The attributes of a MovieLens object that a protocol's split reads."""

    def __init__(self, ratings, num_users, num_items):
        self.ratings, self.num_users, self.num_items = ratings, num_users, num_items


def test_leave_last_out_protocol_by_hand():
    # user 0 rated 1, 2, 3, 4 in time order (rows shuffled); user 1 rated 5, 6, 7
    ratings = pd.DataFrame(
        {
            "user_id": [0, 1, 0, 0, 1, 0, 1],
            "item_id": [3, 6, 1, 4, 5, 2, 7],
            "rating": [4, 3, 5, 2, 1, 3, 4],
            "timestamp": [30, 2, 10, 40, 1, 20, 3],
        }
    )
    p = sq.LEAVE_LAST_OUT
    data = p.split(_Ratings(ratings, 2, 12))
    assert sorted(zip(data.test.user_id, data.test.item_id)) == [(0, 4), (1, 7)]
    assert sorted(zip(data.valid.user_id, data.valid.item_id)) == [(0, 3), (1, 6)]
    assert sorted(zip(data.fit.user_id, data.fit.item_id)) == [(0, 1), (0, 2), (1, 5)]
    assert len(data.train) == 5 and set(data.train.item_id) == {1, 2, 3, 5, 6}
    # scores: item id descending, so item 11 first; user 0's training items 1, 2, 3
    # are excluded from the test ranking: 11..4 are the top 8, the target 4 is 8th
    scores = np.tile(np.arange(12.0), (2, 1))
    m = p.evaluate(scores, data, on="test")
    assert m["recall@10"] == 1.0  # user 0: rank 8; user 1: 7 is 5th (11, 10, 9, 8, 7)
    assert m["ndcg@10"] == pytest.approx((1 / np.log2(9) + 1 / np.log2(6)) / 2)
    table = p.report({"SASRec": {**m, "sampled HR@10": 1.0}}, framework="pytorch")
    assert table.who.tolist() == ["ours (PyTorch)", "published: Kang and McAuley 2018"]
    assert table.loc[1, "sampled HR@10"] == 0.825  # 0.8245 at 3 decimals
    assert table.loc[1, "recall@10"] == "not reported"
