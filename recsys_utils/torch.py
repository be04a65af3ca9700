"""PyTorch twin of :mod:`recsys_utils.tf`: the same public names and signatures.

A chapter reads ``from recsys_utils import torch as rt``. Only PyTorch is imported
here. Batching comes from the framework-neutral :func:`recsys_utils.batching.minibatch_indices`,
so both twins see the same batches in the same order for the same seed.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from ._seed import seed_everything
from .batching import History, check_train_args, minibatch_indices, run_training

__all__ = [
    "seed_everything",
    "to_tensor",
    "to_numpy",
    "batches",
    "train",
    "History",
    "scores_for_users",
]

FRAMEWORK = "pytorch"


def _numpy_dtype(arr: np.ndarray, dtype: Any) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    if np.issubdtype(arr.dtype, np.floating):
        return np.dtype(np.float32)  # float64 NumPy -> float32 tensors: the frameworks' default
    if np.issubdtype(arr.dtype, np.integer):
        return np.dtype(np.int64)
    return arr.dtype


def to_tensor(x: Any, dtype: Any = None) -> torch.Tensor:
    """NumPy (or array-like) -> ``torch.Tensor``, always a copy.

    Args:
        x: array-like or tensor.
        dtype: a NumPy dtype or its name (``"float64"``); ``None``: floats become
            float32, integers int64, booleans stay bool.

    Returns:
        A CPU ``torch.Tensor``.
    """
    x = to_numpy(x)
    arr = np.asarray(x)
    return torch.from_numpy(np.array(arr, dtype=_numpy_dtype(arr, dtype), copy=True))


def to_numpy(t: Any) -> np.ndarray:
    """``torch.Tensor`` (or array-like) -> NumPy array.

    Args:
        t: a tensor (gradients are detached), a NumPy array or a number.

    Returns:
        A NumPy array.
    """
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def batches(
    arrays: Sequence[np.ndarray], batch_size: int, shuffle: bool = True, seed: int = 0, epoch: int = 0
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Yield mini-batches of several equal-length arrays as tuples of tensors.

    Args:
        arrays: NumPy arrays with the same first dimension (e.g. user_ids, item_ids, ratings).
        batch_size: examples per batch.
        shuffle: shuffle the rows (same order as the TensorFlow twin for the same seed).
        seed: seed of the shuffling.
        epoch: epoch number, mixed into the seed.

    Returns:
        An iterator of tuples ``(batch of arrays[0], batch of arrays[1], ...)``.
    """
    arrays, _ = check_train_args(arrays, batch_size)
    tensors = [to_tensor(a) for a in arrays]
    for idx in minibatch_indices(len(arrays[0]), batch_size, shuffle=shuffle, seed=seed, epoch=epoch):
        index = torch.from_numpy(idx)
        yield tuple(t[index] for t in tensors)


def train(
    model_step: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    *,
    num_epochs: int,
    batch_size: int,
    seed: int = 0,
    valid_fn: Callable[[int], Any] | None = None,
    desc: str = "training",
    progress: bool = True,
) -> History:
    """A thin training loop: epochs of shuffled mini-batches and a progress bar.

    The chapter keeps the model, the loss and the optimiser step in ``model_step``;
    this loop only feeds it batches and records the losses.

    Args:
        model_step: ``model_step(*batch_tensors) -> loss`` (a float or scalar tensor);
            does one optimisation step.
        arrays: NumPy arrays of equal length; each batch holds one tensor per array.
        num_epochs: passes over the data.
        batch_size: examples per batch.
        seed: seed of the shuffling (the model's initialisation is the caller's).
        valid_fn: optional ``valid_fn(epoch) -> float or dict`` run after each epoch.
        desc: label of the progress bar.
        progress: show the tqdm progress bar.

    Returns:
        :class:`History` with ``loss`` (per-epoch mean), ``batch_loss`` and ``valid``.
    """
    arrays, num_batches = check_train_args(arrays, batch_size)
    tensors = [to_tensor(a) for a in arrays]
    n = len(arrays[0])

    def batch_iter(epoch: int) -> Iterator[tuple[torch.Tensor, ...]]:
        for idx in minibatch_indices(n, batch_size, shuffle=True, seed=seed, epoch=epoch):
            index = torch.from_numpy(idx)
            yield tuple(t[index] for t in tensors)

    return run_training(
        model_step, batch_iter, num_batches,
        num_epochs=num_epochs, valid_fn=valid_fn, desc=desc, progress=progress,
    )


def scores_for_users(
    user_vectors: Any, item_vectors: Any, user_ids: Any, batch_size: int = 1024
) -> np.ndarray:
    """Dot-product scores of some users against every item, computed in PyTorch.

    Use as the ``score`` callable of ``evaluate_topk`` with
    ``functools.partial(scores_for_users, user_vectors, item_vectors)``.

    Args:
        user_vectors: ``(num_users, embedding_dim)`` tensor, parameter or array.
        item_vectors: ``(num_items, embedding_dim)`` tensor, parameter or array.
        user_ids: int array of the users to score.
        batch_size: users per matrix product.

    Returns:
        NumPy float32 array ``(len(user_ids), num_items)``.
    """
    user_ids = np.asarray(user_ids, dtype=np.int64).reshape(-1)
    with torch.no_grad():
        users = to_tensor(user_vectors, "float32")  # a detached copy
        items = to_tensor(item_vectors, "float32")
        if users.ndim != 2 or items.ndim != 2 or users.shape[1] != items.shape[1]:
            raise ValueError(
                "user_vectors and item_vectors must be 2-D with the same embedding_dim; "
                f"got shapes {tuple(users.shape)} and {tuple(items.shape)}"
            )
        if user_ids.size and (user_ids.min() < 0 or user_ids.max() >= users.shape[0]):
            raise ValueError(f"user_ids must lie in [0, {users.shape[0]})")
        out = np.empty((len(user_ids), items.shape[0]), dtype=np.float32)
        for s in range(0, len(user_ids), batch_size):
            idx = torch.from_numpy(user_ids[s : s + batch_size])
            out[s : s + batch_size] = (users[idx] @ items.T).numpy()  # (batch, num_items)
    return out
