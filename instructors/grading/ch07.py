"""Chapter 7: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np


def share_weights_reference():
    return [300 / 512, 212 / 512]


_WEIGHTS_GB = 10_000_000 * 64 * 4 / 1e9


def table_gb_reference():
    return 3 * _WEIGHTS_GB


def owner_reference(ids, num_rows, world_size):
    rows_per_worker = -(-num_rows // world_size)
    ids = np.asarray(ids)
    return ids // rows_per_worker, ids - (ids // rows_per_worker) * rows_per_worker


def _owner_inputs(rng):
    world_size = int(rng.integers(2, 6))
    num_rows = int(world_size * rng.integers(5, 40) + rng.integers(1, world_size))
    return rng.integers(0, num_rows, 50), num_rows, world_size


def _round_robin(ids, num_rows, world_size):  # a valid scheme, not the chapter's
    ids = np.asarray(ids)
    return ids % world_size, ids // world_size


def _floor_blocks(ids, num_rows, world_size):  # blocks of floor(R / W) rows
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


def nprobe_reference(table):
    rows = table[(table["index"] == "IVF-Flat") & (table["items"] == "1,000,000")]
    return int(rows.loc[rows["recall"] >= 0.95, "value"].min())


EXERCISES = {
    "ch7-ex-average": {
        "kind": "value",
        "name": "the weights of the two workers' gradients",
        "points": 1,
        "reference": share_weights_reference,
        "hints": [
            (
                [0.5, 0.5],
                "that is DDP's plain average: it weights the examples of the smaller "
                "share more. Weight each worker by its share of the 512 examples.",
            ),
            (
                [300, 212],
                "those are the counts: divide by the global batch (512) so that the "
                "result is a mean",
            ),
            (
                [212 / 512, 300 / 512],
                "the worker with 300 examples gets the larger weight",
            ),
        ],
    },
    "ch7-ex-memory": {
        "kind": "value",
        "name": "gigabytes of the table with Adam's state",
        "points": 1,
        "reference": table_gb_reference,
        "rtol": 1e-3,
        "hints": [
            (
                _WEIGHTS_GB,
                "that is the weights alone: Adam keeps two more values per weight "
                "(the first and second moments)",
            ),
            (
                2 * _WEIGHTS_GB,
                "Adam keeps two values per weight besides the weight: three in all",
            ),
            (3 * _WEIGHTS_GB * 1e9, "that is in bytes: a gigabyte here is 10^9 bytes"),
            (
                3 * _WEIGHTS_GB * 1e9 / 2**30,
                "that is in GiB (2^30 bytes): the exercise asks for 10^9 bytes",
            ),
            (
                4 * _WEIGHTS_GB,
                "an embedding's gradient touches only the rows of a batch: count the "
                "weights and Adam's two moments",
            ),
        ],
    },
    "ch7-ex-owner": {
        "kind": "function",
        "name": "row_owner",
        "points": 2,
        "reference": owner_reference,
        "inputs": _owner_inputs,
        "hints": [
            (
                _round_robin,
                "that is round-robin (modulo) sharding: the chapter gives each worker "
                "a contiguous block of rows",
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
        "kind": "table",
        "name": "the smallest nprobe with recall >= 0.95",
        "points": 1,
        "reference": nprobe_reference,
        "column": "recall",
        "threshold": 0.95,
        "setting": "value",
        "filter": {"index": "IVF-Flat", "items": "1,000,000"},
        "hints": {
            "largest": "that is the largest setting of the sweep: look for the "
            "SMALLEST one that reaches 0.95",
            "fraction": "nprobe counts cells (an integer), it is not a recall",
        },
    },
}
