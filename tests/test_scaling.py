"""recsys_utils.scaling (chapter 7): global batches, throughput, memory arithmetic,
the FAISS recall / throughput sweep, vectors drawn like a trained table, machine counts.
Expected values are worked out by hand or by an independent computation."""

import faiss
import numpy as np
import pytest

from recsys_utils import scaling
from recsys_utils.batching import minibatch_indices

# ---------------------------------------------------------------------------
# global batches and throughput
# ---------------------------------------------------------------------------


def test_global_batches_drop_the_incomplete_batch_and_run_over_epochs():
    batches = list(scaling.global_batches(10, 3, 7, seed=4))
    assert len(batches) == 7 and all(len(b) == 3 for b in batches)
    for step, batch in enumerate(batches):
        epoch, index = divmod(step, 3)  # 10 // 3 = 3 full batches per epoch
        expected = minibatch_indices(10, 3, seed=4, epoch=epoch)[index]
        np.testing.assert_array_equal(batch, expected)
    first_epoch = np.concatenate(batches[:3])
    assert len(set(first_epoch)) == 9  # one example left out, none repeated


def test_global_batches_are_the_same_on_every_call():
    a = list(scaling.global_batches(100, 8, 20, seed=1))
    b = list(scaling.global_batches(100, 8, 20, seed=1))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize(
    "args, match",
    [
        ((2, 3, 1), "n must be an int >= 3"),
        ((10, 0, 1), "batch_size must be a positive int"),
        ((10, 3, 0), "num_steps must be a positive int"),
        ((10, 2.5, 1), "batch_size must be a positive int; got 2.5"),
    ],
)
def test_global_batches_reject_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        list(scaling.global_batches(*args))


def test_examples_per_second_uses_the_median_after_warmup():
    seconds = [9.0, 9.0, 9.0, 0.5, 0.25, 0.5]  # median of the last three: 0.5
    assert scaling.examples_per_second(seconds, 10, warmup=3) == pytest.approx(20.0)
    assert scaling.examples_per_second([2.0, 4.0], 8, warmup=0) == pytest.approx(8 / 3)


@pytest.mark.parametrize(
    "seconds, warmup, match",
    [
        ([1.0, 1.0], 2, "more than warmup=2 steps"),
        ([1.0, 0.0], 0, "positive finite"),
        ([1.0, np.nan], 0, "positive finite"),
        ([1.0], -1, "warmup must be a non-negative int"),
    ],
)
def test_examples_per_second_rejects_bad_input(seconds, warmup, match):
    with pytest.raises(ValueError, match=match):
        scaling.examples_per_second(seconds, 4, warmup=warmup)


# ---------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------


def test_embedding_bytes_by_hand():
    # 10 rows x 4 values x 4 bytes = 160 bytes of weights
    assert scaling.embedding_bytes(10, 4) == {
        "weights": 160,
        "optimizer_state": 320,  # Adam: two moments
        "total": 480,
    }
    assert scaling.embedding_bytes(10, 4, optimizer="sgd")["total"] == 160
    assert scaling.embedding_bytes(10, 4, optimizer="adagrad")["total"] == 320
    assert scaling.embedding_bytes(10, 4, bytes_per_value=2)["weights"] == 80
    # the chapter's example: 100 million users x 32 float32 with Adam = 38.4 GB
    assert scaling.embedding_bytes(100_000_000, 32)["total"] == 38_400_000_000


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"optimizer": "rmsprop"}, "optimizer must be one of"),
        ({"bytes_per_value": 0}, "bytes_per_value must be a positive int"),
    ],
)
def test_embedding_bytes_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        scaling.embedding_bytes(10, 4, **kwargs)


def test_index_bytes_counts_the_vectors_and_every_shard():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((100, 8)).astype(np.float32)
    flat = faiss.IndexFlatIP(8)
    flat.add(vectors)
    size = scaling.index_bytes(flat)
    assert 100 * 8 * 4 <= size < 100 * 8 * 4 + 200  # the floats and a small header
    shards = faiss.IndexShards(8, False, False)
    halves = [faiss.IndexFlatIP(8), faiss.IndexFlatIP(8)]
    for half, part in zip(halves, np.split(vectors, 2)):
        half.add(part)
        shards.add_shard(half)
    assert scaling.index_bytes(shards) == sum(scaling.index_bytes(h) for h in halves)


def test_add_to_cells_equals_add():
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((3000, 8)).astype(np.float32)
    queries = rng.standard_normal((20, 8)).astype(np.float32)
    quantizer = faiss.IndexFlatIP(8)
    a = faiss.IndexIVFFlat(quantizer, 8, 32, faiss.METRIC_INNER_PRODUCT)
    a.train(vectors)
    b = faiss.IndexIVFFlat(quantizer, 8, 32, faiss.METRIC_INNER_PRODUCT)
    a.add(vectors)
    _, cells = quantizer.search(vectors, 1)
    scaling.add_to_cells(b, vectors, cells)
    for index in (a, b):
        index.nprobe = 4
    assert b.ntotal == a.ntotal == 3000
    np.testing.assert_array_equal(b.search(queries, 5)[1], a.search(queries, 5)[1])
    with pytest.raises(ValueError, match=r"cells must lie in \[0, 32\)"):
        scaling.add_to_cells(b, vectors[:2], [0, 32])
    with pytest.raises(ValueError, match="vectors must be"):
        scaling.add_to_cells(b, vectors[:2], [0])


# ---------------------------------------------------------------------------
# recall and the sweep
# ---------------------------------------------------------------------------


def test_recall_at_k_of_exact_by_hand():
    exact = np.array([[1, 2, 3], [4, 5, 6]])
    found = np.array([[3, 9, 1], [-1, -1, 6]])  # 2 of 3, then 1 of 3
    assert scaling.recall_at_k_of_exact(found, exact) == pytest.approx(3 / 6)
    assert scaling.recall_at_k_of_exact(exact[:, ::-1], exact) == 1.0


def test_recall_at_k_of_exact_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same non-empty shape"):
        scaling.recall_at_k_of_exact(np.zeros((2, 3)), np.zeros((2, 4)))


def test_search_sweep_exact_and_ivf():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((2000, 16)).astype(np.float32)
    queries = rng.standard_normal((30, 16)).astype(np.float32)
    flat = faiss.IndexFlatIP(16)
    flat.add(vectors)
    exact_ids = np.argsort(-(queries @ vectors.T), axis=1)[:, :5]  # by NumPy
    table = scaling.search_sweep(flat, queries, exact_ids, [None], repeats=2)
    assert list(table.columns) == ["param", "value", "recall", "qps", "ms_per_query"]
    assert table["recall"].iloc[0] == 1.0 and table["param"].iloc[0] == "-"
    assert table["qps"].iloc[0] == pytest.approx(1e3 / table["ms_per_query"].iloc[0])
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(16), 16, 16, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add(vectors)
    sweep = scaling.search_sweep(ivf, queries, exact_ids, [1, 16], param="nprobe")
    assert sweep["recall"].iloc[1] == 1.0  # every cell probed: exact
    assert sweep["recall"].iloc[0] < 1.0  # one cell of 16 misses some
    assert ivf.nprobe == 16  # the setting was applied


def test_search_sweep_needs_a_param_name():
    flat = faiss.IndexFlatIP(4)
    flat.add(np.eye(4, dtype=np.float32))
    with pytest.raises(ValueError, match="param must name the setting"):
        scaling.search_sweep(flat, np.eye(4, dtype=np.float32), np.eye(4)[:, :1], [2])


# ---------------------------------------------------------------------------
# drawing vectors, machines
# ---------------------------------------------------------------------------


def test_gaussian_like_matches_mean_and_covariance():
    rng = np.random.default_rng(2)
    mix = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 0.2]])
    samples = rng.standard_normal((5000, 3)) @ mix + np.array([1.0, -2.0, 0.5])
    drawn = scaling.gaussian_like(samples, 200_000, seed=3)
    assert drawn.shape == (200_000, 3) and drawn.dtype == np.float32
    np.testing.assert_allclose(drawn.mean(0), samples.mean(0), atol=0.01)
    np.testing.assert_allclose(np.cov(drawn.T), np.cov(samples.T), atol=0.01)
    np.testing.assert_array_equal(
        drawn, scaling.gaussian_like(samples, 200_000, seed=3)
    )


def test_gaussian_like_rejects_too_few_samples():
    with pytest.raises(ValueError, match="more rows than columns"):
        scaling.gaussian_like(np.ones((3, 3)), 5)


@pytest.mark.parametrize(
    "load, per_machine, utilisation, expected",
    [(100, 50, 1.0, 2), (100, 50, 0.5, 4), (101, 50, 1.0, 3), (0.3, 1e6, 0.5, 1)],
)
def test_machines_needed_by_hand(load, per_machine, utilisation, expected):
    assert (
        scaling.machines_needed(load, per_machine, utilisation=utilisation) == expected
    )


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((0, 10), {}, "load must be a finite number > 0"),
        ((10, np.inf), {}, "per_machine must be a finite number > 0"),
        ((10, 10), {"utilisation": 1.5}, r"utilisation must lie in \(0, 1\]"),
    ],
)
def test_machines_needed_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        scaling.machines_needed(*args, **kwargs)
