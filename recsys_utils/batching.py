"""Framework-neutral mini-batching and the training loop shared by both twins.

Both :mod:`recsys_utils.torch` and :mod:`recsys_utils.tf` draw their batches from
:func:`minibatch_indices`, so for the same ``seed`` the two frameworks see the same
examples in the same order: the first condition of a parity check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .validation import as_ids, check_finite, check_int

__all__ = [
    "minibatch_indices",
    "History",
    "run_training",
    "check_train_args",
    "check_score_args",
    "check_tensor_input",
    "float_weights",
]


def minibatch_indices(
    n: int, batch_size: int, *, shuffle: bool = True, seed: int = 0, epoch: int = 0
) -> list[np.ndarray]:
    """Split ``range(n)`` into mini-batches of row indices.

    The permutation of epoch ``epoch`` comes from
    ``np.random.default_rng([seed, epoch])``: it depends only on ``(seed, epoch)``, so
    any epoch can be replayed on its own and both frameworks see identical batches.
    The last batch is smaller when ``batch_size`` does not divide ``n`` (it is kept,
    not dropped).

    Args:
        n: number of examples (> 0).
        batch_size: examples per batch (> 0).
        shuffle: ``False`` keeps the order ``0..n-1``.
        seed: seed of the shuffling (non-negative int).
        epoch: epoch number (non-negative int), mixed into the seed.

    Returns:
        List of ``ceil(n / batch_size)`` int64 arrays that together hold each index
        once.
    """
    n = check_int(n, "n", low=1)
    batch_size = check_int(batch_size, "batch_size", low=1)
    seed = check_int(seed, "seed", low=0)
    epoch = check_int(epoch, "epoch", low=0)
    order = (
        np.random.default_rng([int(seed), int(epoch)]).permutation(n)
        if shuffle
        else np.arange(n)
    ).astype(np.int64)
    return [order[s : s + batch_size] for s in range(0, n, batch_size)]


@dataclass
class History:
    """What a training run recorded.

    Attributes:
        loss: mean batch loss of each epoch, ``len == num_epochs``.
        batch_loss: the loss of every batch, in order.
        valid: what ``valid_fn(epoch)`` returned after each epoch (empty without it).
    """

    loss: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    valid: list[Any] = field(default_factory=list)


def _check_arrays(arrays: Any) -> list[np.ndarray]:
    if isinstance(arrays, np.ndarray):
        arrays = [arrays]
    if isinstance(arrays, (str, bytes)) or not hasattr(arrays, "__iter__"):
        raise ValueError(
            f"arrays must be a sequence of arrays; got {type(arrays).__name__}"
        )
    arrays = [np.asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("arrays must hold at least one array")
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise ValueError(f"arrays[{i}] must be an array, not a scalar ({a!r})")
        check_tensor_input(a, f"arrays[{i}]")
        if np.issubdtype(a.dtype, np.floating):
            check_finite(a, f"arrays[{i}]")
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(
            "arrays must all have the same length; got lengths "
            f"{[len(a) for a in arrays]}"
        )
    if not arrays[0].shape[0]:
        raise ValueError("arrays must not be empty")
    return arrays


def _as_float(loss: Any) -> float:
    """A scalar loss (float, NumPy, torch or tf tensor) as a Python float, detached."""
    if hasattr(loss, "detach"):  # torch: no autograd graph kept alive by the history
        loss = loss.detach().cpu().numpy()
    elif hasattr(loss, "numpy") and not isinstance(loss, np.ndarray):  # tf.Tensor
        loss = loss.numpy()
    value = np.asarray(loss, dtype=np.float64)
    if value.size != 1:
        raise ValueError(
            f"model_step must return a scalar loss; got shape {value.shape}"
        )
    return float(value.reshape(()))


def _format_valid(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): f"{float(v):.4f}" for k, v in value.items()}
    return {"valid": f"{float(value):.4f}"}


def run_training(
    model_step: Callable[..., Any],
    batch_iter: Callable[[int], Iterator[tuple]],
    num_batches: int,
    *,
    num_epochs: int,
    valid_fn: Callable[[int], Any] | None = None,
    desc: str = "training",
    progress: bool = True,
) -> History:
    """The loop behind both twins' ``train``: epochs, batches, a tqdm bar, a History.

    Args:
        model_step: ``model_step(*batch) -> loss``; one optimisation step on one batch.
        batch_iter: ``batch_iter(epoch)`` yields the batches of that epoch as tuples.
        num_batches: batches per epoch (sizes the progress bar).
        num_epochs: number of passes over the data (> 0).
        valid_fn: optional ``valid_fn(epoch) -> float or dict``, called after each
            epoch.
        desc: label of the progress bar.
        progress: ``False`` hides the bar.

    Returns:
        A :class:`History`.
    """
    from tqdm.auto import tqdm

    num_epochs = check_int(num_epochs, "num_epochs", low=1)
    history = History()
    bar = tqdm(
        total=num_epochs * num_batches, desc=desc, disable=not progress, leave=True
    )
    try:
        for epoch in range(num_epochs):
            total, count = 0.0, 0
            postfix: dict[str, str] = {}
            for batch in batch_iter(epoch):
                loss = _as_float(model_step(*batch))
                if not np.isfinite(loss):
                    raise ValueError(
                        f"model_step returned a non-finite loss ({loss}) at epoch "
                        f"{epoch + 1}, batch {count + 1}: training diverged or the "
                        "inputs hold NaN (try a smaller learning rate)"
                    )
                history.batch_loss.append(loss)
                total += loss
                count += 1
                postfix = {
                    "epoch": f"{epoch + 1}/{num_epochs}",
                    "loss": f"{total / count:.4f}",
                }
                if history.valid:
                    postfix.update(_format_valid(history.valid[-1]))
                bar.set_postfix(postfix, refresh=False)
                bar.update(1)
            history.loss.append(total / max(count, 1))
            if valid_fn is not None:
                history.valid.append(valid_fn(epoch))
                postfix.update(_format_valid(history.valid[-1]))
                bar.set_postfix(postfix)
    finally:
        bar.close()
    return history


def check_train_args(
    arrays: Sequence[Any], batch_size: int
) -> tuple[list[np.ndarray], int]:
    """Validate ``train``'s ``arrays`` and ``batch_size`` (shared by both twins).

    Args:
        arrays: a NumPy array or a sequence of arrays of equal length.
        batch_size: examples per batch (> 0).

    Returns:
        ``(list of arrays, number of batches per epoch)``.
    """
    arrays = _check_arrays(arrays)
    batch_size = check_int(batch_size, "batch_size", low=1)
    return arrays, -(-len(arrays[0]) // batch_size)


def check_score_args(
    user_shape: Sequence[int],
    item_shape: Sequence[int],
    user_ids: Any,
    batch_size: int = 1024,
) -> np.ndarray:
    """Validate ``scores_for_users``' shapes, ids and batch size (shared by both twins).

    Args:
        user_shape: shape of the user vectors, ``(num_users, embedding_dim)``.
        item_shape: shape of the item vectors, ``(num_items, embedding_dim)``.
        user_ids: ids of the users to score (any shape; flattened).
        batch_size: users per matrix product (> 0).

    Returns:
        ``user_ids`` as a 1-D int64 array.

    Raises:
        ValueError: when the vectors are not 2-D with the same embedding_dim, an id
            is not a whole number in ``[0, num_users)``, or ``batch_size`` is not a
            positive int.
    """
    user_shape, item_shape = tuple(user_shape), tuple(item_shape)
    if len(user_shape) != 2 or len(item_shape) != 2 or user_shape[1] != item_shape[1]:
        raise ValueError(
            "user_vectors and item_vectors must be 2-D with the same embedding_dim; "
            f"got shapes {user_shape} and {item_shape}"
        )
    check_int(batch_size, "batch_size", low=1)
    return as_ids(user_ids, "user_ids", int(user_shape[0]), flatten=True)


def check_tensor_input(arr: np.ndarray, name: str = "x") -> np.ndarray:
    """Refuse what neither framework should get as a tensor: strings, objects.

    Args:
        arr: the NumPy array about to become a tensor.
        name: the argument's name, used in the error message.

    Returns:
        ``arr`` unchanged.

    Raises:
        ValueError: ``arr`` does not hold numbers or booleans (PyTorch cannot hold
            strings and TensorFlow would make a string tensor: the twins refuse both
            the same way).
    """
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must hold numbers or booleans; got dtype {arr.dtype}")
    return arr


def float_weights(name: str, value: Any, ndim: int) -> np.ndarray:
    """NumPy weights for a layer: a finite numeric array of the given rank, float32.

    Shared by both twins' ``embedding``, ``dense`` and ``parameter``.

    Args:
        name: the argument's name, used in the error message.
        value: the weights (array-like; tensors are converted by the twin first).
        ndim: the rank the layer needs.

    Returns:
        float32 array.

    Raises:
        ValueError: wrong rank, not numeric, NaN or infinity.
    """
    arr = np.asarray(value)
    if arr.ndim != ndim or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(
            f"{name} must be a {ndim}-D numeric array; got {arr.dtype} of shape "
            f"{arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr.astype(np.float32)
