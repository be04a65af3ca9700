"""The grader's pieces, one at a time: what it reads from a sandbox (the codec), what it
writes (CSV cells, feedback names), what it reads from an instructor (specs) and from a
student (notebooks, their place in the release), and the hashed self-checks."""

from __future__ import annotations

import base64
import json
import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from coursetools.grade import (
    Limits,
    Malformed,
    _Copier,
    _feedback_name,
    _parse_notebook,
    _release_key,
    csv_cell,
    load_specs,
)
from recsys_utils.checks import (
    CORRECT,
    HINT,
    check_hashed,
    decode_value,
    dumps_value,
    encode_value,
    hash_value,
    hashed_match,
    loads_value,
)

# --- the codec ------------------------------------------------------------------


def test_codec_round_trips_what_exercises_use():
    frame = pd.DataFrame({"recall": [0.5, 0.9]}, index=pd.Index([1, 8]))
    frame["index"] = ["IVF-Flat", "HNSW"]
    value = (
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array([True, False]),
        sp.csr_matrix(np.array([[0.0, 2.0], [3.0, 0.0]])),
        [np.array([1, 2]), np.array([3])],
        {"k": 3, "eps": 1e-8, "name": "x", "none": None, "nan": float("nan")},
        np.float64(2.5),
        frame,
    )
    back = loads_value(dumps_value(value))
    assert isinstance(back, tuple) and len(back) == len(value)
    np.testing.assert_array_equal(back[0], value[0])
    assert back[0].dtype == np.float32 and back[1].dtype == bool
    assert (back[2] != value[2]).nnz == 0 and back[2].shape == (2, 2)
    assert [a.tolist() for a in back[3]] == [[1, 2], [3]]
    assert back[4]["k"] == 3 and np.isnan(back[4]["nan"]) and back[4]["none"] is None
    assert back[5] == 2.5
    pd.testing.assert_frame_equal(back[6], frame, check_index_type=False)


def _nd(dtype, shape, raw: bytes):
    return {
        "$t": "nd",
        "dtype": dtype,
        "shape": shape,
        "b64": base64.b64encode(raw).decode(),
    }


@pytest.mark.parametrize(
    "tree, words",
    [
        (_nd("|O", [1], b"\0" * 8), "dtype"),
        (_nd(">f8", [1], b"\0" * 8), "dtype"),
        (_nd("<f8", [2], b"\0" * 8), "does not match"),
        (_nd("<f8", [-1], b""), "non-negative"),
        ({"$t": "nd", "dtype": "<f8", "shape": [1], "b64": "***"}, "base64"),
        ({"$t": "pickle", "v": "gASV"}, "unknown value tag"),
        ({"$t": "list", "v": 3}, "list of items"),
        ({"$t": "dict", "v": [[1, 2]]}, "key must be a string"),
        ({"$t": "float", "v": "1e400"}, "nan, inf or -inf"),
        ([1, 2], "not an encoded value"),
    ],
)
def test_codec_refuses_what_it_would_not_write(tree, words):
    with pytest.raises(ValueError, match=words):
        decode_value(tree)


def test_codec_caps_size_and_depth():
    big = encode_value(np.zeros(1000))
    with pytest.raises(ValueError, match="larger than allowed"):
        decode_value(big, max_bytes=100)
    deep = 1
    for _ in range(100):
        deep = {"$t": "list", "v": [deep]}
    with pytest.raises(ValueError, match="nested too deeply"):
        decode_value(deep)
    with pytest.raises(ValueError, match="not valid JSON"):
        loads_value("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="constant NaN"):
        loads_value("NaN")
    with pytest.raises(ValueError, match="longer than"):
        loads_value("1" * 50, max_bytes=10)


def test_codec_refuses_objects():
    with pytest.raises(ValueError, match="cannot encode"):
        encode_value(object())
    with pytest.raises(ValueError, match="dtype"):
        encode_value(np.array([object()]))


# --- hashed values ----------------------------------------------------------------


@pytest.mark.parametrize(
    "expected, rtol, atol, close, far",
    [
        (0.7039180890341347, 1e-3, 1e-8, 0.7043, 0.72),
        (0.0317, 0.0, 2e-4, 0.0319, 0.0330),
        (15.0, 1e-6, 1e-8, 15.0, 16.0),
        ([300 / 512, 212 / 512], 1e-6, 1e-8, [0.5859375, 0.41406252], [0.5, 0.5]),
        ([0.0, 1.0, 0.0], 0.0, 0.0, [0.0, 1.0, 0.0], [0.0, 1.0, 1.0]),
    ],
)
def test_hashed_values_accept_within_tolerance_only(expected, rtol, atol, close, far):
    hashed = hash_value(expected, salt="ex", rtol=rtol, atol=atol)
    assert json.dumps(expected) not in json.dumps(hashed)
    assert hashed_match(np.asarray(close, dtype=float), hashed, salt="ex")
    assert not hashed_match(np.asarray(far, dtype=float), hashed, salt="ex")
    assert not hashed_match(np.asarray(expected, dtype=float), hashed, salt="other")


def test_check_hashed_names_the_mistake(capsys):
    hashed = hash_value(0.6, salt="ex", rtol=1e-3, atol=0)
    hints = [(hash_value(5 / 3, salt="ex/hint0", rtol=1e-3, atol=0), "the inverse")]
    assert check_hashed(0.6, hashed, name="f", salt="ex", hints=hints).status == CORRECT
    result = check_hashed(5 / 3, hashed, name="f", salt="ex", hints=hints)
    assert result.status == HINT and "the inverse" in result.message
    assert "0.6" not in capsys.readouterr().out


# --- what the grader writes ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, cell",
    [
        ("alice", "alice"),
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "?x"),  # a control character is replaced first
        ("a\nb", "a?b"),
    ],
)
def test_csv_cells_never_start_a_formula(text, cell):
    assert csv_cell(text) == cell


def test_feedback_names_are_short_safe_and_distinct():
    taken: set[str] = set()
    names = [
        _feedback_name(s, taken)
        for s in ["ann", "Ann", "l" * 253, "../etc", "=x", ".hidden", "a b"]
    ]
    assert len(set(n.lower() for n in names)) == len(names)
    for name in names:
        assert name.endswith(".md") and len(name) <= 100
        assert "/" not in name and not name.startswith(".")


def test_limits_reject_bad_values():
    with pytest.raises(ValueError, match="timeout"):
        Limits(timeout=0)
    with pytest.raises(ValueError, match="memory"):
        Limits(memory=1000)
    with pytest.raises(ValueError, match="processes"):
        Limits(processes=2)


# --- what the grader reads: specs, notebooks, folders ---------------------------------


@pytest.mark.parametrize(
    "body, words",
    [
        ("EXERCISES = {'x': {'name': 'f', 'reference': 1}}", "kind must be one of"),
        (
            "EXERCISES = {'x': {'kind': 'value', 'name': 'f', 'reference': 1, "
            "'points': -1}}",
            "points must be a positive number",
        ),
        (
            "EXERCISES = {'x': {'kind': 'function', 'name': 'f', 'reference': abs}}",
            "inputs must be a function",
        ),
        (
            "EXERCISES = {'x': {'kind': 'value', 'name': 'f', 'reference': 1, "
            "'hints': ['no message']}}",
            "hints must be",
        ),
        ("EXERCISES = {'x': {'kind': 'value', 'name': 'f'}}", "needs a reference"),
        ("X = 1", "defines no EXERCISES"),
    ],
)
def test_bad_specs_are_named(tmp_path, body, words):
    (tmp_path / "ch09.py").write_text(body)
    with pytest.raises(ValueError, match=words) as err:
        load_specs(tmp_path)
    assert "ch09.py" in str(err.value)


def test_a_label_defined_twice_is_an_error(tmp_path):
    spec = "EXERCISES = {'x': {'kind': 'value', 'name': 'f', 'reference': 1}}"
    (tmp_path / "ch08.py").write_text(spec)
    (tmp_path / "ch09.py").write_text(spec)
    with pytest.raises(ValueError, match="x is defined twice"):
        load_specs(tmp_path)


@pytest.mark.parametrize(
    "data, words",
    [
        (b"{ nope", "not valid JSON"),
        (b"[1, 2]", "no list of cells"),
        (b'{"cells": "x"}', "no list of cells"),
        (b'{"cells": [{"source": "x"}]}', "cell 0 has no valid cell_type"),
        (b'{"cells": [{"cell_type": "code", "source": 3}]}', "cell 0's source"),
        (b'{"cells": [{"cell_type": "code", "source": ["a", 1]}]}', "not text"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_notebooks_are_named(data, words):
    with pytest.raises(Malformed, match=words):
        _parse_notebook(data)


def test_a_notebook_keeps_its_code_and_metadata_only():
    data = json.dumps(
        {
            "cells": [
                {"cell_type": "markdown", "source": "# t"},
                {"cell_type": "code", "source": ["x = 1\n", "y = 2"], "outputs": [1]},
            ],
            "metadata": "not a dict",
        }
    ).encode()
    assert _parse_notebook(data) == (["x = 1\ny = 2"], {})


MANIFEST = {
    "notebooks": {
        "01_mf/05_exercises.ipynb": {
            "chapter": 1,
            "exercises": [{"autograded": True}],
        },
        "01_mf/01_model.ipynb": {"chapter": 1, "exercises": []},
        "02_cos/05_exercises.ipynb": {
            "chapter": 2,
            "exercises": [{"autograded": True}],
        },
    }
}


@pytest.mark.parametrize(
    "rel, meta, key",
    [
        (
            "x.ipynb",
            {"recsys": {"notebook": "02_cos/05_exercises.ipynb"}},
            "02_cos/05_exercises.ipynb",
        ),
        ("01_mf/05_exercises.ipynb", {}, "01_mf/05_exercises.ipynb"),
        ("01_model.ipynb", {}, "01_mf/01_model.ipynb"),  # a unique file name
        ("05_exercises.ipynb", {"recsys": {"chapter": 2}}, "02_cos/05_exercises.ipynb"),
        ("01_mf_mine.ipynb", {}, "01_mf/05_exercises.ipynb"),  # by its chapter
        ("05_exercises.ipynb", {}, None),  # two chapters have one: ambiguous
        ("notes.ipynb", {"recsys": "a string"}, None),
    ],
)
def test_which_release_notebook_a_submission_is(rel, meta, key):
    assert _release_key(rel, meta, MANIFEST) == key


def test_copier_takes_regular_files_only(tmp_path):
    src, dst = tmp_path / "student", tmp_path / "copy"
    (src / "data").mkdir(parents=True)
    dst.mkdir()
    (src / "work.ipynb").write_text("{}")
    (src / "data" / "x.csv").write_text("1,2")
    (src / "link.ipynb").symlink_to(src / "work.ipynb")
    (src / "dir-link").symlink_to(src / "data")
    os.mkfifo(src / "pipe.ipynb")
    (src / ".hidden").write_text("x")
    copier = _Copier(dst)
    fd = os.open(src, os.O_RDONLY | os.O_DIRECTORY)
    try:
        copier.copy_tree(fd, (), 0)
    finally:
        os.close(fd)
    copied = sorted(str(p.relative_to(dst)) for p in dst.rglob("*"))
    assert copied == ["data", "data/x.csv", "work.ipynb"]
    assert sorted(copier.refused) == ["link.ipynb", "pipe.ipynb"]
    assert set(copier.notebooks) == {"work.ipynb"}
    assert any("dir-link: a link" in n for n in copier.notes)
