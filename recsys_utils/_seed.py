"""Seeding every source of randomness the course uses, in one call."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import random
import sys
from collections.abc import Iterator
from types import ModuleType

import numpy as np

__all__ = ["seed_everything", "import_tensorflow_quietly"]


@contextlib.contextmanager
def _stderr_fd_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a while (C++ logs bypass sys.stderr)."""
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (some embedded interpreters): nothing to silence
        yield
        return
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> ModuleType:
    """Import TensorFlow without its start-up banner (oneDNN notice, CUDA messages).

    ``TF_CPP_MIN_LOG_LEVEL=3`` is set unless already set; the messages TensorFlow's
    C++ code writes before its logging is initialised ignore it, so stderr's file
    descriptor is muted during the import itself. An import error still raises
    normally, as a Python exception, after stderr is restored.

    Returns:
        The ``tensorflow`` module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with _stderr_fd_silenced():
        tf = importlib.import_module("tensorflow")
    import logging

    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    return tf


_MAX_SEED = 2**32 - 1  # NumPy's legacy global RNG accepts seeds in [0, 2**32)


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy, PyTorch and TensorFlow, and ask for deterministic kernels.

    PyTorch and TensorFlow are imported here, lazily and only if they are installed,
    so that ``import recsys_utils`` itself stays free of deep-learning frameworks.

    * ``random.seed``, ``numpy.random.seed`` and ``PYTHONHASHSEED`` (the latter only
      affects Python processes started afterwards, e.g. data-loader workers);
    * PyTorch: ``torch.manual_seed`` and
      ``torch.use_deterministic_algorithms(True, warn_only=True)``;
    * TensorFlow: ``keras.utils.set_random_seed`` / ``tf.random.set_seed`` and
      ``tf.config.experimental.enable_op_determinism()``.

    Args:
        seed: a non-negative integer below ``2**32``.

    Returns:
        The seed, as a Python ``int``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"seed must be a non-negative int; got {seed!r} ({type(seed).__name__})"
        )
    seed = int(seed)
    if not 0 <= seed <= _MAX_SEED:
        raise ValueError(f"seed must lie in [0, 2**32 - 1]; got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
    if importlib.util.find_spec("tensorflow") is not None:
        tf = import_tensorflow_quietly()

        tf.random.set_seed(seed)
        if importlib.util.find_spec("keras") is not None:
            import keras

            keras.utils.set_random_seed(seed)  # also seeds keras' own generators
        tf.config.experimental.enable_op_determinism()
    return seed
