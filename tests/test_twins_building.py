"""The twins build layers from NumPy weights that compute the same in both."""

import numpy as np
import pytest

from recsys_utils import tf as rtf
from recsys_utils import torch as rt

rng = np.random.default_rng(0)
TABLE = rng.standard_normal((7, 3))
KERNEL, BIAS = rng.standard_normal((3, 4)), rng.standard_normal(4)


def test_embedding_rows_are_the_table():
    ids = np.array([0, 6, 3, 3])
    pt = rt.embedding(TABLE)(rt.to_tensor(ids)).detach().numpy()
    tf_ = rtf.to_numpy(rtf.embedding(TABLE)(rtf.to_tensor(ids)))
    np.testing.assert_array_equal(pt, TABLE[ids].astype(np.float32))
    np.testing.assert_array_equal(tf_, TABLE[ids].astype(np.float32))


def test_dense_is_x_kernel_plus_bias():
    x = rng.standard_normal((5, 3)).astype(np.float32)
    expected = x @ KERNEL.astype(np.float32) + BIAS.astype(np.float32)
    pt = rt.dense(KERNEL, BIAS)(rt.to_tensor(x)).detach().numpy()
    tf_ = rtf.to_numpy(rtf.dense(KERNEL, BIAS)(rtf.to_tensor(x)))
    np.testing.assert_allclose(pt, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tf_, expected, rtol=1e-5, atol=1e-6)


def test_layers_hold_copies_and_train_or_freeze():
    table = TABLE.copy()
    emb = rt.embedding(table)
    table[0] = 99.0
    assert emb.weight[0, 0].item() != 99.0
    assert (
        emb.weight.requires_grad
        and not rt.embedding(TABLE, trainable=False).weight.requires_grad
    )
    assert (
        rtf.embedding(TABLE).trainable
        and not rtf.embedding(TABLE, trainable=False).trainable
    )
    p_pt, p_tf = rt.parameter(TABLE), rtf.parameter(TABLE)
    np.testing.assert_array_equal(p_pt.detach().numpy(), rtf.to_numpy(p_tf))
    assert (
        p_pt.requires_grad
        and p_tf.trainable
        and not rtf.parameter(TABLE, trainable=False).trainable
    )


@pytest.mark.parametrize("twin", [rt, rtf], ids=["torch", "tf"])
def test_bad_weights_fail_the_same_way(twin):
    with pytest.raises(ValueError, match="table must be a 2-D numeric array"):
        twin.embedding(np.ones(3))
    with pytest.raises(ValueError, match="bias must have shape \\(4,\\)"):
        twin.dense(KERNEL, np.ones(3))
    with pytest.raises(ValueError, match="kernel holds NaN"):
        twin.dense(np.full((3, 4), np.nan), BIAS)
