"""Where inputs enter the package: one set of checks for ids, numbers and arrays.

Every public function of ``recsys_utils`` that takes user or item ids, ratings, scores
or hyperparameters checks them here, so that a bad argument fails the same way
everywhere (in NumPy code and in both framework twins) with a ``ValueError`` whose
message names the argument, shows the bad value and says what was expected.

* :func:`as_ids`: integer ids in ``[0, upper)``. Whole-number floats (``2.0``, as
  pandas makes them after a merge) are accepted; a fractional part, NaN, infinity,
  a negative id, an id ``>= upper``, a boolean, a string or ``None`` is refused
  (NumPy would truncate ``1.7`` to ``1``, count ``-1`` from the end and read booleans
  as a mask).
* :func:`check_finite`: a numeric array without NaN or infinity.
* :func:`check_number` / :func:`check_int`: a hyperparameter that is a real number
  (not a bool, not a string), finite, within its bounds.
* :func:`check_bool`: a flag that is really ``True`` or ``False``.
* :func:`check_frame`: a pandas DataFrame with the columns a function reads.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "as_ids",
    "check_finite",
    "check_number",
    "check_int",
    "check_bool",
    "check_frame",
]


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask.reshape(-1))[0])


def _range_text(upper: int | None) -> str:
    return "non-negative integer ids" if upper is None else f"in [0, {upper})"


def as_ids(
    ids: Any,
    name: str,
    upper: int | None = None,
    *,
    flatten: bool = False,
    allow_empty: bool = True,
) -> np.ndarray:
    """Check user or item ids and return them as a 1-D int64 array.

    Args:
        ids: a sequence, array, pandas Series or a single id.
        name: the argument's name, used in the error message (``"user_ids"``).
        upper: the number of valid ids: every id must lie in ``[0, upper)``;
            ``None`` checks only that ids are non-negative integers.
        flatten: accept an array of any shape and flatten it (``False``: a 2-D
            array is an error, because the caller expects one id per row).
        allow_empty: accept an empty array.

    Returns:
        int64 array of shape ``(n,)`` (a single id gives ``n = 1``).

    Raises:
        ValueError: an id that is not a whole number (a fractional float, NaN,
            infinity, a string, ``None``), a boolean, a negative id or one
            ``>= upper``; the message names ``name``, the bad value, its position
            and the valid range.
    """
    if hasattr(ids, "to_numpy"):  # pandas Series / Index
        ids = ids.to_numpy()
    if isinstance(ids, (str, bytes)):
        raise ValueError(
            f"{name} must be integer ids {_range_text(upper)}; got the string {ids!r}"
        )
    if ids is None:
        raise ValueError(f"{name} must be integer ids {_range_text(upper)}; got None")
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        if not flatten:
            raise ValueError(
                f"{name} must be a 1-D array of ids; got shape {arr.shape}"
            )
        arr = arr.reshape(-1)
    if arr.size == 0:
        if not allow_empty:
            raise ValueError(f"{name} must not be empty")
        return np.zeros(0, dtype=np.int64)
    if arr.dtype == bool:
        raise ValueError(
            f"{name} must be integer ids {_range_text(upper)}, not booleans (for a "
            "mask, pass np.flatnonzero(mask))"
        )
    if arr.dtype == object:
        bad = [
            i
            for i, v in enumerate(arr)
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real)
        ]
        if bad:
            v = arr[bad[0]]
            raise ValueError(
                f"{name} must be integer ids {_range_text(upper)}; got {v!r} "
                f"({type(v).__name__}) at position {bad[0]}"
            )
        arr = arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.floor(arr))
        if bad.any():
            i = _first_bad(bad)
            raise ValueError(
                f"{name} must be integer ids {_range_text(upper)}; got "
                f"{float(arr[i])!r} at position {i} (not a whole number)"
            )
    elif not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{name} must be integer ids {_range_text(upper)}; got dtype {arr.dtype} "
            f"(first value {arr[0].tolist()!r})"
        )
    if (
        np.issubdtype(arr.dtype, np.unsignedinteger)
        and arr.max() > np.iinfo(np.int64).max
    ):
        i = int(np.argmax(arr))
        raise ValueError(
            f"{name} must be integer ids {_range_text(upper)}; got {arr[i]} at "
            f"position {i}"
        )
    with np.errstate(invalid="ignore"):  # a float beyond int64 is caught below
        out = arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating) and np.any(out != arr):
        i = _first_bad(out != arr)  # beyond int64: the cast changed the value
        raise ValueError(f"{name} holds an id too large for int64: {arr[i]!r}")
    neg = out < 0
    if neg.any():
        i = _first_bad(neg)
        want = "be non-negative" if upper is None else f"lie in [0, {upper})"
        raise ValueError(
            f"{name} must {want} (ids are never negative); got {out[i]} at position {i}"
        )
    if upper is not None:
        high = out >= upper
        if high.any():
            i = _first_bad(high)
            raise ValueError(
                f"{name} must lie in [0, {upper}); got {out[i]} at position {i}"
            )
    return out


def check_finite(values: Any, name: str, *, dtype: Any = np.float64) -> np.ndarray:
    """Check that an array is numeric and holds no NaN or infinity.

    Args:
        values: array-like of numbers.
        name: the argument's name, used in the error message.
        dtype: dtype of the returned array.

    Returns:
        ``np.asarray(values, dtype=dtype)``.

    Raises:
        ValueError: a value that is not a number (a string, ``None``), NaN or
            infinite; the message names ``name``, the value and its position.
    """
    arr = np.asarray(values)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == object
    ):
        raise ValueError(f"{name} must hold numbers; got dtype {arr.dtype}")
    try:
        out = arr.astype(dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must hold numbers; {err}") from None
    bad = ~np.isfinite(out)
    if bad.any():
        i = _first_bad(bad)
        where = (
            tuple(int(j) for j in np.unravel_index(i, out.shape)) if out.ndim > 1 else i
        )
        raise ValueError(
            f"{name} must be finite (no NaN or infinity); got {out.reshape(-1)[i]} at "
            f"position {where}"
        )
    return out


def _bound_text(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    return " and ".join(parts)


def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check a real-valued hyperparameter: a finite number within its bounds.

    Args:
        value: the value to check.
        name: the argument's name, used in the error message.
        low: lower bound, or ``None``.
        high: upper bound, or ``None``.
        low_open: the lower bound is excluded (``value > low``).
        high_open: the upper bound is excluded (``value < high``).

    Returns:
        ``float(value)``.

    Raises:
        ValueError: a bool, a string, ``None``, NaN, infinity or a value outside the
            bounds; the message names ``name`` and the bounds.
    """
    bounds = _bound_text(low, high, low_open, high_open)
    want = "a finite number" + (f" {bounds}" if bounds else "")
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
    ):
        raise ValueError(f"{name} must be {want}; got {value!r}")
    v = float(value)
    if low is not None and (v <= low if low_open else v < low):
        raise ValueError(f"{name} must be {want}; got {value!r}")
    if high is not None and (v >= high if high_open else v > high):
        raise ValueError(f"{name} must be {want}; got {value!r}")
    return v


def _int_text(low: int | None, high: int | None) -> str:
    """What an integer check expects, in words: ``"a positive int"``, ``"an int in
    [1, 5]"``, ``"an int >= 3"``."""
    if high is None:
        if low == 1:
            return "a positive int"
        if low == 0:
            return "a non-negative int"
        return "an int" if low is None else f"an int >= {low}"
    if low is None:
        return f"an int <= {high}"
    return f"an int in [{low}, {high}]"


def check_int(
    value: Any, name: str, *, low: int | None = None, high: int | None = None
) -> int:
    """Check an integer hyperparameter (a count, a size, a seed).

    Args:
        value: the value to check; a Python or NumPy integer, not a bool or a float.
        name: the argument's name, used in the error message.
        low: smallest allowed value, or ``None``.
        high: largest allowed value, or ``None``.

    Returns:
        ``int(value)``.

    Raises:
        ValueError: not an integer (a bool, a float, a string, ``None``), or outside
            ``[low, high]``; the message names ``name`` and the range ("k must be a
            positive int; got 0", "k must be an int in [1, 5]; got 6").
    """
    want = _int_text(low, high)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be {want}; got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {want}; got {value!r}")
    return int(value)


def check_bool(value: Any, name: str) -> bool:
    """Check a flag: ``True`` or ``False`` (a NumPy bool too), nothing truthy.

    Args:
        value: the value to check.
        name: the argument's name, used in the error message.

    Returns:
        ``bool(value)``.

    Raises:
        ValueError: any other value (``"no"`` is truthy: it would mean True).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_frame(
    df: Any, columns: tuple[str, ...], name: str = "df", *, allow_empty: bool = False
) -> pd.DataFrame:
    """Check an interaction frame: a pandas DataFrame with the given columns.

    Args:
        df: the value to check.
        columns: the columns the caller reads (``("user_id", "item_id")``).
        name: the argument's name, used in the error message.
        allow_empty: accept a frame without rows.

    Returns:
        ``df``, unchanged.

    Raises:
        ValueError: not a DataFrame, a missing column (the message lists the missing
            ones), or no row when ``allow_empty`` is ``False``.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame; got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{name} must have the columns {list(columns)}; missing {missing}"
        )
    if not allow_empty and len(df) == 0:
        raise ValueError(f"{name} must not be empty (it has no row)")
    return df
