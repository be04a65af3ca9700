"""Self-checks for exercises, and the parity assertion of the dual-framework chapters.

A check compares a reader's answer with a reference and prints one line:
``✅ correct: ...``, ``❌ not yet: <hint>``, ``⏳ not attempted: ...`` (the answer is
still the stub: ``...`` or a function that raises ``NotImplementedError``) or
``⚠️ error: ...`` (the reader's function raised). It never prints the expected value.
Inside a Jupyter kernel it also publishes the outcome as a
``application/vnd.recsys.check+json`` output that the autograder reads (front ends
show nothing for it).
Typical mistakes get their own hint through :class:`Hint`::

    check_value(loss, expected_loss, name="the MF loss", hints=[
        Hint(dense_loss, "you summed over every cell; only observed ratings count"),
        Hint(lambda a: a < 0, "a squared loss cannot be negative"),
    ])

The exercises' self-checks (``recsys_utils.exercises``) hold no reference: they call
:func:`check_cases` with stored public inputs, the outputs expected on them and the
outputs of each typical mistake, or :func:`check_hashed` with salted hashes of the
expected value (:func:`hash_value`). :func:`judge` is the one comparison rule, shared
with the grader (``coursetools/grade.py``), which applies it in its own process to
what a student's function returned on hidden inputs.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .validation import check_number

__all__ = [
    "Hint",
    "CheckResult",
    "check_value",
    "check_function",
    "check_cases",
    "check_hashed",
    "hash_value",
    "hashed_match",
    "judge",
    "to_array",
    "encode_value",
    "decode_value",
    "dumps_value",
    "loads_value",
    "VALUE_DTYPES",
    "STATUSES",
    "CORRECT",
    "HINT",
    "NOT_ATTEMPTED",
    "ERROR",
    "CHECK_MIME",
]


@dataclass(frozen=True)
class Hint:
    """A typical wrong answer and the hint to show when the reader gives it.

    Attributes:
        wrong: in :func:`check_value`, either the typical wrong *value* (matched with
            the check's tolerances) or a predicate ``wrong(answer) -> bool``; in
            :func:`check_function`, a typical wrong *function* with the reference's
            signature (matched when the reader's outputs equal its outputs on every
            trial).
        message: what to tell the reader, specific to that mistake.
    """

    wrong: Any
    message: str


CORRECT, HINT, NOT_ATTEMPTED, ERROR = "correct", "hint", "not attempted", "error"
#: The outcomes a check can report.
STATUSES = (CORRECT, HINT, NOT_ATTEMPTED, ERROR)
#: MIME type of the machine-readable outcome published in a notebook's outputs.
CHECK_MIME = "application/vnd.recsys.check+json"
_ICON = {
    CORRECT: "✅ correct",
    HINT: "❌ not yet",
    NOT_ATTEMPTED: "⏳ not attempted",
    ERROR: "⚠️ error",
}


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a check; truthy when correct.

    Attributes:
        ok: the answer is correct.
        message: the line that was printed.
        status: one of :data:`STATUSES`.
        exercise: the exercise's label (``"ch1-ex-observed-loss"``) or ``None``.
    """

    ok: bool
    message: str
    status: str = CORRECT
    exercise: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"CheckResult(ok={self.ok}, status={self.status!r})"


GENERIC_HINT = (
    "the values differ from the reference. Work one tiny example by hand and compare "
    "it with your code, step by step."
)


def _to_array(x: Any) -> np.ndarray:
    """NumPy view of a number, array, list or tensor (torch/tf), importing neither."""
    if hasattr(x, "detach"):  # torch.Tensor
        x = x.detach().cpu().numpy()
    elif hasattr(x, "numpy") and not isinstance(x, np.ndarray):  # tf.Tensor / Variable
        x = x.numpy()
    return np.asarray(x, dtype=np.float64)


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(
        np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    )


def to_array(x: Any) -> np.ndarray:
    """A float64 NumPy array of a number, array, nested list or torch/tf tensor.

    Raises:
        TypeError, ValueError: when ``x`` is not numeric.
    """
    if isinstance(x, (list, tuple)):  # tuples of tensors (two outputs)
        x = [_to_array(v) for v in x]
    return _to_array(x)


def _diagnose(
    answer: Any,
    expected: np.ndarray,
    name: str,
    rtol: float,
    atol: float,
    reveal_shape: bool = True,
) -> tuple[bool, str | None, np.ndarray | None]:
    """(ok, structural problem message or None, answer as array or None)."""
    if answer is None:
        return (
            False,
            f"{name} is None: did you forget a `return` (or to assign it)?",
            None,
        )
    try:
        a = _to_array(answer)
    except (TypeError, ValueError):
        return False, f"{name} should be numeric; got a {type(answer).__name__}.", None
    if a.shape != expected.shape:
        should = (
            f"it should have shape {expected.shape}"
            if reveal_shape
            else "that is not the shape expected"
        )
        return False, f"{name} has shape {a.shape}, but {should}.", a
    if np.isnan(a).any() and not np.isnan(expected).any():
        return (
            False,
            (
                f"{name} contains NaN. Look for a division by zero, a log of 0 or a "
                "negative number, or an overflowing exp."
            ),
            a,
        )
    if np.isinf(a).any() and not np.isinf(expected).any():
        return False, f"{name} contains inf: something overflows or divides by zero.", a
    return _close(a, expected, rtol, atol), None, a


def _publish(result: CheckResult) -> None:
    """Publish the outcome as a MIME bundle when running in a Jupyter kernel."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: the printed line is the whole report
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return
    from IPython.display import display

    display(
        {CHECK_MIME: {"exercise": result.exercise, "status": result.status}}, raw=True
    )


def _check_settings(name: Any, rtol: Any, atol: Any, hints: Any) -> tuple:
    """The arguments every check shares: a text name, tolerances >= 0, real Hints."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    rtol = check_number(rtol, "rtol", low=0)
    atol = check_number(atol, "atol", low=0)
    if isinstance(hints, (Hint, str, bytes)) or not hasattr(hints, "__iter__"):
        raise ValueError(f"hints must be a list of Hint objects; got {hints!r}")
    hints = list(hints)
    bad = [h for h in hints if not isinstance(h, Hint)]
    if bad:
        raise ValueError(
            "hints must be a list of Hint(wrong, message) objects; got "
            f"{bad[0]!r} ({type(bad[0]).__name__})"
        )
    return rtol, atol, hints


def _expected_array(expected: Any, name: str = "expected") -> np.ndarray:
    try:
        return _to_array(expected)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be numeric (a number, an array or a tensor); got "
            f"{type(expected).__name__}: {err}"
        ) from None


def _report(
    status: str, name: str, message: str, exercise: str | None = None
) -> CheckResult:
    if status == CORRECT:
        text = f"{_ICON[CORRECT]}: {name}"
    elif status == NOT_ATTEMPTED:
        text = (
            f"{_ICON[NOT_ATTEMPTED]}: {name} is still the stub. Write your answer in "
            "the cell above, run it, then run this check again."
        )
    else:
        text = f"{_ICON[status]}: {message}"
    print(text)
    result = CheckResult(status == CORRECT, text, status, exercise)
    _publish(result)
    return result


def _hint_matches_value(
    hint: Hint, answer: Any, a: np.ndarray, rtol: float, atol: float
) -> bool:
    if callable(hint.wrong):
        try:
            return bool(hint.wrong(answer))
        except Exception:  # noqa: BLE001 - a predicate that cannot judge: no match
            return False
    try:
        return _close(a, _to_array(hint.wrong), rtol, atol)
    except (TypeError, ValueError):
        return False


def check_value(
    answer: Any,
    expected: Any,
    *,
    name: str,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    hints: Sequence[Hint] = (),
    exercise: str | None = None,
) -> CheckResult:
    """Check a computed value against the reference value, with targeted hints.

    Args:
        answer: the reader's value (number, array, list, or torch/tf tensor).
        expected: the reference value; never printed.
        name: what is checked, used in the messages ("the loss of the first batch").
        rtol: relative tolerance (``np.allclose``).
        atol: absolute tolerance.
        hints: :class:`Hint` s tried in order when the answer is wrong; ``wrong`` is
            a typical wrong value or a predicate on the answer.
        exercise: the exercise's label, recorded for the autograder.

    Returns:
        :class:`CheckResult`; the message is also printed. An answer that is still
        ``...`` (the stub) reports "not attempted".

    Raises:
        ValueError: a bad argument of the check itself (not of the answer): a
            non-numeric ``expected``, a negative or NaN tolerance, a hint that is not
            a :class:`Hint`, an empty ``name``.
    """
    rtol, atol, hints = _check_settings(name, rtol, atol, hints)
    exp = _expected_array(expected)
    if answer is Ellipsis:
        return _report(NOT_ATTEMPTED, name, "", exercise)
    ok, problem, a = _diagnose(answer, exp, name, rtol, atol)
    if ok:
        return _report(CORRECT, name, "", exercise)
    if problem is None:
        problem = next(
            (h.message for h in hints if _hint_matches_value(h, answer, a, rtol, atol)),
            f"{name}: {GENERIC_HINT}",
        )
    return _report(HINT, name, problem, exercise)


def _call(fn: Callable, inputs: Any) -> Any:
    # a function that mutates its inputs spoils no other call
    inputs = copy.deepcopy(inputs)
    if isinstance(inputs, dict):
        return fn(**inputs)
    if isinstance(inputs, tuple):
        return fn(*inputs)
    return fn(inputs)


def check_function(
    student_fn: Callable,
    reference_fn: Callable,
    *,
    name: str,
    make_inputs: Callable[[np.random.Generator], Any],
    n_trials: int = 5,
    seed: int = 0,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    hints: Sequence[Hint] = (),
    convert_inputs: Callable[[Any], Any] | None = None,
    exercise: str | None = None,
) -> CheckResult:
    """Check a function against a reference on random inputs, with targeted hints.

    Trial ``t`` draws its inputs with ``make_inputs(np.random.default_rng([seed, t]))``.

    Args:
        student_fn: the reader's function.
        reference_fn: the reference implementation (NumPy).
        name: what is checked, used in the messages.
        make_inputs: ``make_inputs(rng)`` returns the arguments: a tuple (positional),
            a dict (keyword) or a single value.
        n_trials: number of random input sets (> 0).
        seed: seed of the inputs.
        rtol: relative tolerance.
        atol: absolute tolerance.
        hints: :class:`Hint` s whose ``wrong`` is a typical wrong function; its hint
            is shown when the reader's outputs match it on every trial.
        convert_inputs: optional map applied to the inputs before calling
            ``student_fn`` (e.g. NumPy arrays to torch tensors); outputs that are
            tensors are converted back automatically.
        exercise: the exercise's label, recorded for the autograder.

    Returns:
        :class:`CheckResult`; the message is also printed. A function that raises
        ``NotImplementedError`` (the stub) reports "not attempted"; one that raises
        anything else reports "error" with the exception.
    """
    if (
        isinstance(n_trials, bool)
        or not isinstance(n_trials, (int, np.integer))
        or n_trials <= 0
    ):
        raise ValueError(f"n_trials must be a positive int; got {n_trials!r}")
    rtol, atol, hints = _check_settings(name, rtol, atol, hints)
    for arg, fn in (("reference_fn", reference_fn), ("make_inputs", make_inputs)):
        if not callable(fn):
            raise ValueError(f"{arg} must be a function; got {type(fn).__name__}")
    if convert_inputs is not None and not callable(convert_inputs):
        raise ValueError(
            "convert_inputs must be a function or None; got "
            f"{type(convert_inputs).__name__}"
        )
    if student_fn is Ellipsis:
        return _report(NOT_ATTEMPTED, name, "", exercise)
    if not callable(student_fn):
        return _report(
            ERROR,
            name,
            f"{name} should be a function; got a {type(student_fn).__name__}.",
            exercise,
        )
    student_out, wrong_trials = [], []
    first_problem: str | None = None
    for trial in range(int(n_trials)):
        inputs = make_inputs(np.random.default_rng([seed, trial]))
        exp = _expected_array(_call(reference_fn, inputs), "reference_fn's output")
        given = (
            convert_inputs(copy.deepcopy(inputs))
            if convert_inputs is not None
            else inputs
        )
        try:
            answer = _call(student_fn, given)
        except NotImplementedError:
            return _report(NOT_ATTEMPTED, name, "", exercise)
        except Exception as err:  # noqa: BLE001 - the reader's error becomes the report
            return _report(
                ERROR, name, f"{name} raised {type(err).__name__}: {err}", exercise
            )
        ok, problem, a = _diagnose(answer, exp, f"the output of {name}", rtol, atol)
        if not ok:
            wrong_trials.append(inputs)
            if first_problem is None and problem is not None:
                first_problem = problem
        student_out.append(a)
    if not wrong_trials:
        return _report(CORRECT, name, "", exercise)
    if first_problem is not None:
        return _report(HINT, name, first_problem, exercise)
    for hint in hints:
        try:
            matches = all(
                _close(
                    out,
                    _to_array(
                        _call(hint.wrong, make_inputs(np.random.default_rng([seed, t])))
                    ),
                    rtol,
                    atol,
                )
                for t, out in enumerate(student_out)
            )
        except Exception:  # noqa: BLE001 - a wrong function failing here does not match
            matches = False
        if matches:
            return _report(HINT, name, hint.message, exercise)
    return _report(
        HINT,
        name,
        f"{name} differs from the reference on {len(wrong_trials)} of {n_trials} "
        f"random inputs: {GENERIC_HINT}",
        exercise,
    )


def judge(
    answer: Any,
    expected: Any,
    *,
    name: str,
    rtol: float,
    atol: float,
    wrong: Sequence[Any] = (),
    messages: Sequence[str] = (),
    reveal_shape: bool = True,
    match: Sequence[str | None] | None = None,
) -> tuple[bool, str | None]:
    """Compare one output with the expected one; name the typical mistake if any.

    Args:
        answer: the reader's output (anything :func:`to_array` reads).
        expected: the expected output (numeric).
        name: what is compared, for the messages.
        rtol: relative tolerance (``np.allclose``'s rule).
        atol: absolute tolerance.
        wrong: the outputs of the typical mistakes on the same input (``None``
            where a mistake's function could not compute one).
        messages: the hint of each typical mistake, in the same order.
        reveal_shape: say the expected shape when the shapes differ (``False``
            for hidden cases, whose expected values stay with the grader).
        match: how each mistake's output is compared, in the same order: ``None``
            (with the tolerances) or :data:`ROW_SETS` (see :func:`hint_form`).

    Returns:
        ``(ok, message)``: the message is ``None`` when correct, else the
        structural problem, the matching mistake's hint, or a generic hint.
    """
    exp = _expected_array(expected)
    if answer is None:
        return False, f"{name} is None: did you forget a `return`?"
    try:
        a = to_array(answer)
    except (TypeError, ValueError):
        return False, f"{name} should be numeric; got a {type(answer).__name__}."
    ok, problem, a = _diagnose(a, exp, name, rtol, atol, reveal_shape)
    if ok:
        return True, None
    if problem is not None:
        return False, problem
    match = list(match) if match else [None] * len(messages)
    for how in match:  # a bad ``match`` is an error even where no hint is tried
        _check_match(how)
    for out, message, how in zip(wrong, messages, match, strict=True):
        if out is None:
            continue
        try:
            if _close(hint_form(a, how), hint_form(_to_array(out), how), rtol, atol):
                return False, message
        except (TypeError, ValueError, np.exceptions.AxisError):
            continue
    return False, f"{name}: {GENERIC_HINT}"


#: A typical mistake recognised by the entries of each row in any order: a top-k
#: left unsorted by ``argpartition``, whose order depends on the machine's NumPy
#: (its SIMD sorting differs between CPUs), so a stored output cannot match exactly.
ROW_SETS = "row-sets"


def _check_match(match: str | None) -> str | None:
    if match not in (None, ROW_SETS):
        raise ValueError(f"match must be None or {ROW_SETS!r}; got {match!r}")
    return match


def hint_form(output, match: str | None):
    """A mistake's output as it is compared (``match``: ``None`` or
    :data:`ROW_SETS`, each row sorted)."""
    if _check_match(match) is None:
        return output
    return np.sort(np.asarray(output), axis=-1)


def check_cases(
    answer: Any,
    cases: Sequence[dict],
    *,
    name: str,
    messages: Sequence[str] = (),
    rtol: float = 1e-6,
    atol: float = 1e-8,
    convert_inputs: Callable[[Any], Any] | None = None,
    exercise: str | None = None,
    match: Sequence[str | None] | None = None,
) -> CheckResult:
    """Check a function on stored public inputs against stored expected outputs.

    Args:
        answer: the reader's function.
        cases: dicts with ``inputs`` (a tuple of positional arguments, a dict of
            keyword arguments or one value), ``expected`` (the output the function
            must return) and ``wrong`` (each typical mistake's output, in the order
            of ``messages``).
        name: what is checked, used in the messages.
        messages: the hint of each typical mistake.
        rtol: relative tolerance.
        atol: absolute tolerance.
        convert_inputs: optional map applied to each case's inputs before the call
            (NumPy arrays to the reader's framework's tensors).
        exercise: the exercise's label, recorded for the autograder.
        match: how each mistake's output is compared (:func:`judge`).

    Returns:
        :class:`CheckResult`, as :func:`check_function` reports it.
    """
    rtol, atol, _ = _check_settings(name, rtol, atol, [])
    if not cases:
        raise ValueError("cases must hold at least one case")
    if answer is Ellipsis:
        return _report(NOT_ATTEMPTED, name, "", exercise)
    if not callable(answer):
        return _report(
            ERROR,
            name,
            f"{name} should be a function; got a {type(answer).__name__}.",
            exercise,
        )
    problems = []
    for case in cases:
        given = copy.deepcopy(case["inputs"])
        if convert_inputs is not None:
            given = convert_inputs(given)
        try:
            out = _call(answer, given)
        except NotImplementedError:
            return _report(NOT_ATTEMPTED, name, "", exercise)
        except Exception as err:  # noqa: BLE001 - the reader's error becomes the report
            return _report(
                ERROR, name, f"{name} raised {type(err).__name__}: {err}", exercise
            )
        ok, message = judge(
            out,
            case["expected"],
            name=f"the output of {name}",
            rtol=rtol,
            atol=atol,
            wrong=case.get("wrong", [None] * len(messages)),
            messages=messages,
            match=match,
        )
        if not ok:
            problems.append(message)
    if not problems:
        return _report(CORRECT, name, "", exercise)
    specific = [m for m in problems if GENERIC_HINT not in m]
    if specific:
        return _report(HINT, name, specific[0], exercise)
    return _report(
        HINT,
        name,
        f"{name} differs from the expected output on {len(problems)} of "
        f"{len(cases)} example inputs: {GENERIC_HINT}",
        exercise,
    )


#: PBKDF2 rounds of a hashed value's element: slows down guessing a few-digit answer.
HASH_ROUNDS = 4000
#: Each element of an answer is accepted within this many steps of the expected one.
HASH_REACH = 11


def _tolerance_step(x: float, rtol: float, atol: float) -> int | None:
    tol = atol + rtol * abs(x)
    if not math.isfinite(x) or tol <= 0:
        return None
    return math.floor(math.log10(tol))


def _digest(token: str, salt: str) -> str:
    raw = hashlib.pbkdf2_hmac("sha256", token.encode(), salt.encode(), HASH_ROUNDS)
    return raw.hex()[:32]


def _tokens(x: float, power: int | None) -> list[str]:
    if power is None or not math.isfinite(x):
        return [repr(float(x))]
    q = round(x / 10.0**power)
    return [str(q + k) for k in range(-HASH_REACH, HASH_REACH + 1)]


def hash_value(value: Any, *, salt: str, rtol: float, atol: float) -> dict:
    """Salted hashes of a value, element by element, for :func:`hashed_match`.

    Each element is rounded to a power of ten at or below its tolerance
    (``atol + rtol * |x|``) and hashed (PBKDF2-SHA256); exact values (zero
    tolerance) are hashed as written. The stored form reveals the shape and each
    element's power of ten, never the value; a value with few possibilities (an
    integer count) can still be found by trying them.

    Args:
        value: a number or array.
        salt: distinguishes exercises and typical mistakes.
        rtol: relative tolerance.
        atol: absolute tolerance.

    Returns:
        ``{"shape": [...], "powers": [...], "hashes": [...]}`` (JSON-ready).
    """
    a = _expected_array(value).ravel()
    powers = [_tolerance_step(float(x), rtol, atol) for x in a]
    hashes = [
        _digest(_tokens(float(x), p)[HASH_REACH if p is not None else 0], f"{salt}:{i}")
        for i, (x, p) in enumerate(zip(a, powers, strict=True))
    ]
    return {"shape": list(np.shape(value)), "powers": powers, "hashes": hashes}


def hashed_match(answer: np.ndarray, hashed: dict, *, salt: str) -> bool:
    """Whether ``answer`` matches the value :func:`hash_value` hashed.

    Accepts every element within its tolerance of the hashed one (and, rounding
    aside, up to 12 times further).
    """
    if list(answer.shape) != list(hashed["shape"]):
        return False
    for i, (x, p, h) in enumerate(
        zip(answer.ravel(), hashed["powers"], hashed["hashes"], strict=True)
    ):
        if not any(_digest(t, f"{salt}:{i}") == h for t in _tokens(float(x), p)):
            return False
    return True


def check_hashed(
    answer: Any,
    hashed: dict,
    *,
    name: str,
    salt: str,
    hints: Sequence[tuple[dict, str]] = (),
    exercise: str | None = None,
) -> CheckResult:
    """Check a value against the salted hashes of the expected one.

    Args:
        answer: the reader's value (``...`` reports "not attempted").
        hashed: :func:`hash_value` of the expected value, salted with ``salt``.
        name: what is checked, used in the messages.
        salt: the salt of ``hashed``; hint ``k`` is salted ``f"{salt}/hint{k}"``.
        hints: ``(hashed typical wrong value, message)`` pairs.
        exercise: the exercise's label, recorded for the autograder.

    Returns:
        :class:`CheckResult`; the message is also printed.
    """
    if answer is Ellipsis:
        return _report(NOT_ATTEMPTED, name, "", exercise)
    if answer is None:
        return _report(HINT, name, f"{name} is None: did you assign it?", exercise)
    try:
        a = to_array(answer)
    except (TypeError, ValueError):
        return _report(
            HINT,
            name,
            f"{name} should be numeric; got a {type(answer).__name__}.",
            exercise,
        )
    shape = tuple(hashed["shape"])
    if a.shape != shape:
        return _report(
            HINT,
            name,
            f"{name} has shape {a.shape}, but it should have shape {shape}.",
            exercise,
        )
    if np.isnan(a).any():
        return _report(HINT, name, f"{name} contains NaN.", exercise)
    if hashed_match(a, hashed, salt=salt):
        return _report(CORRECT, name, "", exercise)
    for k, (wrong, message) in enumerate(hints):
        if hashed_match(a, wrong, salt=f"{salt}/hint{k}"):
            return _report(HINT, name, message, exercise)
    return _report(HINT, name, f"{name}: {GENERIC_HINT}", exercise)


VALUE_DTYPES = frozenset(
    ["|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8"]
    + ["<f2", "<f4", "<f8"]
)
_VALUE_MAX_DEPTH = 32
_VALUE_MAX_STR = 1 << 20


def _array_tree(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a).reshape(a.shape)  # (ascontiguousarray makes 0-d 1-d)
    if a.dtype.str not in VALUE_DTYPES:
        native = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        if native.str not in VALUE_DTYPES:
            raise ValueError(f"cannot encode an array of dtype {a.dtype}")
        a = a.astype(native)
    return {
        "$t": "nd",
        "dtype": a.dtype.str,
        "shape": list(a.shape),
        "b64": base64.b64encode(a.tobytes()).decode("ascii"),
    }


def encode_value(value: Any) -> Any:
    """A JSON-ready tree holding ``value`` (the types: see the comment above).

    Raises:
        ValueError: for a type or dtype that does not travel.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else {"$t": "float", "v": repr(x)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _array_tree(value)
    if isinstance(value, (list, tuple)):
        return {
            "$t": "list" if isinstance(value, list) else "tuple",
            "v": [encode_value(v) for v in value],
        }
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("cannot encode a dict whose keys are not all strings")
        return {"$t": "dict", "v": [[k, encode_value(v)] for k, v in value.items()]}
    kind = type(value).__module__.split(".")[0], type(value).__name__
    if kind[0] == "scipy" and hasattr(value, "tocsr"):
        m = value.tocsr()
        return {
            "$t": "csr",
            "shape": [int(s) for s in m.shape],
            "data": _array_tree(m.data),
            "indices": _array_tree(m.indices.astype(np.int64)),
            "indptr": _array_tree(m.indptr.astype(np.int64)),
        }
    if kind == ("pandas", "DataFrame"):
        return {
            "$t": "frame",
            "index": _column_tree(value.index.to_numpy()),
            "columns": [
                [str(c), _column_tree(value[c].to_numpy())] for c in value.columns
            ],
        }
    raise ValueError(f"cannot encode a {type(value).__name__}")


def _column_tree(values: np.ndarray) -> dict:
    if values.dtype.kind in "biuf":
        return _array_tree(values)
    strings = [str(v) for v in values.tolist()]
    return {"$t": "strs", "v": strings}


class _ValueBudget:
    def __init__(self, max_bytes: int):
        self.left = max_bytes

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise ValueError("the encoded value is larger than allowed")


def _count(x: Any, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or x < 0:
        raise ValueError(f"{what} must be a non-negative integer; got {x!r}")
    return x


def _decode_array_value(node: dict, budget: _ValueBudget) -> np.ndarray:
    dtype, shape, data = node.get("dtype"), node.get("shape"), node.get("b64")
    if dtype not in VALUE_DTYPES:
        raise ValueError(f"array dtype {dtype!r} is not one of {sorted(VALUE_DTYPES)}")
    if not isinstance(shape, list) or len(shape) > _VALUE_MAX_DEPTH:
        raise ValueError("array shape must be a short list")
    shape = tuple(_count(s, "an array dimension") for s in shape)
    if not isinstance(data, str):
        raise ValueError("array data must be a base64 string")
    budget.take(len(data))
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    dt = np.dtype(dtype)
    if len(raw) != math.prod(shape) * dt.itemsize:
        raise ValueError(f"array data does not match dtype {dtype} and shape {shape}")
    return np.frombuffer(raw, dtype=dt).reshape(shape).copy()


def _decode_tree(node: Any, budget: _ValueBudget, depth: int) -> Any:
    if depth > _VALUE_MAX_DEPTH:
        raise ValueError("the value is nested too deeply")
    if node is None or isinstance(node, (bool, int, float)):
        return node
    if isinstance(node, str):
        if len(node) > _VALUE_MAX_STR:
            raise ValueError("a string is longer than allowed")
        budget.take(len(node))
        return node
    if not isinstance(node, dict) or not isinstance(node.get("$t"), str):
        raise ValueError(f"not an encoded value: {type(node).__name__}")
    tag = node["$t"]
    if tag == "nd":
        return _decode_array_value(node, budget)
    if tag == "float":
        if node.get("v") not in ("nan", "inf", "-inf"):
            raise ValueError("a special float must be nan, inf or -inf")
        return float(node["v"])
    if tag in ("list", "tuple", "dict", "strs"):
        items = node.get("v")
        if not isinstance(items, list):
            raise ValueError(f"a {tag} needs a list of items")
        budget.take(len(items))
        if tag == "strs":
            if not all(isinstance(s, str) and len(s) <= _VALUE_MAX_STR for s in items):
                raise ValueError("a string column holds a non-string")
            budget.take(sum(len(s) for s in items))
            return np.array(items, dtype=object)
        if tag == "dict":
            out = {}
            for pair in items:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise ValueError("a dict item must be a [key, value] pair")
                if not isinstance(pair[0], str):
                    raise ValueError("a dict key must be a string")
                out[pair[0]] = _decode_tree(pair[1], budget, depth + 1)
            return out
        values = [_decode_tree(v, budget, depth + 1) for v in items]
        return values if tag == "list" else tuple(values)
    if tag == "csr":
        import scipy.sparse as sp

        shape = node.get("shape")
        if not (isinstance(shape, list) and len(shape) == 2):
            raise ValueError("a CSR matrix needs a shape of two integers")
        shape = tuple(_count(s, "a CSR dimension") for s in shape)
        parts = [
            _decode_array_value(node.get(k) or {}, budget)
            for k in ("data", "indices", "indptr")
        ]
        m = sp.csr_matrix(tuple(parts), shape=shape)
        m.check_format(full_check=True)
        return m
    if tag == "frame":
        import pandas as pd

        columns = node.get("columns")
        if not isinstance(columns, list):
            raise ValueError("a frame needs a list of columns")
        data = {}
        for pair in columns:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ValueError("a frame column must be a [name, values] pair")
            if not isinstance(pair[0], str):
                raise ValueError("a frame column name must be a string")
            data[pair[0]] = _decode_tree(pair[1], budget, depth + 1)
        index = _decode_tree(node.get("index"), budget, depth + 1)
        for name, col in [("index", index), *data.items()]:
            if not isinstance(col, np.ndarray) or col.ndim != 1:
                raise ValueError(f"frame column {name!r} must be one-dimensional")
            if len(col) != len(index):
                raise ValueError(f"frame column {name!r} has the wrong length")
        return pd.DataFrame(data, index=index)
    raise ValueError(f"unknown value tag {tag!r}")


def decode_value(tree: Any, *, max_bytes: int = 64 << 20) -> Any:
    """The value an :func:`encode_value` tree holds, checked as untrusted input.

    Args:
        tree: the tree (from ``json.loads``).
        max_bytes: cap on the total size of its strings and arrays.

    Raises:
        ValueError: for anything that :func:`encode_value` would not have written, or
            that exceeds the caps.
    """
    return _decode_tree(tree, _ValueBudget(max_bytes), 0)


def dumps_value(value: Any) -> str:
    """``json.dumps(encode_value(value))``, strict JSON (no NaN literals)."""
    return json.dumps(encode_value(value), allow_nan=False, separators=(",", ":"))


def loads_value(text: str | bytes, *, max_bytes: int = 64 << 20) -> Any:
    """The value of a :func:`dumps_value` string, checked as untrusted input.

    Raises:
        ValueError: on text longer than ``max_bytes``, invalid JSON, or anything
            :func:`decode_value` refuses.
    """
    if len(text) > max_bytes:
        raise ValueError(f"the encoded value is longer than {max_bytes} bytes")

    def no_constants(name):
        raise ValueError(f"JSON constant {name} is not allowed")

    try:
        tree = json.loads(text, parse_constant=no_constants)
    except (json.JSONDecodeError, RecursionError, UnicodeDecodeError) as err:
        raise ValueError(f"not valid JSON: {type(err).__name__}") from None
    return decode_value(tree, max_bytes=max_bytes)
