"""Framework-neutral helpers of chapter 7 (scaling out): NumPy, pandas and faiss-cpu.

Taught in chapter 7: the global batches that every data-parallel worker draws alike,
throughput from per-step times, the memory arithmetic of embedding tables and of
FAISS indexes, the recall / throughput sweep of an approximate index against the
exact top-k, vectors drawn to match a trained table's distribution, and the machine
count of a capacity plan. ``faiss`` is imported only inside the functions that need it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .batching import minibatch_indices
from .validation import check_int, check_number

__all__ = [
    "global_batches",
    "examples_per_second",
    "OPTIMIZER_SLOTS",
    "embedding_bytes",
    "index_bytes",
    "add_to_cells",
    "recall_at_k_of_exact",
    "search_sweep",
    "gaussian_like",
    "machines_needed",
]

#: Values an optimizer keeps per parameter besides the parameter itself.
OPTIMIZER_SLOTS = {"sgd": 0, "adagrad": 1, "adam": 2}


def global_batches(
    n: int, batch_size: int, num_steps: int, *, seed: int = 0
) -> Iterator[np.ndarray]:
    """The global batches of data-parallel training, identical on every worker.

    Epoch ``e`` visits the examples in the order of
    ``minibatch_indices(n, batch_size, seed=seed, epoch=e)``; its last, incomplete
    batch is dropped (``drop_last``), so every batch holds exactly ``batch_size``
    examples and splits evenly over any number of workers that divides it. Epochs
    follow each other until ``num_steps`` batches have been given.

    Args:
        n: number of training examples (>= batch_size).
        batch_size: examples per global batch (>= 1).
        num_steps: number of batches to give (>= 1).
        seed: seed of the shuffling.

    Returns:
        an iterator of ``num_steps`` int64 arrays of length ``batch_size``.
    """
    batch_size = check_int(batch_size, "batch_size", low=1)
    n = check_int(n, "n", low=batch_size)
    num_steps = check_int(num_steps, "num_steps", low=1)
    per_epoch = n // batch_size
    for step in range(num_steps):
        epoch, index = divmod(step, per_epoch)
        if index == 0:
            batches = minibatch_indices(n, batch_size, seed=seed, epoch=epoch)
        yield batches[index]


def examples_per_second(
    step_seconds: Sequence[float], batch_size: int, *, warmup: int = 5
) -> float:
    """Training throughput from the duration of each step.

    The median step after ``warmup`` steps (the first steps pay for tracing, memory
    allocation and connection set-up) processes ``batch_size`` examples.

    Args:
        step_seconds: seconds of every step, in order.
        batch_size: examples per step (the global batch for a data-parallel run).
        warmup: steps left out at the start (>= 0, fewer than the steps).

    Returns:
        ``batch_size / median(step_seconds[warmup:])``.
    """
    seconds = np.asarray(step_seconds, dtype=np.float64).reshape(-1)
    warmup = check_int(warmup, "warmup", low=0)
    if seconds.size <= warmup:
        raise ValueError(
            f"step_seconds must hold more than warmup={warmup} steps; "
            f"got {seconds.size}"
        )
    if not np.isfinite(seconds).all() or (seconds <= 0).any():
        raise ValueError("step_seconds must be positive finite numbers")
    batch_size = check_int(batch_size, "batch_size", low=1)
    return float(batch_size / np.median(seconds[warmup:]))


def embedding_bytes(
    num_rows: int,
    embedding_dim: int,
    *,
    bytes_per_value: int = 4,
    optimizer: str = "adam",
) -> dict[str, int]:
    """Memory of an embedding table and of its optimizer state, in bytes.

    ``weights = num_rows * embedding_dim * bytes_per_value``; the optimizer keeps
    ``OPTIMIZER_SLOTS[optimizer]`` more values per weight (Adam: two moments,
    Adagrad: one accumulator, SGD: none). Gradients are left out: an embedding's
    gradient touches only the rows of a batch.

    Args:
        num_rows: rows of the table (>= 1).
        embedding_dim: values per row (>= 1).
        bytes_per_value: 4 for float32, 2 for float16 / bfloat16, 1 for int8.
        optimizer: ``"sgd"``, ``"adagrad"`` or ``"adam"``.

    Returns:
        ``{"weights": ..., "optimizer_state": ..., "total": ...}`` in bytes.
    """
    num_rows = check_int(num_rows, "num_rows", low=1)
    embedding_dim = check_int(embedding_dim, "embedding_dim", low=1)
    bytes_per_value = check_int(bytes_per_value, "bytes_per_value", low=1)
    if optimizer not in OPTIMIZER_SLOTS:
        raise ValueError(
            f"optimizer must be one of {sorted(OPTIMIZER_SLOTS)}; got {optimizer!r}"
        )
    weights = num_rows * embedding_dim * bytes_per_value
    state = OPTIMIZER_SLOTS[optimizer] * weights
    return {"weights": weights, "optimizer_state": state, "total": weights + state}


def index_bytes(index) -> int:
    """Bytes of a FAISS index, measured as the size of its serialised form.

    An ``IndexShards`` is measured shard by shard (its shards are what the machines
    hold).

    Args:
        index: a FAISS index.

    Returns:
        the number of bytes.
    """
    import faiss

    shards = faiss.downcast_index(index)
    if isinstance(shards, faiss.IndexShards):
        return sum(index_bytes(shards.at(i)) for i in range(shards.count()))
    return int(faiss.serialize_index(index).size)


def add_to_cells(index, vectors: Any, cells: Any) -> None:
    """Add vectors to an IVF index when each vector's cell is already known.

    ``index.add`` first finds every vector's cell (a search of the coarse quantizer,
    the costly part for a large catalogue). Indexes that share one trained quantizer
    (IVF-Flat and IVF-PQ over the same cells) can reuse one assignment,
    ``_, cells = quantizer.search(vectors, 1)``. The vectors get the ids
    ``index.ntotal, index.ntotal + 1, ...``, as with ``index.add``.

    Args:
        index: a trained FAISS IVF index.
        vectors: ``(n, d)`` float32 vectors.
        cells: ``(n,)`` or ``(n, 1)`` int cell of each vector, in ``[0, index.nlist)``.

    Returns:
        None (the index is changed in place).
    """
    import faiss

    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    c = np.ascontiguousarray(np.asarray(cells).reshape(-1), dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != index.d or len(c) != len(x):
        raise ValueError(
            f"vectors must be (n, {index.d}) and cells (n,); "
            f"got {x.shape} and {c.shape}"
        )
    if len(c) and (c.min() < 0 or c.max() >= index.nlist):
        raise ValueError(f"cells must lie in [0, {index.nlist})")
    if not index.is_trained:
        raise ValueError("index must be trained before vectors are added")
    index.add_core(len(x), faiss.swig_ptr(x), None, faiss.swig_ptr(c))


def recall_at_k_of_exact(found_ids: Any, exact_ids: Any) -> float:
    """Recall of the exact top-k: the mean share of each exact list that was found.

    Args:
        found_ids: ``(num_queries, k)`` ids returned by an index (-1 = nothing).
        exact_ids: ``(num_queries, k)`` ids of the exact top-k.

    Returns:
        ``mean_q |found_q & exact_q| / k``, in [0, 1].
    """
    found, exact = np.asarray(found_ids), np.asarray(exact_ids)
    if found.ndim != 2 or found.shape != exact.shape or found.size == 0:
        raise ValueError(
            "found_ids and exact_ids must be 2-D arrays of the same non-empty shape; "
            f"got {found.shape} and {exact.shape}"
        )
    k = exact.shape[1]
    # a hit: an exact id that appears among the found ids of the same query
    hits = (exact[:, :, None] == found[:, None, :]).any(axis=2).sum()
    return float(hits / (k * len(exact)))


def search_sweep(
    index,
    queries: Any,
    exact_ids: Any,
    settings: Sequence[int | None],
    *,
    param: str | None = None,
    repeats: int = 3,
) -> pd.DataFrame:
    """Recall of the exact top-k and queries per second, for each setting of an index.

    Each setting is applied with ``faiss.ParameterSpace`` (``nprobe`` for IVF
    indexes, ``efSearch`` for HNSW, applied to every shard of an ``IndexShards``),
    then all queries are searched at once, ``repeats`` times; the best time counts
    (the others are disturbed by the rest of the machine).

    Args:
        index: a FAISS index holding the catalogue.
        queries: ``(num_queries, d)`` float32 query vectors.
        exact_ids: ``(num_queries, k)`` ids of the exact top-k of each query.
        settings: values of ``param``; ``None`` searches as the index is.
        param: ``"nprobe"`` or ``"efSearch"``; needed unless every setting is None.
        repeats: timed searches per setting (>= 1).

    Returns:
        DataFrame with columns ``param, value, recall, qps, ms_per_query``.
    """
    import faiss

    q = np.ascontiguousarray(np.asarray(queries, dtype=np.float32))
    exact = np.asarray(exact_ids)
    if q.ndim != 2 or exact.ndim != 2 or len(q) != len(exact) or not len(q):
        raise ValueError(
            "queries (num_queries, d) and exact_ids (num_queries, k) must be 2-D with "
            f"the same number of rows; got {q.shape} and {exact.shape}"
        )
    repeats = check_int(repeats, "repeats", low=1)
    if param is None and any(s is not None for s in settings):
        raise ValueError("param must name the setting ('nprobe' or 'efSearch')")
    k = exact.shape[1]
    space = faiss.ParameterSpace()
    rows = []
    for value in settings:
        if value is not None:
            space.set_index_parameter(index, param, int(value))
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            _, ids = index.search(q, k)
            best = min(best, time.perf_counter() - start)
        rows.append(
            {
                "param": param if value is not None else "-",
                "value": value if value is not None else 0,
                "recall": recall_at_k_of_exact(ids, exact),
                "qps": len(q) / best,
                "ms_per_query": 1e3 * best / len(q),
            }
        )
    return pd.DataFrame(rows)


def gaussian_like(samples: Any, n: int, *, seed: int = 0) -> np.ndarray:
    """Vectors drawn from the Gaussian with the mean and covariance of ``samples``.

    Used to give new items id embeddings that look like trained ones.

    Args:
        samples: ``(num_samples, d)`` vectors (num_samples > d).
        n: how many vectors to draw (>= 1).
        seed: seed of ``np.random.default_rng``.

    Returns:
        float32 array ``(n, d)``.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] <= x.shape[1] or not np.isfinite(x).all():
        raise ValueError(
            "samples must be a finite 2-D array with more rows than columns; "
            f"got shape {x.shape}"
        )
    n = check_int(n, "n", low=1)
    mean, cov = x.mean(axis=0), np.cov(x, rowvar=False)
    # a tiny ridge keeps the Cholesky factor defined for a rank-deficient covariance
    factor = np.linalg.cholesky(cov + 1e-9 * np.trace(cov) * np.eye(len(cov)))
    z = np.random.default_rng(seed).standard_normal((n, x.shape[1]))
    return (mean + z @ factor.T).astype(np.float32)


def machines_needed(
    load: float, per_machine: float, *, utilisation: float = 0.5
) -> int:
    """Machines to serve ``load`` when each serves ``per_machine`` at full use.

    A fleet is sized so that each machine runs at ``utilisation`` of what it can do
    at the peak (room for a failed machine, uneven traffic and slow queries).

    Args:
        load: work to serve (queries or examples per second, > 0).
        per_machine: what one machine does per second at full use (> 0).
        utilisation: share of a machine's capacity used at the peak, in (0, 1].

    Returns:
        ``ceil(load / (per_machine * utilisation))``.
    """
    load, per_machine = (
        check_number(load, "load", low=0, low_open=True),
        check_number(per_machine, "per_machine", low=0, low_open=True),
    )
    utilisation = check_number(utilisation, "utilisation", low=0, low_open=True)
    if utilisation > 1:
        raise ValueError(f"utilisation must lie in (0, 1]; got {utilisation!r}")
    return math.ceil(load / (per_machine * utilisation) - 1e-9)
