"""Checks of chapter 7's exercises (scaling out).

Students: the references below are the answers. Try the exercise first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..checks import CheckResult, Hint, check_function, check_value
from . import register, tensor_inputs


@register("ch7-ex-average")
def share_weights(answer) -> CheckResult:
    return check_value(
        answer,
        [300 / 512, 212 / 512],
        name="the weights of the two workers' gradients",
        exercise="ch7-ex-average",
        hints=[
            Hint(
                [0.5, 0.5],
                "that is DDP's plain average: it weights the examples of the smaller "
                "share more. Weight each worker by its share of the 512 examples.",
            ),
            Hint(
                [300, 212],
                "those are the counts: divide by the global batch (512) so that the "
                "result is a mean",
            ),
            Hint(
                [212 / 512, 300 / 512],
                "the worker with 300 examples gets the larger weight",
            ),
        ],
    )


@register("ch7-ex-memory")
def table_gb(answer) -> CheckResult:
    weights_gb = 10_000_000 * 64 * 4 / 1e9
    return check_value(
        answer,
        3 * weights_gb,
        name="gigabytes of the table with Adam's state",
        rtol=1e-3,
        exercise="ch7-ex-memory",
        hints=[
            Hint(
                weights_gb,
                "that is the weights alone: Adam keeps two more values per weight "
                "(the first and second moments)",
            ),
            Hint(
                2 * weights_gb,
                "Adam keeps two values per weight besides the weight: three in all",
            ),
            Hint(
                3 * weights_gb * 1e9,
                "that is in bytes: a gigabyte here is 10^9 bytes",
            ),
            Hint(
                3 * weights_gb * 1e9 / 2**30,
                "that is in GiB (2^30 bytes): the exercise asks for 10^9 bytes",
            ),
            Hint(
                4 * weights_gb,
                "an embedding's gradient touches only the rows of a batch: count the "
                "weights and Adam's two moments",
            ),
        ],
    )


def _owner_reference(ids, num_rows, world_size):
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


@register("ch7-ex-owner")
def row_owner(answer) -> CheckResult:
    return check_function(
        answer,
        _owner_reference,
        name="row_owner",
        make_inputs=_owner_inputs,
        exercise="ch7-ex-owner",
        hints=[
            Hint(
                _round_robin,
                "that is round-robin (modulo) sharding: the chapter gives each worker "
                "a contiguous block of rows",
            ),
            Hint(
                _floor_blocks,
                "a block holds ceil(num_rows / world_size) rows: with floor, the last "
                "rows land on a worker that does not exist",
            ),
        ],
    )


def _loss_inputs(rng):
    world_size, b, d = int(rng.integers(2, 5)), 6, 4
    user_vecs = rng.normal(size=(b, d)).astype(np.float32)
    all_item_vecs = rng.normal(size=(world_size * b, d)).astype(np.float32)
    rank = int(rng.integers(1, world_size))  # not 0: the offset matters
    return user_vecs, all_item_vecs, rank, float(rng.choice([0.1, 0.5]))


def _cross_entropy(logits, labels):
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0]
    return float(np.mean(log_z - logits[np.arange(len(logits)), labels]))


def _global_loss(user_vecs, all_item_vecs, rank, temperature):
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
    return _global_loss(user_vecs, all_item_vecs, rank, 1.0)


@register("ch7-ex-global-loss")
def global_loss(answer, *, framework: str) -> CheckResult:
    return check_function(
        answer,
        _global_loss,
        name="global_loss",
        make_inputs=_loss_inputs,
        convert_inputs=tensor_inputs(framework),
        rtol=1e-4,  # float32 tensors against a float64 reference
        exercise="ch7-ex-global-loss",
        hints=[
            Hint(
                _no_offset,
                "row r's positive is all_item_vecs[rank * b + r]: the labels start "
                "at rank * b, not at 0",
            ),
            Hint(
                _local_only,
                "you scored against this worker's own items only: those are local "
                "negatives; use every gathered item",
            ),
            Hint(_no_temperature, "divide the logits by the temperature"),
        ],
    )


@register("ch7-ex-nprobe")
def smallest_nprobe(answer, *, table: pd.DataFrame) -> CheckResult:
    if not {"index", "items", "recall", "value"} <= set(table.columns):
        raise ValueError(
            "table must be the chapter's serving table (columns index, items, "
            f"value, recall); got columns {list(table.columns)}"
        )
    rows = table[(table["index"] == "IVF-Flat") & (table["items"] == "1,000,000")]
    good = rows.loc[rows["recall"] >= 0.95, "value"]
    if good.empty:
        raise ValueError("no IVF-Flat setting of the table reaches a recall of 0.95")
    return check_value(
        answer,
        int(good.min()),
        name="the smallest nprobe with recall >= 0.95",
        exercise="ch7-ex-nprobe",
        hints=[
            Hint(
                int(rows["value"].max()),
                "that is the largest setting of the sweep: look for the SMALLEST one "
                "that reaches 0.95",
            ),
            Hint(
                lambda a: np.asarray(a).size == 1 and float(np.asarray(a)) < 1,
                "nprobe counts cells (an integer), it is not a recall",
            ),
        ],
    )
