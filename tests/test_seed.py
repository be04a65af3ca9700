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

    from recsys_utils import tf as rtf  # noqa: F401  (seeds TensorFlow if just imported)

    a = tf.random.uniform((3,)).numpy()
    seed_everything(3)
    np.testing.assert_array_equal(tf.random.uniform((3,)).numpy(), a)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True, 2**32])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must"):
        seed_everything(seed)


def _draws(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return out.stdout.strip().splitlines()[-1]


def test_seed_everything_imports_no_framework():
    code = (
        "import recsys_utils as ru, sys; ru.seed_everything(0); "
        "print(sorted(m for m in ('torch', 'tensorflow', 'keras') if m in sys.modules))"
    )
    assert _draws(code) == "[]"


@pytest.mark.parametrize(
    "framework, twin, draw",
    [
        ("torch", "torch as rt", "torch.rand(3).tolist()"),
        ("tensorflow", "tf as rtf", "tf.random.uniform((3,)).numpy().tolist()"),
    ],
)
def test_a_framework_imported_later_draws_as_if_seeded_first(framework, twin, draw):
    alias = "tf" if framework == "tensorflow" else framework
    first = (  # the framework imported before seed_everything: seeded by it
        f"import {framework} as {alias}; from recsys_utils import {twin}; "
        "import numpy as np; import recsys_utils as ru; ru.seed_everything(5); "
        f"print([{draw}, np.random.rand()])"
    )
    # imported after it: seeded by its twin's import, NumPy's draws kept (Python's
    # random module is not compared: TensorFlow's own import draws from it)
    later = (
        "import numpy as np; import recsys_utils as ru; ru.seed_everything(5); "
        f"import {framework} as {alias}; from recsys_utils import {twin}; "
        f"print([{draw}, np.random.rand()])"
    )
    drawn_later = _draws(later)
    assert _draws(first) == drawn_later
    no_framework = (
        "import numpy as np; import recsys_utils as ru; ru.seed_everything(5); "
        "print([np.random.rand()])"
    )
    assert drawn_later.endswith(_draws(no_framework)[1:])
