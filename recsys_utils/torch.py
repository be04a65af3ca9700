"""PyTorch twin of :mod:`recsys_utils.tf`: the same public names and signatures.

A chapter reads ``from recsys_utils import torch as rt``. Only PyTorch is imported
here. Batching comes from the framework-neutral
:func:`recsys_utils.batching.minibatch_indices`, so both twins see the same batches in
the same order for the same seed, and both validate their arguments with the same
shared checks (:mod:`recsys_utils.batching`, :mod:`recsys_utils.validation`), so a
bad argument fails the same way in both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._extras import extra_needed
from ._seed import check_threads, seed_everything, seed_framework, threads_from_env
from .batching import (
    History,
    check_score_args,
    check_tensor_input,
    check_train_args,
    float_weights,
    minibatch_indices,
    run_training,
)

with extra_needed("torch", "recsys_utils.torch"):  # names the extra when missing
    import torch
seed_framework("torch")  # seeded as seed_everything asked, before any draw

__all__ = [
    "seed_everything",
    "configure_threads",
    "to_tensor",
    "to_numpy",
    "batches",
    "train",
    "History",
    "scores_for_users",
]

FRAMEWORK = "pytorch"

#: The course's variable for PyTorch's intra-op threads (it wins over the others).
THREADS_ENV = "RECSYS_TORCH_THREADS"
#: Variables PyTorch itself reads at start-up for its intra-op threads.
NATIVE_THREADS_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: PyTorch's intra-op threads when no variable asks otherwise. One: the chapters'
#: models are small, and a second thread made the training sections about 20 % slower
#: on an idle 2-core machine and up to 31 % slower with its other core busy
#: (benchmarks/threads.md has the measurements).
DEFAULT_THREADS = 1


def configure_threads(threads: int | None = None) -> int:
    """Set PyTorch's intra-op threads; return the number in effect.

    Runs when this module is imported, with ``threads=None``: then
    ``$RECSYS_TORCH_THREADS`` if set; else, when ``$OMP_NUM_THREADS`` or
    ``$MKL_NUM_THREADS`` is set, what PyTorch read from them at start-up (untouched);
    else :data:`DEFAULT_THREADS`. Its twin in :mod:`recsys_utils.tf` follows
    ``$TF_NUM_INTRAOP_THREADS`` / ``$TF_NUM_INTEROP_THREADS`` the same way.

    Args:
        threads: a positive int to set now, or None for the rule above.

    Returns:
        ``torch.get_num_threads()`` afterwards.

    Raises:
        ValueError: ``threads`` or ``$RECSYS_TORCH_THREADS`` is not a positive int.
    """
    if threads is not None:
        threads = check_threads(threads, "threads")
    else:
        threads = threads_from_env(THREADS_ENV)
        if threads is None and not any(os.environ.get(v) for v in NATIVE_THREADS_ENV):
            threads = DEFAULT_THREADS
    if threads is not None and threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return torch.get_num_threads()


configure_threads()


def _numpy_dtype(arr: np.ndarray, dtype: Any) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    if np.issubdtype(arr.dtype, np.floating):
        return np.dtype(
            np.float32
        )  # float64 NumPy -> float32 tensors: the frameworks' default
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
    arr = check_tensor_input(np.asarray(to_numpy(x)), "x")
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


def _batches_of(
    tensors: list, batch_size: int, shuffle: bool, seed: int, epoch: int
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Slice already-converted tensors along recsys_utils.batching.minibatch_indices."""
    for idx in minibatch_indices(
        len(tensors[0]), batch_size, shuffle=shuffle, seed=seed, epoch=epoch
    ):
        index = torch.from_numpy(idx)
        yield tuple(t[index] for t in tensors)


def batches(
    arrays: Sequence[np.ndarray],
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    epoch: int = 0,
) -> Iterator[tuple[torch.Tensor, ...]]:
    """Yield mini-batches of several equal-length arrays as tuples of tensors.

    Args:
        arrays: NumPy arrays with the same first dimension (e.g. user_ids,
            item_ids, ratings).
        batch_size: examples per batch.
        shuffle: shuffle the rows (same order as the TensorFlow twin for the same seed).
        seed: seed of the shuffling.
        epoch: epoch number, mixed into the seed.

    Returns:
        An iterator of tuples ``(batch of arrays[0], batch of arrays[1], ...)``.
    """
    arrays, _ = check_train_args(arrays, batch_size)
    return _batches_of([to_tensor(a) for a in arrays], batch_size, shuffle, seed, epoch)


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

    def batch_iter(epoch: int) -> Iterator[tuple[torch.Tensor, ...]]:
        return _batches_of(tensors, batch_size, True, seed, epoch)

    return run_training(
        model_step,
        batch_iter,
        num_batches,
        num_epochs=num_epochs,
        valid_fn=valid_fn,
        desc=desc,
        progress=progress,
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
    with torch.no_grad():
        users = to_tensor(_float_array("user_vectors", user_vectors, 2))  # a copy
        items = to_tensor(_float_array("item_vectors", item_vectors, 2))
        user_ids = check_score_args(users.shape, items.shape, user_ids, batch_size)
        out = np.empty((len(user_ids), items.shape[0]), dtype=np.float32)
        for s in range(0, len(user_ids), batch_size):
            idx = torch.from_numpy(user_ids[s : s + batch_size])
            out[s : s + batch_size] = (
                users[idx] @ items.T
            ).numpy()  # (batch, num_items)
    return out


# ---------------------------------------------------------------------------
# Models built from NumPy weights (the course's one idiom for both frameworks)
# ---------------------------------------------------------------------------

__all__ += ["embedding", "dense", "parameter"]


def _float_array(name: str, value: Any, ndim: int) -> np.ndarray:
    return float_weights(name, to_numpy(value), ndim)  # the twins check alike


def embedding(table: Any, *, trainable: bool = True) -> torch.nn.Embedding:
    """An ``nn.Embedding`` whose rows are a copy of a NumPy table.

    The chapters build every model from NumPy initial weights so both frameworks start
    from the same numbers; :func:`recsys_utils.tf.embedding` is the Keras twin.

    Args:
        table: ``(num_rows, dim)`` array.
        trainable: ``False`` freezes the table.

    Returns:
        ``torch.nn.Embedding`` of shape ``(num_rows, dim)`` holding float32 copies.
    """
    arr = _float_array("table", table, 2)
    return torch.nn.Embedding.from_pretrained(
        torch.from_numpy(arr.copy()), freeze=not trainable
    )


def dense(kernel: Any, bias: Any) -> torch.nn.Linear:
    """An ``nn.Linear`` computing ``x @ kernel + bias`` from NumPy weights.

    ``kernel`` has the NumPy / Keras layout ``(in_features, out_features)``; PyTorch
    stores its transpose, which this function takes care of.

    Args:
        kernel: ``(in_features, out_features)`` array.
        bias: ``(out_features,)`` array.

    Returns:
        ``torch.nn.Linear(in_features, out_features)``.
    """
    w = _float_array("kernel", kernel, 2)
    b = _float_array("bias", bias, 1)
    if b.shape[0] != w.shape[1]:
        raise ValueError(
            f"bias must have shape ({w.shape[1]},) to match kernel {w.shape}; "
            f"got {b.shape}"
        )
    layer = torch.nn.Linear(*w.shape)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w.T.copy()))
        layer.bias.copy_(torch.from_numpy(b.copy()))
    return layer


def parameter(value: Any, *, trainable: bool = True) -> torch.nn.Parameter:
    """A trainable tensor (``nn.Parameter``) holding a float32 copy of a NumPy array.

    Args:
        value: array of any shape.
        trainable: ``False`` gives a parameter with ``requires_grad=False``.

    Returns:
        ``torch.nn.Parameter``; its Keras twin is a ``keras.Variable``.
    """
    arr = np.asarray(to_numpy(value))
    arr = _float_array("value", arr, arr.ndim)
    return torch.nn.Parameter(torch.from_numpy(arr.copy()), requires_grad=trainable)
