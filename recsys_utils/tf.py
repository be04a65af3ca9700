"""TensorFlow twin of :mod:`recsys_utils.torch`: the same public names and signatures.

A chapter reads ``from recsys_utils import tf as rtf``. Only TensorFlow (and Keras) is
imported here. Batching comes from the framework-neutral
:func:`recsys_utils.batching.minibatch_indices`, so both twins see the same batches in
the same order for the same seed, and both validate their arguments with the same
shared checks (:mod:`recsys_utils.batching`, :mod:`recsys_utils.validation`), so a
bad argument fails the same way in both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ._extras import extra_needed
from ._seed import (
    check_threads,
    import_tensorflow_quietly,
    seed_everything,
    seed_framework,
    threads_from_env,
)
from .batching import (
    History,
    check_score_args,
    check_tensor_input,
    check_train_args,
    float_weights,
    minibatch_indices,
    run_training,
)
from .validation import check_int

# TF_CPP_MIN_LOG_LEVEL=3 (unless set), start-up banner muted, Python loggers at ERROR
with extra_needed("tensorflow", "recsys_utils.tf"):  # names the extra when missing
    tf = import_tensorflow_quietly()
    import keras  # noqa: F401  (checked here with TensorFlow; used below)
seed_framework("tensorflow")  # seeded as seed_everything asked, before any draw

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

FRAMEWORK = "tensorflow"

#: Variables TensorFlow itself reads for its thread pools (intra-op, inter-op).
NATIVE_THREADS_ENV = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
#: TensorFlow's intra- and inter-op threads when no variable asks otherwise. One: a
#: second thread saved up to 24 % on an idle 2-core machine and cost up to 1.6x with
#: its other core busy (benchmarks/threads.md has the measurements).
DEFAULT_THREADS = 1


def configure_threads(threads: int | None = None) -> int:
    """Set TensorFlow's intra- and inter-op threads; return the intra-op number in
    effect.

    Runs when this module is imported, with ``threads=None``: when
    ``$TF_NUM_INTRAOP_THREADS`` or ``$TF_NUM_INTEROP_THREADS`` is set, TensorFlow
    reads them itself (they are only checked here); else :data:`DEFAULT_THREADS` for
    both pools. TensorFlow fixes its pools when it runs its first operation: after
    that, this changes nothing (a ``threads`` given then raises). Its twin in
    :mod:`recsys_utils.torch` follows ``$RECSYS_TORCH_THREADS`` and
    ``$OMP_NUM_THREADS`` the same way.

    Args:
        threads: a positive int to set now, or None for the rule above.

    Returns:
        The intra-op threads TensorFlow uses (0: its own default, one per core).

    Raises:
        ValueError: ``threads``, ``$TF_NUM_INTRAOP_THREADS`` or
            ``$TF_NUM_INTEROP_THREADS`` is not a positive int; or ``threads`` was
            given after TensorFlow started its pools.
    """
    native = {name: threads_from_env(name) for name in NATIVE_THREADS_ENV}
    explicit = threads is not None
    if explicit:
        threads = check_threads(threads, "threads")
    elif any(v is not None for v in native.values()):
        return native["TF_NUM_INTRAOP_THREADS"] or 0
    else:
        threads = DEFAULT_THREADS
    current = tf.config.threading.get_intra_op_parallelism_threads()
    if current != threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError as err:  # TensorFlow already ran an operation
            if explicit:
                started = current or "its default number of"
                raise ValueError(
                    f"TensorFlow already started its thread pools with {started} "
                    "threads; set threads before running any TensorFlow operation "
                    "(or set $TF_NUM_INTRAOP_THREADS)"
                ) from err
    return tf.config.threading.get_intra_op_parallelism_threads()


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


def to_tensor(x: Any, dtype: Any = None) -> tf.Tensor:
    """NumPy (or array-like) -> ``tf.Tensor``, always a copy.

    Args:
        x: array-like, tensor or variable.
        dtype: a NumPy dtype or its name (``"float64"``); ``None``: floats become
            float32, integers int64, booleans stay bool.

    Returns:
        A ``tf.Tensor``.
    """
    if isinstance(x, (tf.Tensor, tf.Variable)):
        x = x.numpy()
    arr = check_tensor_input(np.asarray(x), "x")
    return tf.constant(np.array(arr, dtype=_numpy_dtype(arr, dtype), copy=True))


def to_numpy(t: Any) -> np.ndarray:
    """``tf.Tensor`` / ``tf.Variable`` (or array-like) -> NumPy array.

    Args:
        t: a tensor, variable, NumPy array or number.

    Returns:
        A NumPy array.
    """
    if isinstance(t, (tf.Tensor, tf.Variable)):
        return t.numpy()
    if hasattr(t, "numpy") and not isinstance(t, np.ndarray):  # keras.Variable
        return np.asarray(t.numpy())
    return np.asarray(t)


def _batches_of(
    tensors: list, batch_size: int, shuffle: bool, seed: int, epoch: int
) -> Iterator[tuple[tf.Tensor, ...]]:
    """Slice already-converted tensors along recsys_utils.batching.minibatch_indices."""
    for idx in minibatch_indices(
        len(tensors[0]), batch_size, shuffle=shuffle, seed=seed, epoch=epoch
    ):
        index = tf.constant(idx)
        yield tuple(tf.gather(t, index) for t in tensors)


def batches(
    arrays: Sequence[np.ndarray],
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    epoch: int = 0,
) -> Iterator[tuple[tf.Tensor, ...]]:
    """Yield mini-batches of several equal-length arrays as tuples of tensors.

    Args:
        arrays: NumPy arrays with the same first dimension (e.g. user_ids,
            item_ids, ratings).
        batch_size: examples per batch.
        shuffle: shuffle the rows (same order as the PyTorch twin for the same seed).
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

    The chapter keeps the model, the loss and the optimiser step in ``model_step``
    (typically a ``tf.function`` with a ``GradientTape``); this loop only feeds it
    batches and records the losses.

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

    def batch_iter(epoch: int) -> Iterator[tuple[tf.Tensor, ...]]:
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
    """Dot-product scores of some users against every item, computed in TensorFlow.

    Use as the ``score`` callable of ``evaluate_topk`` with
    ``functools.partial(scores_for_users, user_vectors, item_vectors)``.

    Args:
        user_vectors: ``(num_users, embedding_dim)`` tensor, variable or array.
        item_vectors: ``(num_items, embedding_dim)`` tensor, variable or array.
        user_ids: int array of the users to score.
        batch_size: users per matrix product.

    Returns:
        NumPy float32 array ``(len(user_ids), num_items)``.
    """
    users = to_tensor(_float_array("user_vectors", user_vectors, 2))
    items = to_tensor(_float_array("item_vectors", item_vectors, 2))
    user_ids = check_score_args(users.shape, items.shape, user_ids, batch_size)
    out = np.empty((len(user_ids), items.shape[0]), dtype=np.float32)
    for s in range(0, len(user_ids), batch_size):
        u = tf.gather(users, tf.constant(user_ids[s : s + batch_size]))
        out[s : s + batch_size] = tf.matmul(
            u, items, transpose_b=True
        ).numpy()  # (batch, num_items)
    return out


# ---------------------------------------------------------------------------
# Models built from NumPy weights (the course's one idiom for both frameworks)
# ---------------------------------------------------------------------------

__all__ += ["embedding", "dense", "parameter"]

import keras  # noqa: E402  (Keras 3, after TensorFlow's quiet import)


def _float_array(name: str, value: Any, ndim: int) -> np.ndarray:
    return float_weights(name, to_numpy(value), ndim)  # the twins check alike


def embedding(table: Any, *, trainable: bool = True) -> keras.layers.Embedding:
    """A built ``keras.layers.Embedding`` whose rows are a copy of a NumPy table.

    The twin of :func:`recsys_utils.torch.embedding`.

    Args:
        table: ``(num_rows, dim)`` array.
        trainable: ``False`` freezes the table.

    Returns:
        ``keras.layers.Embedding`` of shape ``(num_rows, dim)`` holding float32 copies.
    """
    arr = _float_array("table", table, 2)
    layer = keras.layers.Embedding(*arr.shape, trainable=trainable)
    layer.build((None,))
    layer.embeddings.assign(arr)
    return layer


def dense(kernel: Any, bias: Any) -> keras.layers.Dense:
    """A built ``keras.layers.Dense`` computing ``x @ kernel + bias`` (NumPy weights).

    Keras stores the kernel as NumPy does, ``(in_features, out_features)``. No
    activation: the chapters apply it explicitly, as in PyTorch.

    Args:
        kernel: ``(in_features, out_features)`` array.
        bias: ``(out_features,)`` array.

    Returns:
        ``keras.layers.Dense(out_features)``, built for ``in_features`` inputs.
    """
    w = _float_array("kernel", kernel, 2)
    b = _float_array("bias", bias, 1)
    if b.shape[0] != w.shape[1]:
        raise ValueError(
            f"bias must have shape ({w.shape[1]},) to match kernel {w.shape}; "
            f"got {b.shape}"
        )
    layer = keras.layers.Dense(w.shape[1])
    layer.build((None, w.shape[0]))
    layer.kernel.assign(w)
    layer.bias.assign(b)
    return layer


def parameter(value: Any, *, trainable: bool = True) -> keras.Variable:
    """A trainable variable holding a float32 copy of a NumPy array.

    Args:
        value: array of any shape.
        trainable: ``False`` gives a non-trainable variable.

    Returns:
        ``keras.Variable``; its PyTorch twin is an ``nn.Parameter``.
    """
    arr = np.asarray(to_numpy(value))
    arr = _float_array("value", arr, arr.ndim)
    return keras.Variable(arr, trainable=trainable)


# ---------------------------------------------------------------------------
# tf.data pipelines of the course's batches, for Keras's fit. TensorFlow only
# (a PyTorch loop iterates minibatch_indices itself), so not in __all__, which the
# twins share.
# ---------------------------------------------------------------------------


def epoch_dataset(
    batches_of_epoch: Callable[[int], Any],
    signature: Any,
    batch_size: int,
    *,
    num_epochs: int | None = None,
) -> tf.data.Dataset:
    """The batches ``batches_of_epoch(epoch)`` gives, epoch after epoch, for ``fit``.

    ``batches_of_epoch(epoch)`` yields one epoch's batches, NumPy arrays in
    ``signature``'s structure, cut as :func:`recsys_utils.batching.minibatch_indices`
    cuts: ``batch_size`` rows each, the last one smaller. The pipeline reads each epoch
    through ``tf.numpy_function`` and slices its rows again, into the same batches. Not
    ``tf.data.Dataset.from_generator``: the generator's kernel sets glibc's
    ``M_TRIM_THRESHOLD`` to 128 KiB for the whole process (TensorFlow logs "Memory
    patch applied"), after which every tensor larger than that is mapped and unmapped
    afresh: a training step of chapter 5 took 24 ms instead of 12 ms.

    Args:
        batches_of_epoch: ``epoch (int) -> iterable of batches`` shaped like
            ``signature``.
        signature: ``tf.TensorSpec`` (or a dict/tuple of them) of one batch, first
            dimension ``None``.
        batch_size: rows per batch (positive int).
        num_epochs: epochs to read (positive int); ``None`` reads on for ever (Keras's
            ``fit`` then takes ``steps_per_epoch`` batches an epoch).

    Returns:
        ``tf.data.Dataset`` of batches in ``signature``'s structure.

    Raises:
        ValueError: (while reading) a batch other than the last one of its epoch does
            not hold ``batch_size`` rows, or a batch does not match ``signature``.
    """
    batch_size = check_int(batch_size, "batch_size", low=1)
    if num_epochs is not None:
        num_epochs = check_int(num_epochs, "num_epochs", low=1)
    specs = tf.nest.flatten(signature)
    if not specs or not all(isinstance(s, tf.TensorSpec) for s in specs):
        raise TypeError(f"signature must hold tf.TensorSpec; got {signature!r}")

    def rows(epoch):  # the epoch's batches end to end, one array per spec
        parts = [tf.nest.flatten(b) for b in batches_of_epoch(int(epoch))]
        sizes = [len(p[0]) for p in parts]
        if not sizes or any(len(p) != len(specs) for p in parts):
            raise ValueError(
                f"epoch {int(epoch)}: every batch must hold {len(specs)} arrays "
                "(the signature's); got none or another number"
            )
        if any(s != batch_size for s in sizes[:-1]) or not 0 < sizes[-1] <= batch_size:
            raise ValueError(
                f"epoch {int(epoch)}: batches must hold batch_size={batch_size} rows, "
                f"the last one 1 to {batch_size}; got sizes {sizes}"
            )
        return [
            np.concatenate([p[k] for p in parts]).astype(spec.dtype.as_numpy_dtype)
            for k, spec in enumerate(specs)
        ]

    def cut(epoch):  # a slice per batch (not .batch(), which copies row by row)
        arrays = tf.numpy_function(rows, [epoch], [s.dtype for s in specs])
        for array, spec in zip(arrays, specs):
            array.set_shape(spec.shape)
        epoch_rows = tf.nest.pack_sequence_as(signature, arrays)
        starts = tf.range(0, tf.shape(arrays[0], out_type=tf.int64)[0], batch_size)
        return tf.data.Dataset.from_tensor_slices(starts).map(
            lambda start: tf.nest.map_structure(
                lambda a: a[start : start + batch_size], epoch_rows
            )
        )

    if num_epochs is None:
        epochs = tf.data.Dataset.counter()
    else:
        epochs = tf.data.Dataset.range(num_epochs)
    return without_autotune(epochs.flat_map(cut))


def without_autotune(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` with tf.data's autotuning off, for it and every dataset built on it.

    Autotuning sizes buffers and parallelism by a CPU budget of every core. With one
    core kept busy by other work, it cost SASRec's training (section 6.3's stand-in,
    12 epochs, one thread) 23.4 s instead of 13.7 s, and nothing when the machine was
    idle; the batches and the weights are the same either way (a pipeline's content
    does not depend on its tuning). ``epoch_dataset`` and ``minibatch_dataset`` apply
    it; a chapter's own pipeline calls it on its last step.

    Args:
        dataset: a ``tf.data.Dataset``.

    Returns:
        the same dataset with ``options.autotune.enabled = False``.
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(f"dataset must be a tf.data.Dataset; got {type(dataset)}")
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def minibatch_dataset(
    n: int, batch_size: int, *, seed: int, num_epochs: int | None = None
) -> tf.data.Dataset:
    """The row indices of :func:`recsys_utils.batching.minibatch_indices`, epoch
    after epoch (``epoch_dataset``): the batches PyTorch's loop sees, in its order.

    Args:
        n: number of examples (positive int).
        batch_size: rows per batch (positive int).
        seed: seed of the shuffling (non-negative int).
        num_epochs: epochs to read; ``None`` reads on for ever.

    Returns:
        ``tf.data.Dataset`` of int64 index vectors; gather the examples with them.
    """
    n = check_int(n, "n", low=1)
    seed = check_int(seed, "seed", low=0)

    def batches(epoch):
        return minibatch_indices(n, batch_size, seed=seed, epoch=epoch)

    spec = tf.TensorSpec([None], tf.int64)
    return epoch_dataset(batches, spec, batch_size, num_epochs=num_epochs)
