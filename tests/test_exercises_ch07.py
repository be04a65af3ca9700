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


def _share_weights_by_loop(shares):
    total = 0
    for n in shares:
        total += n
    return [n / total for n in shares]


def test_share_weights_by_hand():
    np.testing.assert_allclose(
        _share_weights_by_loop([300, 212]), [0.5859375, 0.4140625]
    )


@pytest.mark.parametrize(
    "answer, status, hint",
    [
        (_share_weights_by_loop, CORRECT, None),
        (lambda shares: [1 / len(shares)] * len(shares), HINT, "DDP's plain average"),
        (lambda shares: list(shares), HINT, "those are the counts"),
        (
            lambda shares: _share_weights_by_loop(shares)[::-1],
            HINT,
            "reverse order",
        ),
        (lambda shares: [0.5859375, 0.4140625], HINT, None),  # the example memorised
        (_stub, NOT_ATTEMPTED, None),
    ],
)
def test_share_weights(answer, status, hint, capsys):
    result, out = _check("ch7-ex-average", answer, capsys)
    assert result.status == status
    if hint:
        assert hint in out


# --- memory -------------------------------------------------------------------------


def _worker_gb(num_rows, dim, world_size, bytes_per_value, optimizer, **mistake):
    per_weight = {"sgd": 1, "adagrad": 2, "adam": 3}[optimizer]
    per_weight += mistake.get("gradients", 0)
    if mistake.get("weights_only"):
        per_weight = 1
    busiest = num_rows / world_size
    if not mistake.get("no_ceiling"):
        busiest = int(np.ceil(busiest))
    total = busiest * dim * bytes_per_value * per_weight
    return total / (2**30 if mistake.get("gib") else 1e9)


def test_worker_table_gb_by_hand():
    # 1e7 * 64 * 4 bytes = 2.56 GB, times 3 with Adam; a quarter of it on 4 workers
    np.testing.assert_allclose(_worker_gb(10_000_000, 64, 1, 4, "adam"), 7.68)
    np.testing.assert_allclose(_worker_gb(10_000_000, 64, 4, 4, "adam"), 1.92)
    # 10 rows on 3 workers: the busiest holds 4 rows of 2 values
    assert _worker_gb(10, 2, 3, 1, "sgd") == 8 / 1e9


@pytest.mark.parametrize(
    "mistake, status, hint",
    [
        ({}, CORRECT, None),
        ({"weights_only": True}, HINT, "the weights alone"),
        ({"gib": True}, HINT, "GiB"),
        ({"no_ceiling": True}, HINT, "ceil(num_rows / world_size) rows"),
        ({"gradients": 1}, HINT, "touches only the rows of a batch"),
        ("stub", NOT_ATTEMPTED, None),
    ],
)
def test_worker_table_gb(mistake, status, hint, capsys):
    answer = _stub if mistake == "stub" else lambda *a: _worker_gb(*a, **mistake)
    result, out = _check("ch7-ex-memory", answer, capsys)
    assert result.status == status, out
    if hint:
        assert hint in out


def test_worker_table_gb_memorised_value_is_not_correct(capsys):
    result, _ = _check("ch7-ex-memory", lambda *a: 7.68, capsys)
    assert result.status == HINT


# --- row owner ----------------------------------------------------------------------


def _owner_by_loop(ids, num_rows, world_size, scheme):
    size = int(np.ceil(num_rows / world_size))
    owners, rows = [], []
    for j in ids:
        if scheme == "cyclic":  # deal the rows out until row j
            owners.append(j - world_size * (j // world_size))
            rows.append(j // world_size)
            continue
        worker = 0  # walk the blocks until the one holding j
        while (worker + 1) * size <= j:
            worker += 1
        owners.append(worker)
        rows.append(j - worker * size)
    return np.array(owners), np.array(rows)


def test_row_owner_by_hand():
    # 10 rows on 3 workers: blocks of 4 -> rows 0-3, 4-7, 8-9
    owners, rows = _owner_by_loop([0, 3, 4, 9], 10, 3, "block")
    np.testing.assert_array_equal(owners, [0, 0, 1, 2])
    np.testing.assert_array_equal(rows, [0, 3, 0, 1])
    # cyclic: rows 0, 3, 6, 9 on worker 0; 4 is worker 1's second row
    owners, rows = _owner_by_loop([0, 3, 4, 9], 10, 3, "cyclic")
    np.testing.assert_array_equal(owners, [0, 0, 1, 0])
    np.testing.assert_array_equal(rows, [0, 1, 1, 3])


def _swapped(ids, n, w, scheme):
    return _owner_by_loop(ids, n, w, "cyclic" if scheme == "block" else "block")


def _floor(ids, n, w, scheme):
    if scheme == "cyclic":
        return _owner_by_loop(ids, n, w, scheme)
    return np.asarray(ids) // (n // w), np.asarray(ids) % (n // w)


@pytest.mark.parametrize(
    "answer, status, hint",
    [
        (_owner_by_loop, CORRECT, None),
        (_swapped, HINT, "schemes are swapped"),
        (_floor, HINT, "ceil(num_rows / world_size)"),
        (lambda ids, n, w, s: _owner_by_loop(ids, n, w, "block"), HINT, None),
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

TABLE = pd.DataFrame(  # rows out of order; a recall of exactly 0.95; another size
    {
        "items": ["1,000,000"] * 5 + ["100,000"] * 2,
        "index": ["IVF-Flat"] * 5 + ["IVF-Flat"] * 2,
        "value": [32, 4, 16, 8, 64, 1, 2],
        "recall": [0.994, 0.84, 0.95, 0.93, 0.999, 0.99, 1.0],
        "qps": [900.0, 9000.0, 800.0, 4000.0, 300.0, 50000.0, 30000.0],
    }
)


def _smallest_by_loop(table, index, items, target, strict=False, pick=min):
    found = []
    for _, row in table.iterrows():
        if row["index"] != index or row["items"] != items:
            continue
        if row["recall"] > target or (row["recall"] == target and not strict):
            found.append(int(row["value"]))
    return pick(found) if found else -1


def test_smallest_setting_by_hand():
    assert _smallest_by_loop(TABLE, "IVF-Flat", "1,000,000", 0.95) == 16
    assert _smallest_by_loop(TABLE, "IVF-Flat", "1,000,000", 0.95, strict=True) == 32
    assert _smallest_by_loop(TABLE, "IVF-Flat", "100,000", 0.95) == 1
    assert _smallest_by_loop(TABLE, "IVF-Flat", "1,000,000", 1.0) == -1


def _fastest(table, index, items, target):
    rows = table[(table["index"] == index) & (table["items"] == items)]
    good = rows[rows["recall"] >= target]
    return -1 if good.empty else int(good.loc[good["qps"].idxmax(), "value"])


@pytest.mark.parametrize(
    "answer, status, hint",
    [
        (_smallest_by_loop, CORRECT, None),
        (lambda *a: _smallest_by_loop(*a, pick=max), HINT, "look for the SMALLEST"),
        (
            lambda *a: _smallest_by_loop(*a, pick=lambda found: found[0]),
            HINT,
            "the first row in the table's order",
        ),
        (lambda *a: _smallest_by_loop(*a, strict=True), HINT, "not >"),
        (_fastest, HINT, None),  # best_setting: the fastest, not the smallest
        (lambda *a: 16, HINT, None),  # this chapter's answer, memorised
        (_stub, NOT_ATTEMPTED, None),
    ],
)
def test_smallest_setting(answer, status, hint, capsys):
    result, out = _check("ch7-ex-nprobe", answer, capsys)
    assert result.status == status, out
    if hint:
        assert hint in out


def test_an_exception_in_the_answer_is_an_error(capsys):
    result, _ = _check("ch7-ex-owner", lambda *a: 1 / 0, capsys)
    assert result.status == ERROR
