"""Chapter 7: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def share_weights_reference(shares):
    shares = np.asarray(shares, dtype=float)
    return shares / shares.sum()


def _share_inputs(rng):  # distinct shares: the plain average and reversal differ
    num_workers = int(rng.integers(2, 7))
    shares = rng.choice(np.arange(1, 600), num_workers, replace=False)
    return ([int(s) for s in shares],)


def _share_hidden(rng):
    num_workers = int(rng.integers(2, 9))
    shares = rng.choice(np.arange(1, 5000), num_workers, replace=False)
    return ([int(s) for s in shares],)


def _plain_average(shares):
    return np.full(len(shares), 1 / len(shares))


def _counts(shares):
    return np.asarray(shares, dtype=float)


def _reversed_shares(shares):
    return share_weights_reference(shares)[::-1]


_SLOTS = {"sgd": 0, "adagrad": 1, "adam": 2}  # optimizer values per weight


def _table_bytes(rows, dim, bytes_per_value, optimizer, extra=0):
    return rows * dim * bytes_per_value * (1 + _SLOTS[optimizer] + extra)


def table_gb_reference(num_rows, dim, world_size, bytes_per_value, optimizer):
    rows = -(-num_rows // world_size)  # the busiest worker holds ceil(R / W) rows
    return _table_bytes(rows, dim, bytes_per_value, optimizer) / 1e9


def _memory_inputs(rng, low=1_000, high=100_000, max_workers=8, min_workers=2):
    world_size = int(rng.integers(min_workers, max_workers + 1))
    num_rows = int(rng.integers(low, high))
    if world_size > 1 and num_rows % world_size == 0:  # the ceiling must matter
        num_rows += 1
    dim = int(rng.choice([8, 16, 32, 64, 128]))
    bytes_per_value = int(rng.choice([1, 2, 4]))
    optimizer = str(rng.choice(["sgd", "adagrad", "adam"]))
    return num_rows, dim, world_size, bytes_per_value, optimizer


def _memory_hidden(rng):
    return _memory_inputs(rng, 10, 10_000_000, max_workers=64, min_workers=1)


def _weights_only(num_rows, dim, world_size, bytes_per_value, optimizer):
    return table_gb_reference(num_rows, dim, world_size, bytes_per_value, "sgd")


def _gib(num_rows, dim, world_size, bytes_per_value, optimizer):
    args = num_rows, dim, world_size, bytes_per_value, optimizer
    return table_gb_reference(*args) * 1e9 / 2**30


def _no_ceiling(num_rows, dim, world_size, bytes_per_value, optimizer):
    return _table_bytes(num_rows / world_size, dim, bytes_per_value, optimizer) / 1e9


def _with_gradients(num_rows, dim, world_size, bytes_per_value, optimizer):
    rows = -(-num_rows // world_size)
    return _table_bytes(rows, dim, bytes_per_value, optimizer, extra=1) / 1e9


def _block_owner(ids, num_rows, world_size):
    rows_per_worker = -(-num_rows // world_size)
    ids = np.asarray(ids)
    return ids // rows_per_worker, ids - (ids // rows_per_worker) * rows_per_worker


def _cyclic_owner(ids, num_rows, world_size):
    ids = np.asarray(ids)
    return ids % world_size, ids // world_size


def owner_reference(ids, num_rows, world_size, scheme):
    owner = _block_owner if scheme == "block" else _cyclic_owner
    return owner(ids, num_rows, world_size)


def _owner_inputs(rng, max_workers=6, max_rows_per_worker=40):
    world_size = int(rng.integers(2, max_workers))
    num_rows = int(
        world_size * rng.integers(5, max_rows_per_worker) + rng.integers(1, world_size)
    )  # never a multiple of world_size: floor and ceiling blocks differ
    scheme = str(rng.choice(["block", "cyclic"]))
    return rng.integers(0, num_rows, 50), num_rows, world_size, scheme


def _owner_hidden(rng, trial):
    """Hidden case ``trial``: even trials use 'block', odd ones 'cyclic', so every
    grading seed checks both schemes (a random scheme left all four cyclic for some
    seeds, and floor-sized blocks passed)."""
    ids, num_rows, world_size, _ = _owner_inputs(
        rng, max_workers=17, max_rows_per_worker=500
    )
    return ids, num_rows, world_size, ("block", "cyclic")[trial % 2]


def _swapped(ids, num_rows, world_size, scheme):
    other = "cyclic" if scheme == "block" else "block"
    return owner_reference(ids, num_rows, world_size, other)


def _floor_blocks(ids, num_rows, world_size, scheme):  # blocks of floor(R / W) rows
    if scheme != "block":
        return _cyclic_owner(ids, num_rows, world_size)
    rows_per_worker = num_rows // world_size
    ids = np.asarray(ids)
    return ids // rows_per_worker, ids % rows_per_worker


def _loss_inputs(rng):
    world_size, b, d = int(rng.integers(2, 5)), 6, 4
    user_vecs = rng.normal(size=(b, d)).astype(np.float32)
    all_item_vecs = rng.normal(size=(world_size * b, d)).astype(np.float32)
    rank = int(rng.integers(1, world_size))  # not 0: the offset matters
    return user_vecs, all_item_vecs, rank, float(rng.choice([0.1, 0.5]))


def _loss_hidden(rng):
    world_size, b, d = int(rng.integers(2, 6)), int(rng.integers(2, 8)), 3
    user_vecs = rng.normal(size=(b, d)).astype(np.float32)
    all_item_vecs = rng.normal(size=(world_size * b, d)).astype(np.float32)
    rank = int(rng.integers(1, world_size))
    return user_vecs, all_item_vecs, rank, float(rng.choice([0.2, 0.5, 1.0]))


def _cross_entropy(logits, labels):
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0]
    return float(np.mean(log_z - logits[np.arange(len(logits)), labels]))


def global_loss_reference(user_vecs, all_item_vecs, rank, temperature):
    b = len(user_vecs)
    logits = user_vecs @ all_item_vecs.T / temperature
    return _cross_entropy(logits, rank * b + np.arange(b))


def _no_offset(user_vecs, all_item_vecs, rank, temperature):
    logits = user_vecs @ all_item_vecs.T / temperature
    return _cross_entropy(logits, np.arange(len(user_vecs)))


def _local_only(user_vecs, all_item_vecs, rank, temperature):
    b = len(user_vecs)
    mine = all_item_vecs[rank * b : (rank + 1) * b]
    return _cross_entropy(user_vecs @ mine.T / temperature, np.arange(b))


def _no_temperature(user_vecs, all_item_vecs, rank, temperature):
    return global_loss_reference(user_vecs, all_item_vecs, rank, 1.0)


def _group(table, index, items):
    return table[(table["index"] == index) & (table["items"] == items)]


def smallest_setting_reference(table, index, items, target):
    rows = _group(table, index, items)
    good = rows.loc[rows["recall"] >= target, "value"]
    return -1 if good.empty else int(good.min())


_SETTINGS = {
    "IVF-Flat": [1, 2, 4, 8, 16, 32, 64, 128],
    "IVF-PQ": [1, 2, 4, 8, 16, 32, 64],
    "HNSW": [8, 16, 32, 64, 128, 256],
}
_SIZES = ["100,000", "1,000,000", "10,000,000"]


def _serving_table(rng, num_groups):
    frames = []
    pairs = [(i, n) for i in _SETTINGS for n in _SIZES]
    for k in rng.permutation(len(pairs))[:num_groups]:
        index, items = pairs[k]
        values = np.array(_SETTINGS[index])
        # recall on a 0.01 grid (ties with the target happen), mostly increasing
        recall = np.sort(rng.integers(50, 101, len(values))) / 100
        if rng.random() < 0.5:  # a sweep that is not monotone
            i = int(rng.integers(0, len(values) - 1))
            recall[[i, i + 1]] = recall[[i + 1, i]]
        qps = np.round(1e5 / values * rng.uniform(0.3, 3.0, len(values)))
        frames.append(
            pd.DataFrame(
                {"index": index, "items": items, "value": values}
                | {"recall": recall, "qps": qps}
            )
        )
    table = pd.concat(frames, ignore_index=True)
    return table.iloc[rng.permutation(len(table))].reset_index(drop=True)


def _setting_inputs(rng, num_groups=4):
    table = _serving_table(rng, num_groups)
    index, items = table.iloc[int(rng.integers(0, len(table)))][["index", "items"]]
    recalls = np.sort(_group(table, index, items)["recall"].to_numpy())
    if rng.random() < 0.1:
        target = 1.01  # no setting reaches it
    else:  # one of the sweep's own recalls (a tie), neither the lowest nor the highest
        target = float(recalls[rng.integers(1, len(recalls) - 1)])
    return table, str(index), str(items), target


def _setting_hidden(rng):
    return _setting_inputs(rng, num_groups=int(rng.integers(2, 10)))


def _reached(table, index, items, target, strict=False):
    rows = _group(table, index, items)
    recall = rows["recall"]
    return rows[recall > target] if strict else rows[recall >= target]


def _largest(table, index, items, target):
    good = _reached(table, index, items, target)
    return -1 if good.empty else int(good["value"].max())


def _first_row(table, index, items, target):
    good = _reached(table, index, items, target)
    return -1 if good.empty else int(good["value"].iloc[0])


def _strict(table, index, items, target):
    good = _reached(table, index, items, target, strict=True)
    return -1 if good.empty else int(good["value"].min())


EXERCISES = {
    "ch7-ex-average": {
        "kind": "function",
        "name": "share_weights",
        "points": 1,
        "reference": share_weights_reference,
        "inputs": _share_inputs,
        "hidden": _share_hidden,
        "hints": [
            (
                _plain_average,
                "that is DDP's plain average: it weights the examples of the smaller "
                "shares more. Weight each worker by its share of the global batch.",
            ),
            (
                _counts,
                "those are the counts: divide by the global batch (their sum) so "
                "that the result is a mean",
            ),
            (
                _reversed_shares,
                "the weights are in reverse order: the worker with the most examples "
                "gets the largest weight",
            ),
        ],
    },
    "ch7-ex-memory": {
        "kind": "function",
        "name": "worker_table_gb",
        "points": 1,
        "reference": table_gb_reference,
        "inputs": _memory_inputs,
        "hidden": _memory_hidden,
        "rtol": 1e-9,  # the ceiling changes the result by more than 1e-7
        "atol": 0.0,  # a small table is a tiny number of gigabytes
        "hints": [
            (
                _weights_only,
                "that is the weights alone: add the optimizer's state (Adagrad keeps "
                "one more value per weight, Adam two)",
            ),
            (_gib, "that is in GiB (2^30 bytes): a gigabyte here is 10^9 bytes"),
            (
                _no_ceiling,
                "the busiest worker holds ceil(num_rows / world_size) rows, not "
                "num_rows / world_size",
            ),
            (
                _with_gradients,
                "an embedding's gradient touches only the rows of a batch: count the "
                "weights and the optimizer's state",
            ),
        ],
    },
    "ch7-ex-owner": {
        "kind": "function",
        "name": "row_owner",
        "points": 2,
        "reference": owner_reference,
        "inputs": _owner_inputs,
        "hidden": _owner_hidden,
        "hints": [
            (
                _swapped,
                "the two schemes are swapped: 'block' gives each worker a contiguous "
                "block of rows, 'cyclic' deals the rows out in turn (row j on worker "
                "j % W)",
            ),
            (
                _floor_blocks,
                "a block holds ceil(num_rows / world_size) rows: with floor, the last "
                "rows land on a worker that does not exist",
            ),
        ],
    },
    "ch7-ex-global-loss": {
        "kind": "function",
        "name": "global_loss",
        "points": 2,
        "reference": global_loss_reference,
        "inputs": _loss_inputs,
        "hidden": _loss_hidden,
        "tensors": True,
        "framework": "required",
        "rtol": 1e-4,  # float32 tensors against a float64 reference
        "hints": [
            (
                _no_offset,
                "row r's positive is all_item_vecs[rank * b + r]: the labels start "
                "at rank * b, not at 0",
            ),
            (
                _local_only,
                "you scored against this worker's own items only: those are local "
                "negatives; use every gathered item",
            ),
            (_no_temperature, "divide the logits by the temperature"),
        ],
    },
    "ch7-ex-nprobe": {
        "kind": "function",
        "name": "smallest_setting",
        "points": 1,
        "reference": smallest_setting_reference,
        "inputs": _setting_inputs,
        "hidden": _setting_hidden,
        "hints": [
            (
                _largest,
                "that is the largest setting that reaches the target: look for the "
                "SMALLEST one",
            ),
            (
                _first_row,
                "that is the first row in the table's order: the rows are not sorted "
                "by setting, take the smallest setting that reaches the target",
            ),
            (
                _strict,
                "a recall equal to the target reaches it: compare with >=, not >",
            ),
        ],
    },
}
