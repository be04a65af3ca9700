"""recsys_utils.validation: the checks every public function uses, by hand."""

import numpy as np
import pandas as pd
import pytest

from recsys_utils.validation import (
    as_ids,
    check_bool,
    check_finite,
    check_frame,
    check_int,
    check_number,
)


def test_as_ids_accepts_integers_and_whole_floats():
    np.testing.assert_array_equal(as_ids([3, 0, 2], "user_ids", 4), [3, 0, 2])
    out = as_ids(np.array([2.0, 0.0]), "user_ids", 4)
    assert out.dtype == np.int64 and out.tolist() == [2, 0]
    assert as_ids(np.uint8(3), "user_ids", 4).tolist() == [3]  # one id -> (1,)
    assert as_ids(pd.Series([1, 2]), "user_ids", 4).tolist() == [1, 2]
    assert as_ids(np.array([1, 2], dtype=object), "user_ids", 4).tolist() == [1, 2]
    assert as_ids([], "user_ids", 4).shape == (0,)
    assert as_ids([[0, 1], [2, 3]], "user_ids", 4, flatten=True).tolist() == [
        0,
        1,
        2,
        3,
    ]
    assert as_ids([10**9], "item_ids").tolist() == [10**9]  # no upper bound given


@pytest.mark.parametrize(
    "ids, match",
    [
        ([0.5, 1.7], r"user_ids must be integer ids in \[0, 4\); got 0\.5 at "),
        ([1.0, 1.7], "got 1.7 at position 1 \\(not a whole number\\)"),
        ([np.nan], "got nan at position 0"),
        ([np.inf], "got inf at position 0"),
        ([-1], r"user_ids must lie in \[0, 4\) .*never negative.*got -1 at position 0"),
        ([0, 4], r"user_ids must lie in \[0, 4\); got 4 at position 1"),
        ([True, False], "not booleans"),
        (["a"], "got dtype <U1"),
        ("3", "got the string '3'"),
        (None, "got None"),
        ([1, None], r"got None \(NoneType\) at position 1"),
        ([1, "2"], r"got dtype <U21 \(first value '1'\)"),
        (np.array([1, "2"], dtype=object), r"got '2' \(str\) at position 1"),
        ([[0, 1]], r"must be a 1-D array of ids; got shape \(1, 2\)"),
        ([1e30], "too large for int64"),
    ],
)
def test_as_ids_refuses_with_the_name_the_value_and_the_range(ids, match):
    with pytest.raises(ValueError, match=match):
        as_ids(ids, "user_ids", 4)


def test_as_ids_empty_when_not_allowed():
    with pytest.raises(ValueError, match="user_ids must not be empty"):
        as_ids([], "user_ids", 4, allow_empty=False)


def test_check_finite():
    np.testing.assert_array_equal(check_finite([1, 2.5], "x"), [1.0, 2.5])
    assert check_finite([1, 2], "x", dtype=np.float32).dtype == np.float32
    with pytest.raises(
        ValueError, match=r"ratings must be finite.*got nan at position 1"
    ):
        check_finite([1.0, np.nan], "ratings")
    with pytest.raises(ValueError, match=r"got -inf at position \(1, 0\)"):
        check_finite([[1.0, 2.0], [-np.inf, 0.0]], "P")
    with pytest.raises(ValueError, match="ratings must hold numbers; got dtype <U1"):
        check_finite(["a"], "ratings")
    with pytest.raises(ValueError, match="ratings must hold numbers"):
        check_finite([1.0, None, "x"], "ratings")
    with pytest.raises(ValueError, match="ratings must hold numbers; got dtype bool"):
        check_finite([True], "ratings")


@pytest.mark.parametrize(
    "value, kwargs, ok",
    [
        (0.5, {"low": 0, "high": 1}, True),
        (0, {"low": 0}, True),
        (0, {"low": 0, "low_open": True}, False),
        (1, {"high": 1, "high_open": True}, False),
        (np.float32(2.0), {}, True),
        (np.nan, {}, False),
        (np.inf, {"low": 0}, False),
        (-1e-9, {"low": 0}, False),
        ("1", {}, False),
        (None, {}, False),
        (True, {}, False),
        (1 + 2j, {}, False),
    ],
)
def test_check_number(value, kwargs, ok):
    if ok:
        assert check_number(value, "reg", **kwargs) == float(value)
    else:
        with pytest.raises(ValueError, match="reg must be a finite number"):
            check_number(value, "reg", **kwargs)


def test_check_number_message_states_the_bounds():
    with pytest.raises(ValueError, match=r"lam must be a finite number >= 0 and <= 1"):
        check_number(2, "lam", low=0, high=1)
    with pytest.raises(ValueError, match=r"reg must be a finite number > 0; got 0"):
        check_number(0, "reg", low=0, low_open=True)


def test_check_int_and_check_bool():
    assert check_int(np.int64(3), "k", low=1) == 3
    for bad in (0, 2.0, True, "3", None):
        with pytest.raises(ValueError, match="k must be a positive int"):
            check_int(bad, "k", low=1)
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 5\]; got 6"):
        check_int(6, "k", low=1, high=5)
    with pytest.raises(ValueError, match="seed must be a non-negative int; got -1"):
        check_int(-1, "seed", low=0)
    with pytest.raises(ValueError, match="n must be an int >= 3; got 2"):
        check_int(2, "n", low=3)
    with pytest.raises(ValueError, match="n must be an int <= 3; got 4"):
        check_int(4, "n", high=3)
    with pytest.raises(ValueError, match="n must be an int; got 'x'"):
        check_int("x", "n")
    assert check_int(np.int32(-7), "n") == -7
    assert check_bool(np.bool_(True), "centered") is True
    for bad in ("no", 1, None):
        with pytest.raises(ValueError, match="centered must be True or False"):
            check_bool(bad, "centered")


def test_check_frame():
    frame = pd.DataFrame({"user_id": [0], "item_id": [1]})
    assert check_frame(frame, ("user_id", "item_id")) is frame
    with pytest.raises(ValueError, match="df must be a pandas DataFrame; got list"):
        check_frame([[0, 1]], ("user_id",))
    with pytest.raises(
        ValueError,
        match=r"train must have the columns \['user_id', 'timestamp'\]; missing "
        r"\['timestamp'\]",
    ):
        check_frame(frame, ("user_id", "timestamp"), "train")
    with pytest.raises(ValueError, match="df must not be empty"):
        check_frame(frame.iloc[:0], ("user_id",))
    assert len(check_frame(frame.iloc[:0], ("user_id",), allow_empty=True)) == 0
