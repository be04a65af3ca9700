"""Asserted claims and parity checks, recorded for the margin tables.

A chapter asserts what its text says: "EASE beats popularity by at least 0.05 of
recall@10" is ``assert_claim("EASE beats popularity (recall@10)", ease - pop,
at_least=0.05)``; "the two frameworks agree" is ``assert_parity(loss_pt, loss_tf,
atol=..., name="epoch losses")``. Both raise ``AssertionError`` when the lesson stops
being true, and both return how much room was left.

When ``$RECSYS_CLAIMS_LOG`` names a file, every call also appends one JSON line to it
(the notebook, the name, the value, the bound): ``make claims`` reruns every section
with three seeds of the marketplace and ``make parity`` reruns every parity section
under different thread and oneDNN settings, and each writes its table from these lines
(benchmarks/claims_margins.md, benchmarks/parity.md). With ``$RECSYS_PARITY_MEASURE``
set to ``1``, a parity gap beyond the tolerance is recorded instead of raised, and with
``$RECSYS_CLAIMS_MEASURE`` set to ``1`` so is a claim that does not hold: the
measurement sees every check of a section, not only those before the first failure.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .validation import check_number

__all__ = ["LOG_ENV", "assert_claim", "assert_parity"]

LOG_ENV = "RECSYS_CLAIMS_LOG"
MEASURE_ENV = "RECSYS_PARITY_MEASURE"
CLAIMS_MEASURE_ENV = "RECSYS_CLAIMS_MEASURE"


def _record(kind: str, **fields) -> None:
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    line = {"kind": kind, "notebook": os.environ.get("RECSYS_NOTEBOOK", ""), **fields}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"name must be a non-empty str saying what is claimed; got {name!r}"
        )
    return name


def assert_claim(
    name: str,
    value: float,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
) -> float:
    """Assert a claim the text makes, with its margin; return the room left.

    Args:
        name: what the text claims, in words (the margin tables list it).
        value: the measured quantity, e.g. a difference of two models' recall.
        at_least: the claim holds when ``value >= at_least``.
        at_most: the claim holds when ``value <= at_most``.

    Returns:
        ``value - at_least`` (or ``at_most - value``; with both bounds, the smaller).

    Raises:
        AssertionError: the claim does not hold (the message gives value and bound).
        ValueError: no bound, a bound or value that is not a finite number, or an
            empty name.
    """
    name = _name(name)
    value = check_number(value, "value")
    if at_least is None and at_most is None:
        raise ValueError("give at_least or at_most: a claim needs a bound")
    rooms = []
    if at_least is not None:
        rooms.append(value - check_number(at_least, "at_least"))
    if at_most is not None:
        rooms.append(check_number(at_most, "at_most") - value)
    room = float(min(rooms))
    _record(
        "claim", name=name, value=value, at_least=at_least, at_most=at_most, room=room
    )
    if room < 0 and os.environ.get(CLAIMS_MEASURE_ENV) != "1":
        bound = " and ".join(
            f"{word} {b:.4g}"
            for word, b in (("at least", at_least), ("at most", at_most))
            if b is not None
        )
        raise AssertionError(f"claim {name!r} does not hold: {value:.4g}, not {bound}")
    return room


def _array(x: Any, what: str) -> np.ndarray:
    if hasattr(x, "numpy") and callable(x.numpy):  # a tensor
        x = x.detach().numpy() if hasattr(x, "detach") else x.numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{what} must be numeric (array, tensor or list); got {type(x).__name__}"
        ) from err
    return arr


def assert_parity(
    curve_a: Any,
    curve_b: Any,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    name: str = "parity",
) -> float:
    """Assert that two curves (losses, scores; PyTorch vs TensorFlow) agree.

    Passes when ``|a - b| <= atol + rtol * |b|`` everywhere (``np.allclose``'s rule).

    Args:
        curve_a: array-like or tensor, e.g. the PyTorch losses.
        curve_b: array-like or tensor of the same shape, e.g. the TensorFlow losses.
        atol: absolute tolerance.
        rtol: relative tolerance.
        name: what is compared, used in the message and the parity table.

    Returns:
        The largest absolute difference, as a float.

    Raises:
        AssertionError: on different shapes, NaN, or a difference beyond tolerance,
            with the position and both values.
        ValueError: a curve that is not numeric, or a tolerance that is negative or
            not a finite number.
    """
    atol = check_number(atol, "atol", low=0)
    rtol = check_number(rtol, "rtol", low=0)
    a, b = _array(curve_a, "curve_a"), _array(curve_b, "curve_b")
    if a.shape != b.shape:
        raise AssertionError(f"{name}: the shapes differ, {a.shape} vs {b.shape}")
    if np.isnan(a).any() or np.isnan(b).any():
        raise AssertionError(f"{name}: a curve contains NaN")
    if a.size == 0:
        return 0.0
    diff = np.abs(a - b)
    allowed = atol + rtol * np.abs(b)
    max_diff = float(diff.max())
    with np.errstate(divide="ignore", invalid="ignore"):
        used = float(np.max(np.where(allowed > 0, diff / allowed, np.inf * (diff > 0))))
    _record("parity", name=name, gap=max_diff, atol=atol, rtol=rtol, used=used)
    bad = diff > allowed
    if bad.any() and os.environ.get(MEASURE_ENV) != "1":
        i = np.unravel_index(np.argmax(np.where(bad, diff, -1.0)), a.shape)
        where = i[0] if len(i) == 1 else i
        raise AssertionError(
            f"{name}: the curves differ by up to {max_diff:.3g} (at index {where}: "
            f"{a[i]:.6g} vs {b[i]:.6g}); tolerance atol={atol}, rtol={rtol}"
        )
    return max_diff
