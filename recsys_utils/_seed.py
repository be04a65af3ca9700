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

__all__ = [
    "seed_everything",
    "seed_framework",
    "import_tensorflow_quietly",
    "threads_from_env",
    "check_threads",
]

# OpenMP threads that wait for work spin on their core by default (GNU OpenMP, which
# PyTorch's wheels use, spins about 300,000 times before sleeping). On a machine whose
# other core is busy that spinning is paid on every parallel operation: a chapter ran
# 3x slower under load (issue 23). Passive waiting sleeps at once. OpenMP reads the
# variable when it is loaded (with PyTorch), so it is set here, when recsys_utils is
# imported, before any framework; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def check_threads(value: object, what: str) -> int:
    """A thread count: a positive int, else ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what} must be a positive int; got {value!r}")
    if value < 1:
        raise ValueError(f"{what} must be a positive int; got {value}")
    return int(value)


def threads_from_env(name: str) -> int | None:
    """The positive int in the environment variable ``name``; None when it is unset
    or empty.

    Raises:
        ValueError: the variable holds something else (named, with its value).
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"the environment variable {name} must be a positive number of threads; "
            f"got {text!r}"
        )
    return value


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


#: The last seed_everything's seed, for a framework whose twin is imported later.
_SEED: int | None = None
#: The frameworks seeded with _SEED so far.
_SEEDED: set[str] = set()


def _seed_torch(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _seed_tensorflow(seed: int) -> None:
    tf = import_tensorflow_quietly()
    tf.random.set_seed(seed)
    if importlib.util.find_spec("keras") is not None:
        import keras

        # keras.utils.set_random_seed also seeds its own generators, and reseeds
        # Python and NumPy: their state is kept, so a later import changes no draw
        state = random.getstate(), np.random.get_state()
        keras.utils.set_random_seed(seed)
        random.setstate(state[0])
        np.random.set_state(state[1])
    tf.config.experimental.enable_op_determinism()


_SEEDERS = {"torch": _seed_torch, "tensorflow": _seed_tensorflow}


def seed_framework(name: str) -> None:
    """Seed ``name`` ("torch" or "tensorflow") with the last seed_everything's seed.

    Called by :mod:`recsys_utils.torch` and :mod:`recsys_utils.tf` when they are
    imported: a framework first used after ``seed_everything`` is seeded then, before
    it draws anything. Does nothing before any ``seed_everything`` call, or when the
    framework is already seeded with that seed.
    """
    if _SEED is not None and name not in _SEEDED:
        _SEEDERS[name](_SEED)
        _SEEDED.add(name)


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy, PyTorch and TensorFlow, and ask for deterministic kernels.

    No framework is imported here (importing TensorFlow takes about 10 s, PyTorch
    about 4 s, and a chapter needs only the one it runs): a framework already
    imported is seeded now, and one imported later is seeded when its twin
    (``from recsys_utils import torch as rt`` or ``tf as rtf``) is imported, before
    it draws anything. The draws are the same either way.

    * ``random.seed``, ``numpy.random.seed`` and ``PYTHONHASHSEED`` (the latter only
      affects Python processes started afterwards, e.g. data-loader workers);
    * PyTorch: ``torch.manual_seed`` and
      ``torch.use_deterministic_algorithms(True, warn_only=True)``;
    * TensorFlow: ``tf.random.set_seed``, ``keras.utils.set_random_seed`` (Keras's
      own generators; Python's and NumPy's state kept) and
      ``tf.config.experimental.enable_op_determinism()``.

    Args:
        seed: a non-negative integer below ``2**32``.

    Returns:
        The seed, as a Python ``int``.
    """
    global _SEED
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
    _SEED = seed
    _SEEDED.clear()
    for name in _SEEDERS:
        if name in sys.modules:
            seed_framework(name)
    return seed
