"""recsys_utils.retrieval's training helper (chapter 3): the NumPy reference of the
in-batch softmax loss, against values worked out by hand (the purchase histories:
test_histories.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys_utils.retrieval import in_batch_softmax_loss


def _frame(rows):
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def test_in_batch_softmax_loss_by_hand():
    # B = 2, d = 1: u = [1, 0], v = [1, 2], temperature 1 -> logits [[1, 2], [0, 0]].
    u, v = np.array([[1.0], [0.0]]), np.array([[1.0], [2.0]])
    row0 = -(1 - math.log(math.e**1 + math.e**2))
    row1 = -(0 - math.log(2.0))
    assert in_batch_softmax_loss(u, v, [0, 1], temperature=1.0) == pytest.approx(
        (row0 + row1) / 2
    )
    # logQ: q = [0.5, 0.25] subtracts log q per column -> logits [[1.69, 3.39], ...]
    log_q = np.log([0.5, 0.25])
    l0 = np.array([1.0, 2.0]) - log_q
    l1 = np.array([0.0, 0.0]) - log_q
    expected = (
        -(l0[0] - np.log(np.exp(l0).sum())) - (l1[1] - np.log(np.exp(l1).sum()))
    ) / 2
    assert in_batch_softmax_loss(u, v, [0, 1], log_q, 1.0) == pytest.approx(expected)


def test_in_batch_softmax_loss_masks_duplicates():
    # the same item twice: each row's only candidate is its own positive -> loss 0
    u, v = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.3, 0.1], [0.3, 0.1]])
    assert in_batch_softmax_loss(u, v, [4, 4]) == pytest.approx(0.0)


def test_in_batch_softmax_loss_temperature_scales_logits():
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    ids = np.arange(5)
    assert in_batch_softmax_loss(u, v, ids, temperature=0.5) == pytest.approx(
        in_batch_softmax_loss(2 * u, v, ids, temperature=1.0)
    )


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.ones((2, 3)), np.ones((3, 3)), [0, 1]), "same non-empty shape"),
        ((np.ones((2, 3)), np.ones((2, 3)), [0]), "item_ids"),
        ((np.ones((2, 3)), np.ones((2, 3)), [0, 1], np.zeros(1)), "log_q"),
        ((np.ones((2, 3)), np.ones((2, 3)), [0, 1], None, 0.0), "temperature"),
    ],
)
def test_in_batch_softmax_loss_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        in_batch_softmax_loss(*args)
