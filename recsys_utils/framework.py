"""The framework switch: which framework trains a chapter's experiments.

Every chapter starts with ``FRAMEWORK = ru.framework()``. The value comes from the
environment variable ``RECSYS_FRAMEWORK`` (``pytorch`` or ``tensorflow``, default
``pytorch``), so one chapter runs every experiment in either framework::

    RECSYS_FRAMEWORK=tensorflow jupyter lab  # or: make book RECSYS_FRAMEWORK=tensorflow

The per-framework notebooks that ``make notebooks`` writes fix the choice instead:
their first cell reads ``ru.framework("tensorflow")``. Parity cells train both
frameworks whatever the switch says. This module imports no framework.
"""

from __future__ import annotations

import os

__all__ = ["FRAMEWORKS", "ENV_VAR", "framework", "framework_name"]

#: The frameworks the course is written in, in the order the website shows them.
FRAMEWORKS = ("pytorch", "tensorflow")
#: The environment variable that chooses the framework.
ENV_VAR = "RECSYS_FRAMEWORK"
_NAMES = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}


def _check(value: object, where: str) -> str:
    if not isinstance(value, str) or value.strip().lower() not in FRAMEWORKS:
        raise ValueError(
            f"{where} must be one of {', '.join(FRAMEWORKS)}; got {value!r}"
        )
    return value.strip().lower()


def framework(choice: str | None = None, *, announce: bool = True) -> str:
    """The framework that trains this chapter's experiments.

    Args:
        choice: ``"pytorch"`` or ``"tensorflow"`` to fix it (the per-framework
            notebooks do); ``None`` reads ``$RECSYS_FRAMEWORK`` (unset or empty:
            ``"pytorch"``).
        announce: print one line saying which framework runs and how to change it.

    Returns:
        ``"pytorch"`` or ``"tensorflow"``.

    Raises:
        ValueError: when ``choice`` or ``$RECSYS_FRAMEWORK`` names another framework;
            the message names the variable and the allowed values.
    """
    if choice is not None:
        value = _check(choice, "choice")
        message = (
            f"Framework: {_NAMES[value]}. This notebook holds the {_NAMES[value]} "
            "cells only; the book's chapter shows both frameworks and checks that "
            "they agree."
        )
    else:
        raw = os.environ.get(ENV_VAR, "")
        value = (
            _check(raw, f"the environment variable {ENV_VAR}")
            if raw.strip()
            else FRAMEWORKS[0]
        )
        other = next(f for f in FRAMEWORKS if f != value)
        message = (
            f"Framework: {_NAMES[value]} trains every experiment of this chapter "
            f"({ENV_VAR}={other} runs them in {_NAMES[other]}); the parity cells "
            "train both."
        )
    if announce:
        print(message)
    return value


def framework_name(value: str) -> str:
    """How a framework is written in prose and captions.

    Args:
        value: ``"pytorch"`` or ``"tensorflow"``.

    Returns:
        ``"PyTorch"`` or ``"TensorFlow"``.
    """
    return _NAMES[_check(value, "value")]
