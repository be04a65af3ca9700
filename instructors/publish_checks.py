"""Write the package's self-check data from the instructor's references.

    python instructors/publish_checks.py   # writes recsys_utils/exercises/chNN.py
    python instructors/publish_checks.py --check  # exit 1 when one is out of date
    # (--check compares floats up to their last bits, which differ between processors)

For each ``instructors/grading/chNN.py`` it writes ``recsys_utils/exercises/chNN.py``:
per exercise, what its self-check needs and nothing that answers it (public inputs
with the outputs expected on them and each typical mistake's outputs; salted hashes of
a value; where a table exercise reads). Run it after changing a reference, a hint or a
public input generator; tests/test_grade_specs.py fails when the two disagree.
"""

from __future__ import annotations

import argparse
import ast
import base64
import importlib.util
import json
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coursetools.grade import _call, load_specs  # noqa: E402
from recsys_utils.checks import (  # noqa: E402
    _close,
    decode_value,
    encode_value,
    hash_value,
    hint_form,
    to_array,
)

GRADING = ROOT / "instructors" / "grading"
TARGET = ROOT / "recsys_utils" / "exercises"
PUBLIC_SEED = 0


def _output(fn, inputs):
    try:
        with np.errstate(all="ignore"):
            return to_array(_call(fn, inputs))
    except Exception:  # noqa: BLE001 - a mistake that cannot compute has no output
        return None


def public_entry(label: str, spec: dict) -> dict:
    """What the package stores for one exercise (JSON-ready)."""
    entry = {"kind": spec["kind"], "name": spec["name"]}
    if spec["kind"] == "function":
        # a mistake compared as row sets is stored in that form: the same on any CPU
        match = spec.get("hint_match") or [None] * len(spec["hints"])
        cases = []
        for t in range(spec["public_trials"]):
            inputs = spec["inputs"](np.random.default_rng([PUBLIC_SEED, t]))
            cases.append(
                {
                    "inputs": inputs,
                    "expected": to_array(_call(spec["reference"], inputs)),
                    "wrong": [
                        None if out is None else hint_form(out, how)
                        for out, how in zip(
                            [_output(fn, inputs) for fn, _ in spec["hints"]], match
                        )
                    ],
                }
            )
        blob = zlib.compress(json.dumps(encode_value(cases)).encode(), 9)
        entry |= {
            "rtol": spec["rtol"],
            "atol": spec["atol"],
            "tensors": bool(spec["tensors"]),
            "framework": spec["framework"],
            **({"gradient": spec["gradient"]} if "gradient" in spec else {}),
            **({"hint_match": spec["hint_match"]} if "hint_match" in spec else {}),
            "hints": [m for _, m in spec["hints"]],
            "cases": base64.b64encode(blob).decode("ascii"),
        }
    elif spec["kind"] == "value":
        ref = spec["reference"]
        value = ref() if callable(ref) else ref
        tol = {"rtol": spec["rtol"], "atol": spec["atol"]}
        entry |= {
            "hashed": hash_value(value, salt=label, **tol),
            "hints": [
                [hash_value(v, salt=f"{label}/hint{k}", **tol), m]
                for k, (v, m) in enumerate(spec["hints"])
            ],
        }
    else:
        entry |= {
            key: spec[key]
            for key in ("column", "threshold", "setting", "filter", "hints")
        }
    return entry


def _literal(value, indent: int) -> list[str]:
    """``value`` as Python source lines (88 columns), long strings split."""
    pad = " " * indent
    if isinstance(value, str) and len(value) > 50:
        chunks = textwrap.wrap(
            value,
            50,
            break_on_hyphens=False,
            drop_whitespace=False,
            replace_whitespace=False,
        )
        assert "".join(chunks) == value
        return ["(", *(f"{pad}    {json.dumps(c)}" for c in chunks), f"{pad})"]
    if isinstance(value, dict):
        lines = ["{"]
        for key, item in value.items():
            inner = _literal(item, indent + 4)
            lines.append(f"{pad}    {json.dumps(key)}: {inner[0]}")
            lines += inner[1:]
            lines[-1] += ","
        return [*lines, f"{pad}}}"]
    if isinstance(value, list) and value:
        lines = ["["]
        for item in value:
            inner = _literal(item, indent + 4)
            lines.append(f"{pad}    {inner[0]}")
            lines += inner[1:]
            lines[-1] += ","
        return [*lines, f"{pad}]"]
    if value is None:
        return ["None"]
    if isinstance(value, bool):
        return [str(value)]
    return [json.dumps(value) if not isinstance(value, float) else repr(value)]


def render(path: Path) -> str:
    """The source of the package module for one chapter's grading module."""
    specs, _ = load_specs_of(path)
    entries = {label: public_entry(label, spec) for label, spec in specs.items()}
    body = _literal(entries, 0)
    chapter = int(path.stem[2:])
    source = (
        f'"""Self-checks of chapter {chapter}\'s exercises: public examples and hints, '
        "no answer.\n\n"
        f"Generated by ``python instructors/publish_checks.py`` from "
        f"instructors/grading/{path.name};\ndo not edit by hand. See "
        '``recsys_utils/exercises/__init__.py`` for the fields.\n"""\n\n'
        f"CHECKS = {body[0]}\n" + "\n".join(body[1:]) + "\n"
    )
    return _ruff_format(source)


def _ruff_format(source: str) -> str:
    """The source as ``ruff format`` writes it (the project's formatter)."""
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists():
        raise SystemExit("ruff is needed (make venv installs it)")
    done = subprocess.run(
        [str(ruff), "format", "--stdin-filename", "checks.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return done.stdout


def has_checks(path: Path) -> bool:
    """Whether a grading module defines self-checked exercises (a non-empty
    ``EXERCISES``); a chapter with written exercises only has none to publish."""
    spec = importlib.util.spec_from_file_location(f"_has_checks_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return bool(getattr(module, "EXERCISES", None))


def load_specs_of(path: Path):
    """The specs of one grading module (load_specs reads a folder)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / path.name).write_text(path.read_text())
        return load_specs(Path(tmp))


def _tree_differences(a, b, where: str, rtol: float, atol: float) -> list[str]:
    """Where two JSON trees differ. Floats (and float arrays) within ``rtol`` and
    ``atol`` are the same, and so are two NaNs: a value computed with float arithmetic
    may differ in its last bits between processors (ch4-ex-ipw's weights do between an
    AMD EPYC and an Intel Xeon)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        same = _close(np.asarray(a), np.asarray(b), rtol, atol)
        return [] if same else [where]
    if isinstance(a, float) or isinstance(b, float):
        numbers = all(isinstance(x, (int, float)) for x in (a, b))
        same = numbers and _close(np.asarray(a), np.asarray(b), rtol, atol)
        return [] if same else [where]
    if isinstance(a, dict):
        if not isinstance(b, dict) or sorted(a) != sorted(b):
            return [where]
        return [
            d
            for key in a
            for d in _tree_differences(a[key], b[key], f"{where}.{key}", rtol, atol)
        ]
    if isinstance(a, (list, tuple)):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            return [where]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _tree_differences(x, y, f"{where}[{i}]", rtol, atol)
        ]
    return [] if a == b else [where]


def _cases(entry: dict) -> list:
    return decode_value(json.loads(zlib.decompress(base64.b64decode(entry["cases"]))))


def _float_arrays_decoded(tree):
    """An :func:`encode_value` tree (the inputs' types kept: tuple, list, csr, ...)
    whose float arrays are decoded, their dtype and shape kept beside them, so that
    :func:`_tree_differences` compares their values within its tolerance instead of
    their bytes: an input computed with float arithmetic may differ in its last bit
    between processors (one of ch3-ex-reason's recency weights, ``0.8 ** (days /
    7)``, does between NumPy on an AVX-512 Xeon and the stored one). Integer and
    boolean arrays stay encoded, compared byte for byte."""
    if isinstance(tree, dict):
        if tree.get("$t") == "nd" and np.dtype(tree["dtype"]).kind == "f":
            return {**tree, "b64": decode_value(tree)}
        return {k: _float_arrays_decoded(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_float_arrays_decoded(v) for v in tree]
    return tree


def entry_differences(label: str, fresh: dict, kept: dict) -> list[str]:
    """Where a stored entry differs from the one the references give now, up to the
    last bits of floats: the inputs within 1e-12 relative, the outputs (expected and
    each mistake's) within 1e-9 relative or 1e-12 absolute. Empty when up to date."""
    if fresh.get("kind") != "function" or kept.get("kind") != "function":
        return [] if fresh == kept else [label]
    rest = [{k: v for k, v in e.items() if k != "cases"} for e in (fresh, kept)]
    if rest[0] != rest[1]:
        return [label]
    new, old = _cases(fresh), _cases(kept)
    if len(new) != len(old):
        return [f"{label}: {len(new)} public cases, {len(old)} stored"]
    found = []
    for t, (a, b) in enumerate(zip(new, old, strict=True)):
        where = f"{label} case {t}"
        inputs = [_float_arrays_decoded(encode_value(c["inputs"])) for c in (a, b)]
        found += _tree_differences(*inputs, f"{where} inputs", 1e-12, 0.0)
        for part in ("expected", "wrong"):
            found += _tree_differences(a[part], b[part], f"{where} {part}", 1e-9, 1e-12)
    return found


def stored_checks(target: Path) -> dict:
    """The ``CHECKS`` of a generated package module (read as data, never imported)."""
    tree = ast.parse(target.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [
            getattr(t, "id", None) for t in node.targets
        ] == ["CHECKS"]:
            return ast.literal_eval(node.value)
    raise SystemExit(f"{target} holds no CHECKS = {{...}}; was it written by hand?")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when a stored check differs from its reference "
        "by more than the last bits of a float",
    )
    args = parser.parse_args(argv)
    stale = 0
    for path in sorted(GRADING.glob("ch*.py")):
        target = TARGET / path.name
        if not has_checks(path):  # only written exercises (rubrics): nothing to publish
            continue
        if args.check:
            specs, _ = load_specs_of(path)
            kept = stored_checks(target) if target.exists() else {}
            found = [] if sorted(kept) == sorted(specs) else [f"labels of {target}"]
            for label, spec in specs.items():
                if label in kept:
                    found += entry_differences(
                        label, public_entry(label, spec), kept[label]
                    )
            if found:
                stale += 1
                print(
                    f"{target} is out of date ({', '.join(found[:5])}): "
                    "run python instructors/publish_checks.py"
                )
            continue
        text = render(path)
        if target.exists() and target.read_text() == text:
            continue
        stale += 1
        target.write_text(text)
        print(f"wrote {target}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
