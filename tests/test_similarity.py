"""recsys_utils.similarity against hand-worked values and brute-force loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recsys_utils.similarity import (
    cosine_matrix,
    neighbour_overlap,
    normalize_rows,
    rescale_dimensions,
    topk_cosine,
)


def brute_cos(a, b, eps=1e-8):
    out = np.zeros((len(a), len(b)))
    for i in range(len(a)):
        for j in range(len(b)):
            na = max(math.sqrt(sum(x * x for x in a[i])), eps)
            nb = max(math.sqrt(sum(x * x for x in b[j])), eps)
            out[i, j] = sum(x * y for x, y in zip(a[i], b[j])) / (na * nb)
    return out


def test_cosine_by_hand():
    u = [[0.2, 0.5, 0.8]]
    v = [[0.1, 0.6, 0.7], [0.8, 0.2, 0.3]]
    got = cosine_matrix(u, v)
    # 0.02+0.30+0.56 = 0.88; |u| = sqrt(0.93), |v1| = sqrt(0.86)
    assert got[0, 0] == pytest.approx(0.88 / math.sqrt(0.93 * 0.86))
    # 0.16+0.10+0.24 = 0.50; |v2| = sqrt(0.77)
    assert got[0, 1] == pytest.approx(0.50 / math.sqrt(0.93 * 0.77))
    assert cosine_matrix([[1.0, 0.0]], [[0.0, 3.0], [-2.0, 0.0]]) == pytest.approx(
        np.array([[0.0, -1.0]])
    )


def test_cosine_matches_brute_force_and_ignores_length():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 4)), rng.normal(size=(7, 4))
    np.testing.assert_allclose(cosine_matrix(a, b), brute_cos(a, b), atol=1e-12)
    np.testing.assert_allclose(
        cosine_matrix(3.0 * a, 0.1 * b), cosine_matrix(a, b), atol=1e-12
    )
    np.testing.assert_allclose(np.diag(cosine_matrix(a)), 1.0)


def test_zero_vector_gives_zero_not_nan():
    got = cosine_matrix([[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(got[0], [0.0, 0.0])
    np.testing.assert_array_equal(normalize_rows([[0.0, 0.0]]), [[0.0, 0.0]])
    with pytest.raises(ValueError, match="eps"):
        cosine_matrix([[1.0]], eps=0)
    with pytest.raises(ValueError, match="2-D"):
        cosine_matrix([1.0, 2.0])


def test_topk_cosine_matches_full_sort():
    rng = np.random.default_rng(1)
    q, items = rng.normal(size=(6, 3)), rng.normal(size=(20, 3))
    idx, sims = topk_cosine(q, items, k=4, batch_size=4)
    full = brute_cos(q, items)
    for r in range(6):
        expected = sorted(range(20), key=lambda j: (-full[r, j], j))[:4]
        assert list(idx[r]) == expected
        np.testing.assert_allclose(sims[r], full[r, expected], atol=1e-12)


def test_topk_cosine_exclude_self_and_ties():
    x = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    idx, sims = topk_cosine(x, x, k=2, exclude_self=True)
    assert list(idx[0]) == [1, 3]  # item 1 is parallel to item 0 (cos 1)
    assert list(idx[3]) == [0, 1]  # tie at cos = 1/sqrt(2): lower id first
    np.testing.assert_allclose(sims[3], [1 / math.sqrt(2)] * 2)
    with pytest.raises(ValueError, match="k must"):
        topk_cosine(x, x, k=4, exclude_self=True)


@pytest.mark.parametrize("batch_size", [1, 3, 4096])
def test_topk_cosine_breaks_ties_at_the_cut_by_the_lower_id(batch_size):
    # items 1, 2, 5, 6 are parallel to the query (cosine 1, exactly: [2, 0] etc.),
    # the others orthogonal or opposite. Top 3: the three lowest ids of the tie,
    # [1, 2, 5], never 6 (argpartition alone may pick any three of the four).
    items = np.array(
        [
            [0.0, 1.0],
            [1.0, 0.0],
            [2.0, 0.0],
            [0.0, -1.0],
            [-1.0, 0.0],
            [3.0, 0.0],
            [0.5, 0.0],
            [0.0, 2.0],
        ]
    )
    queries = np.array([[1.0, 0.0], [4.0, 0.0], [0.0, 1.0]])
    item_ids, sims = topk_cosine(queries, items, k=3, batch_size=batch_size)
    np.testing.assert_array_equal(item_ids[:2], [[1, 2, 5], [1, 2, 5]])
    np.testing.assert_array_equal(sims[:2], np.ones((2, 3)))
    # the third query is parallel to items 0 and 7, then a tie at 0 among 1, 2, 5, 6
    np.testing.assert_array_equal(item_ids[2], [0, 7, 1])
    np.testing.assert_array_equal(sims[2], [1.0, 1.0, 0.0])
    # the same rule, item by item, over many random tied rows (few distinct values)
    rng = np.random.default_rng(0)
    many = rng.integers(-1, 2, size=(40, 3)).astype(float)
    q = rng.integers(-1, 2, size=(9, 3)).astype(float)
    ids, s = topk_cosine(q, many, k=7, batch_size=batch_size)
    full = brute_cos(q, many)
    for r in range(9):
        expected = sorted(range(40), key=lambda j: (-round(full[r, j], 12), j))[:7]
        assert list(ids[r]) == expected


def test_rescale_keeps_dot_products():
    rng = np.random.default_rng(2)
    P, Q = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    P2, Q2 = rescale_dimensions(P, Q, [2.0, 0.5, 10.0])
    np.testing.assert_allclose(P2 @ Q2.T, P @ Q.T, atol=1e-12)
    np.testing.assert_allclose(P2[:, 2], 10 * P[:, 2])
    assert not np.allclose(cosine_matrix(Q2), cosine_matrix(Q))
    with pytest.raises(ValueError, match="non-zero"):
        rescale_dimensions(P, Q, [1.0, 0.0, 1.0])


def test_neighbour_overlap():
    got = neighbour_overlap([[1, 2, 3], [4, 5, 6]], [[3, 2, 9], [7, 8, 9]])
    np.testing.assert_allclose(got, [2 / 3, 0.0])
