"""Chapter 7's exercise checks: the worked answer passes, each typical mistake gets its
own hint, a stub reports "not attempted", and bad context fails clearly.

The answers below are written independently of recsys_utils/exercises/ch07.py (the
references there are the checks' own).
"""

import numpy as np
import pandas as pd
import pytest

import recsys_utils as ru
from recsys_utils.checks import CORRECT, ERROR, HINT, NOT_ATTEMPTED


def _stub(*args):
    raise NotImplementedError("your code here")


def _check(label, answer, capsys, **context):
    result = ru.exercises.check(label, answer, **context)
    assert result.exercise == label
    return result, capsys.readouterr().out


def test_chapter_7_labels_are_registered():
    assert {
        "ch7-ex-average",
        "ch7-ex-memory",
        "ch7-ex-owner",
        "ch7-ex-global-loss",
        "ch7-ex-nprobe",
    } <= set(ru.exercises.labels())


# --- share weights ------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, status, hint",
    [
        ([0.5859375, 0.4140625], CORRECT, None),  # 300/512 and 212/512, by hand
        ([0.5, 0.5], HINT, "DDP's plain average"),
        ([300, 212], HINT, "those are the counts"),
        ([0.4140625, 0.5859375], HINT, "300 examples gets the larger weight"),
        (..., NOT_ATTEMPTED, None),
    ],
)
def test_share_weights(answer, status, hint, capsys):
    result, out = _check("ch7-ex-average", answer, capsys)
    assert result.status == status
    if hint:
        assert hint in out


# --- memory -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, status, hint",
    [
        (7.68, CORRECT, None),  # 1e7 * 64 * 4 bytes = 2.56 GB, times 3 with Adam
        (2.56, HINT, "the weights alone"),
        (5.12, HINT, "three in all"),
        (7.68e9, HINT, "that is in bytes"),
        (7.152557373046875, HINT, "GiB"),
        (10.24, HINT, "touches only the rows of a batch"),
        (..., NOT_ATTEMPTED, None),
    ],
)
def test_table_memory(answer, status, hint, capsys):
    result, out = _check("ch7-ex-memory", answer, capsys)
    assert result.status == status
    if hint:
        assert hint in out


# --- row owner ----------------------------------------------------------------------


def _owner_by_loop(ids, num_rows, world_size):
    size = int(np.ceil(num_rows / world_size))
    owners, rows = [], []
    for j in ids:  # walk the blocks until the one holding j
        worker = 0
        while (worker + 1) * size <= j:
            worker += 1
        owners.append(worker)
        rows.append(j - worker * size)
    return np.array(owners), np.array(rows)


def test_row_owner_by_hand():
    # 10 rows on 3 workers: blocks of 4 -> rows 0-3, 4-7, 8-9
    owners, rows = _owner_by_loop([0, 3, 4, 9], 10, 3)
    np.testing.assert_array_equal(owners, [0, 0, 1, 2])
    np.testing.assert_array_equal(rows, [0, 3, 0, 1])


@pytest.mark.parametrize(
    "answer, status, hint",
    [
        (_owner_by_loop, CORRECT, None),
        (
            lambda ids, n, w: (np.asarray(ids) % w, np.asarray(ids) // w),
            HINT,
            "round-robin",
        ),
        (
            lambda ids, n, w: (np.asarray(ids) // (n // w), np.asarray(ids) % (n // w)),
            HINT,
            "ceil(num_rows / world_size)",
        ),
        (_stub, NOT_ATTEMPTED, None),
    ],
)
def test_row_owner(answer, status, hint, capsys):
    result, out = _check("ch7-ex-owner", answer, capsys)
    assert result.status == status
    if hint:
        assert hint in out


# --- the global-negatives loss, in both frameworks ------------------------------------


def _loss_pt(user_vecs, all_item_vecs, rank, temperature, offset=True, scale=True):
    import torch

    logits = user_vecs @ all_item_vecs.T / (temperature if scale else 1.0)
    b = len(user_vecs)
    labels = torch.arange(b) + (rank * b if offset else 0)
    return torch.nn.functional.cross_entropy(logits, labels)


def _loss_tf(user_vecs, all_item_vecs, rank, temperature, offset=True, scale=True):
    import tensorflow as tf

    logits = tf.matmul(user_vecs, all_item_vecs, transpose_b=True)
    logits = logits / (temperature if scale else 1.0)
    b = int(user_vecs.shape[0])
    labels = tf.range(b) + (rank * b if offset else 0)
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    )


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize(
    "variant, status, hint",
    [
        ({}, CORRECT, None),
        ({"offset": False}, HINT, "the labels start at rank * b"),
        ({"scale": False}, HINT, "divide the logits by the temperature"),
        ("stub", NOT_ATTEMPTED, None),
    ],
)
def test_global_negatives_loss(framework, variant, status, hint, capsys):
    loss = _loss_pt if framework == "pytorch" else _loss_tf
    answer = _stub if variant == "stub" else lambda *a: loss(*a, **variant)
    result, out = _check("ch7-ex-global-loss", answer, capsys, framework=framework)
    assert result.status == status, out
    if hint:
        assert hint in out


def test_global_negatives_loss_local_only_gets_its_hint(capsys):
    import torch

    def local_only(user_vecs, all_item_vecs, rank, temperature):
        b = len(user_vecs)
        mine = all_item_vecs[rank * b : (rank + 1) * b]
        logits = user_vecs @ mine.T / temperature
        return torch.nn.functional.cross_entropy(logits, torch.arange(b))

    result, out = _check("ch7-ex-global-loss", local_only, capsys, framework="pytorch")
    assert result.status == HINT and "local negatives" in out


def test_global_negatives_loss_needs_a_framework():
    with pytest.raises(ValueError, match="framework must be 'pytorch' or 'tensorflow'"):
        ru.exercises.check("ch7-ex-global-loss", _stub, framework="jax")


# --- nprobe -------------------------------------------------------------------------

TABLE = pd.DataFrame(
    {
        "items": ["1,000,000"] * 4 + ["100,000"] * 2,
        "index": ["IVF-Flat"] * 4 + ["IVF-Flat"] * 2,
        "value": [4, 8, 16, 32, 1, 2],
        "recall": [0.84, 0.93, 0.976, 0.994, 0.99, 1.0],
    }
)


@pytest.mark.parametrize(
    "answer, status, hint",
    [
        (16, CORRECT, None),  # the first setting with recall >= 0.95 on the million
        (32, HINT, "look for the SMALLEST"),
        (0.976, HINT, "not a recall"),
        (1, HINT, None),  # the 100,000-item rows do not count
        (..., NOT_ATTEMPTED, None),
    ],
)
def test_smallest_nprobe(answer, status, hint, capsys):
    result, out = _check("ch7-ex-nprobe", answer, capsys, table=TABLE)
    assert result.status == status
    if hint:
        assert hint in out


def test_smallest_nprobe_rejects_another_table():
    with pytest.raises(ValueError, match="the chapter's table"):
        ru.exercises.check("ch7-ex-nprobe", 16, table=pd.DataFrame({"x": [1]}))


def test_an_exception_in_the_answer_is_an_error(capsys):
    result, _ = _check("ch7-ex-owner", lambda *a: 1 / 0, capsys)
    assert result.status == ERROR
