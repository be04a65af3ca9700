"""Self-checks of the exercises, with the reference answers they compare against.

Students: please do not open the files in this folder before trying an exercise. The
check tells you what is wrong without giving the answer away; these files do.

A chapter's check cell reads::

    result = ru.exercises.check("ch1-ex-observed-loss", observed_loss)
    assert result.ok

The labels are the exercises' labels in the chapter (``:label:`` of the ``exercise``
block). One module per chapter (``ch01.py``, ...) registers its checks with
:func:`register`; a check receives the reader's answer (a value or a function) and
any context the chapter passes (``check("ch3-ex-nprobe", my_nprobe, table=ivf)``), and
returns the :class:`~recsys_utils.checks.CheckResult` of
:func:`~recsys_utils.checks.check_value` or :func:`~recsys_utils.checks.check_function`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from ..checks import CheckResult

__all__ = ["check", "register", "labels"]

_CHECKS: dict[str, Callable[..., CheckResult]] = {}
_LOADED = False


def register(
    label: str,
) -> Callable[[Callable[..., CheckResult]], Callable[..., CheckResult]]:
    """Decorator: register the check of the exercise ``label``.

    Args:
        label: the exercise's label, e.g. ``"ch1-ex-observed-loss"``.

    Returns:
        The decorator (the function is returned unchanged).

    Raises:
        ValueError: when the label is already registered.
    """

    def decorate(fn: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        if label in _CHECKS and _CHECKS[label] is not fn:
            raise ValueError(f"the exercise label {label!r} is registered twice")
        _CHECKS[label] = fn
        return fn

    return decorate


def tensor_inputs(framework: str) -> Callable[[tuple], tuple]:
    """A converter of a check's NumPy inputs into the framework's tensors.

    Args:
        framework: "pytorch" or "tensorflow" (the chapter's FRAMEWORK).

    Returns:
        A function mapping a tuple of inputs to the same tuple with every NumPy array
        turned into a tensor of that framework (other values kept).
    """
    if framework == "pytorch":
        from .. import torch as twin
    elif framework == "tensorflow":
        from .. import tf as twin
    else:
        raise ValueError(
            "framework must be 'pytorch' or 'tensorflow' (the chapter's FRAMEWORK); "
            f"got {framework!r}"
        )
    import numpy as np

    return lambda inputs: tuple(
        twin.to_tensor(x) if isinstance(x, np.ndarray) else x for x in inputs
    )


def _load_all() -> None:
    global _LOADED
    if not _LOADED:
        for module in pkgutil.iter_modules(__path__):
            if module.name.startswith("ch"):
                importlib.import_module(f"{__name__}.{module.name}")
        _LOADED = True


def labels() -> list[str]:
    """Every registered exercise label, sorted."""
    _load_all()
    return sorted(_CHECKS)


def check(label: str, answer: Any, **context: Any) -> CheckResult:
    """Check the reader's answer to the exercise ``label``.

    Args:
        label: the exercise's label.
        answer: the reader's value or function (``...`` or a stub raising
            ``NotImplementedError`` reports "not attempted").
        **context: data from the chapter that the check needs (a table, a model's
            scores), passed through to the exercise's check.

    Returns:
        A :class:`~recsys_utils.checks.CheckResult`; one line is printed.

    Raises:
        ValueError: for an unknown label (the message lists the known ones).
    """
    _load_all()
    if label not in _CHECKS:
        raise ValueError(
            f"no exercise is labelled {label!r}; "
            f"known labels: {', '.join(sorted(_CHECKS))}"
        )
    return _CHECKS[label](answer, **context)
