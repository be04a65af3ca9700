"""recsys_utils.tf's tf.data pipelines: the batches of minibatch_indices for fit."""

import numpy as np
import pytest

from recsys_utils import minibatch_indices
from recsys_utils import tf as rtf

tf = rtf.tf


def _indices(n, batch_size, seed, epochs):
    return [
        b
        for e in range(epochs)
        for b in minibatch_indices(n, batch_size, seed=seed, epoch=e)
    ]


@pytest.mark.parametrize("n, batch_size", [(11, 4), (12, 4), (3, 8)])
def test_minibatch_dataset_gives_minibatch_indices_epoch_after_epoch(n, batch_size):
    got = [
        b.numpy() for b in rtf.minibatch_dataset(n, batch_size, seed=5, num_epochs=3)
    ]
    want = _indices(n, batch_size, 5, 3)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_minibatch_dataset_reads_on_without_num_epochs():
    ds = rtf.minibatch_dataset(11, 4, seed=2)
    got = [b.numpy() for b in ds.take(3 * 4)]  # 3 batches an epoch, 4 epochs
    for a, b in zip(got, _indices(11, 4, 2, 4), strict=True):
        np.testing.assert_array_equal(a, b)


def test_epoch_dataset_keeps_the_structure_and_dtypes():
    users, items = np.arange(10) * 10, np.arange(10, dtype=np.int32)

    def batches(epoch):
        for rows in minibatch_indices(10, 4, seed=1, epoch=epoch):
            yield {"user": users[rows], "pair": (items[rows], rows.astype(np.float64))}

    spec = {
        "user": tf.TensorSpec([None], tf.int64),
        "pair": (tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.float32)),
    }
    got = list(rtf.epoch_dataset(batches, spec, 4, num_epochs=2))
    want = [b for e in range(2) for b in batches(e)]
    assert len(got) == len(want) == 6
    for g, w in zip(got, want):
        assert g["pair"][1].dtype == tf.float32
        np.testing.assert_array_equal(g["user"].numpy(), w["user"])
        np.testing.assert_array_equal(g["pair"][0].numpy(), w["pair"][0])
        np.testing.assert_array_equal(g["pair"][1].numpy(), w["pair"][1])


def test_epoch_dataset_refuses_batches_it_would_cut_differently():
    def uneven(epoch):  # 3 + 4 rows: re-cut by 4, the batches would change
        yield np.arange(3)
        yield np.arange(3, 7)

    ds = rtf.epoch_dataset(uneven, tf.TensorSpec([None], tf.int64), 4, num_epochs=1)
    with pytest.raises(Exception, match=r"batch_size=4 rows.*sizes \[3, 4\]"):
        list(ds)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"num_epochs": 0}, ValueError, "num_epochs"),
        ({"signature": np.int64}, TypeError, "tf.TensorSpec"),
    ],
)
def test_epoch_dataset_names_a_bad_argument(kwargs, error, match):
    args = {"signature": tf.TensorSpec([None], tf.int64), "batch_size": 4} | kwargs
    with pytest.raises(error, match=match):
        rtf.epoch_dataset(lambda e: [np.arange(4)], **args)


def test_the_pipelines_run_without_autotuning_and_so_do_their_chapters_steps():
    # Autotuning slowed training 1.7x with one core busy (rtf.without_autotune).
    assert tf.data.Dataset.range(3).options().autotune.enabled is not False
    ds = rtf.minibatch_dataset(11, 4, seed=2, num_epochs=2)
    chapter_steps = ds.map(lambda i: i * 2).prefetch(tf.data.AUTOTUNE)  # as ch. 4
    for pipeline in (ds, chapter_steps, rtf.without_autotune(tf.data.Dataset.range(3))):
        assert pipeline.options().autotune.enabled is False
    got = [b.numpy() for b in chapter_steps]
    for a, b in zip(got, _indices(11, 4, 2, 2), strict=True):
        np.testing.assert_array_equal(a, 2 * b)  # the same batches, in order
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        rtf.without_autotune([1, 2, 3])
