"""Values as JSON: the exercises' stored cases, and what the grader's sandbox returns.

:func:`encode` turns a value built from ``None``, booleans, numbers, strings, lists,
tuples, dicts with string keys, NumPy arrays (numeric or boolean), SciPy CSR matrices
and pandas DataFrames into a JSON-ready tree; :func:`decode` turns it back. Arrays
travel as base64 bytes with their dtype and shape, so floats round-trip exactly.

:func:`decode` treats its input as untrusted (it reads what a student's code wrote):
no pickle, no object arrays, only the dtypes of :data:`DTYPES`, a nesting depth and a
total size cap, and a :class:`ValueError` naming the problem for anything else.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import numpy as np

__all__ = ["encode", "decode", "dumps", "loads", "DTYPES"]

#: The array dtypes that travel (little-endian, as NumPy spells them).
DTYPES = frozenset(
    ["|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8"]
    + ["<f2", "<f4", "<f8"]
)
_MAX_DEPTH = 32
_MAX_STR = 1 << 20


def _array(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a).reshape(a.shape)  # (ascontiguousarray makes 0-d 1-d)
    if a.dtype.str not in DTYPES:
        native = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        if native.str not in DTYPES:
            raise ValueError(f"cannot encode an array of dtype {a.dtype}")
        a = a.astype(native)
    return {
        "$t": "nd",
        "dtype": a.dtype.str,
        "shape": list(a.shape),
        "b64": base64.b64encode(a.tobytes()).decode("ascii"),
    }


def encode(value: Any) -> Any:
    """A JSON-ready tree holding ``value`` (see the module docstring for the types).

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
        return _array(value)
    if isinstance(value, (list, tuple)):
        return {
            "$t": "list" if isinstance(value, list) else "tuple",
            "v": [encode(v) for v in value],
        }
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("cannot encode a dict whose keys are not all strings")
        return {"$t": "dict", "v": [[k, encode(v)] for k, v in value.items()]}
    kind = type(value).__module__.split(".")[0], type(value).__name__
    if kind[0] == "scipy" and hasattr(value, "tocsr"):
        m = value.tocsr()
        return {
            "$t": "csr",
            "shape": [int(s) for s in m.shape],
            "data": _array(m.data),
            "indices": _array(m.indices.astype(np.int64)),
            "indptr": _array(m.indptr.astype(np.int64)),
        }
    if kind == ("pandas", "DataFrame"):
        return {
            "$t": "frame",
            "index": _column(value.index.to_numpy()),
            "columns": [[str(c), _column(value[c].to_numpy())] for c in value.columns],
        }
    raise ValueError(f"cannot encode a {type(value).__name__}")


def _column(values: np.ndarray) -> dict:
    if values.dtype.kind in "biuf":
        return _array(values)
    strings = [str(v) for v in values.tolist()]
    return {"$t": "strs", "v": strings}


class _Budget:
    def __init__(self, max_bytes: int):
        self.left = max_bytes

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise ValueError("the encoded value is larger than allowed")


def _int(x: Any, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or x < 0:
        raise ValueError(f"{what} must be a non-negative integer; got {x!r}")
    return x


def _decode_array(node: dict, budget: _Budget) -> np.ndarray:
    dtype, shape, data = node.get("dtype"), node.get("shape"), node.get("b64")
    if dtype not in DTYPES:
        raise ValueError(f"array dtype {dtype!r} is not one of {sorted(DTYPES)}")
    if not isinstance(shape, list) or len(shape) > _MAX_DEPTH:
        raise ValueError("array shape must be a short list")
    shape = tuple(_int(s, "an array dimension") for s in shape)
    if not isinstance(data, str):
        raise ValueError("array data must be a base64 string")
    budget.take(len(data))
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    dt = np.dtype(dtype)
    if len(raw) != math.prod(shape) * dt.itemsize:
        raise ValueError(f"array data does not match dtype {dtype} and shape {shape}")
    return np.frombuffer(raw, dtype=dt).reshape(shape).copy()


def _decode(node: Any, budget: _Budget, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError("the value is nested too deeply")
    if node is None or isinstance(node, (bool, int, float)):
        return node
    if isinstance(node, str):
        if len(node) > _MAX_STR:
            raise ValueError("a string is longer than allowed")
        budget.take(len(node))
        return node
    if not isinstance(node, dict) or not isinstance(node.get("$t"), str):
        raise ValueError(f"not an encoded value: {type(node).__name__}")
    tag = node["$t"]
    if tag == "nd":
        return _decode_array(node, budget)
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
            if not all(isinstance(s, str) and len(s) <= _MAX_STR for s in items):
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
                out[pair[0]] = _decode(pair[1], budget, depth + 1)
            return out
        values = [_decode(v, budget, depth + 1) for v in items]
        return values if tag == "list" else tuple(values)
    if tag == "csr":
        import scipy.sparse as sp

        shape = node.get("shape")
        if not (isinstance(shape, list) and len(shape) == 2):
            raise ValueError("a CSR matrix needs a shape of two integers")
        shape = tuple(_int(s, "a CSR dimension") for s in shape)
        parts = [
            _decode_array(node.get(k) or {}, budget)
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
            data[pair[0]] = _decode(pair[1], budget, depth + 1)
        index = _decode(node.get("index"), budget, depth + 1)
        for name, col in [("index", index), *data.items()]:
            if not isinstance(col, np.ndarray) or col.ndim != 1:
                raise ValueError(f"frame column {name!r} must be one-dimensional")
            if len(col) != len(index):
                raise ValueError(f"frame column {name!r} has the wrong length")
        return pd.DataFrame(data, index=index)
    raise ValueError(f"unknown value tag {tag!r}")


def decode(tree: Any, *, max_bytes: int = 64 << 20) -> Any:
    """The value an :func:`encode` tree holds, checked as untrusted input.

    Args:
        tree: the tree (from ``json.loads``).
        max_bytes: cap on the total size of its strings and arrays.

    Raises:
        ValueError: for anything that :func:`encode` would not have written, or
            that exceeds the caps.
    """
    return _decode(tree, _Budget(max_bytes), 0)


def dumps(value: Any) -> str:
    """``json.dumps(encode(value))``, strict JSON (no NaN literals)."""
    return json.dumps(encode(value), allow_nan=False, separators=(",", ":"))


def loads(text: str | bytes, *, max_bytes: int = 64 << 20) -> Any:
    """The value of a :func:`dumps` string, checked as untrusted input.

    Raises:
        ValueError: on text longer than ``max_bytes``, invalid JSON, or anything
            :func:`decode` refuses.
    """
    if len(text) > max_bytes:
        raise ValueError(f"the encoded value is longer than {max_bytes} bytes")

    def no_constants(name):
        raise ValueError(f"JSON constant {name} is not allowed")

    try:
        tree = json.loads(text, parse_constant=no_constants)
    except (json.JSONDecodeError, RecursionError, UnicodeDecodeError) as err:
        raise ValueError(f"not valid JSON: {type(err).__name__}") from None
    return decode(tree, max_bytes=max_bytes)
