"""seed_everything: reproducible draws in every library; import stays framework-free."""

import os
import random
import subprocess
import sys

import numpy as np
import pytest

from recsys_utils import seed_everything


def test_import_is_framework_free():
    code = (
        "import recsys_utils, sys; "
        "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules, "
        "'framework imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reproducible_python_numpy_torch():
    import torch

    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    assert seed_everything(7) == 7
    first = draw()
    seed_everything(7)
    assert draw() == first
    assert os.environ["PYTHONHASHSEED"] == "7"
    assert torch.are_deterministic_algorithms_enabled()


def test_reproducible_tensorflow():
    seed_everything(3)
    import tensorflow as tf

    a = tf.random.uniform((3,)).numpy()
    seed_everything(3)
    np.testing.assert_array_equal(tf.random.uniform((3,)).numpy(), a)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True, 2**32])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must"):
        seed_everything(seed)
