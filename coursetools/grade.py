"""Grade a folder of submitted student notebooks: ``python -m coursetools grade``.

``make grade SUBMISSIONS=folder`` (or ``python -m coursetools grade folder --release
release --out grades -j 2``) reads ``folder/<student>/**/*.ipynb`` (student notebooks
of the release, in either framework) and writes into ``grades/``:

* ``grades.csv``: one row per student, one column per autograded exercise holding the
  points earned (all of the exercise's points when every hidden case passes, else 0),
  then ``total``; numbers only, ready for a gradebook import (Moodle's CSV import: map
  ``student`` to the user's username or e-mail, each column to a grade item);
* ``outcomes.csv``: the same grid with each exercise's outcome (``correct``, ``hint
  given``, ``not attempted``, ``error``, ``timed out``, ``not submitted``);
* ``feedback/<student>.md``: per exercise, its outcome, pass or fail and the hint of
  each hidden case (never the hidden inputs or the expected values), the errors of
  the notebook's cells, and the exercises a person grades;
* ``run.json``: the seed of the hidden cases, the limits and how they were enforced.

How one notebook is graded:

1. The grader reads the student's folder itself, never following what the student
   controls: folders and files are opened relative to their parent with
   ``O_NOFOLLOW``; symbolic links, FIFOs, devices and sockets are skipped (and named
   in the feedback), sizes and counts are capped. A notebook that is not valid JSON of
   the expected shape is an *error* for that student only.
2. It writes a job folder: a copy of the student's regular files, the notebook's code
   cells (outputs and metadata dropped), and what to probe afterwards.
3. coursetools/sandbox.py runs the job in a bubblewrap sandbox (no network, nothing of
   the repository but the installed package, every process gone at the end, one
   wall-clock limit for the whole run, memory and process limits for the whole
   sandbox). Inside, the notebook runs from its first cell (a failing cell does not
   stop the rest), then each autograded exercise's answer (the function or value the
   release's check cell passes) is called on hidden inputs drawn at grading time.
4. What came back is untrusted data (JSON, size-capped, arrays of whitelisted dtypes);
   the grader compares it with the references (``instructor/grading/chNN.py`` of the
   release) in its own process, with the exercise's tolerance, and names the typical
   mistake a wrong output matches. The student's kernel never holds an expected value.

Whatever one submission does, it can only fail itself: every other student still gets
a row and a feedback file, and the run always ends with the tables.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import importlib.util
import inspect
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from .release import chapter_of, read_manifest

__all__ = [
    "Limits",
    "Outcome",
    "STATUSES",
    "grade_folder",
    "grade_notebook",
    "load_specs",
    "hidden_inputs",
]

CORRECT, HINT, NOT_ATTEMPTED, ERROR = "correct", "hint given", "not attempted", "error"
TIMED_OUT, NOT_SUBMITTED = "timed out", "not submitted"
#: Every outcome an exercise can have in the grade table.
STATUSES = (CORRECT, HINT, NOT_ATTEMPTED, ERROR, TIMED_OUT, NOT_SUBMITTED)
MARKER = ".coursetools-grades"
KINDS = ("function", "value", "table")
FRAMEWORKS = ("pytorch", "tensorflow")
_LABEL = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}
_FRAMEWORK_LINE = re.compile(r"ru\.framework\(\s*[\"'](\w+)[\"']\s*\)")

# what the grader reads from a student's folder
MAX_FILES = 1000
MAX_DEPTH = 8
MAX_FILE_BYTES = 64 << 20
MAX_TOTAL_BYTES = 256 << 20
MAX_NOTEBOOK_BYTES = 20 << 20
MAX_NOTEBOOKS = 50
# what the grader reads back from a sandbox
MAX_ELEMENTS = 1 << 22  # elements of one returned array
MAX_ANSWER_BYTES = 32 << 20


@dataclass(frozen=True)
class Limits:
    """The limits of one notebook's sandbox.

    Attributes:
        timeout: wall-clock seconds for the whole notebook: kernel start, every cell
            and the hidden cases (enforced from outside: the sandbox is killed).
        memory: bytes of memory for the whole sandbox (cgroup; ``RLIMIT_AS`` per
            process where no cgroup can be made).
        processes: processes and threads of the whole sandbox.
        probe_seconds: wall-clock seconds for one exercise's hidden cases.
        user: the user id the sandbox runs as when the grader is root (nobody).
    """

    timeout: float = 600.0
    memory: int = 6 * 1024**3
    processes: int = 512
    probe_seconds: float = 60.0
    user: int = 65534

    def __post_init__(self):
        if not (isinstance(self.timeout, (int, float)) and self.timeout >= 5):
            raise ValueError(
                f"timeout must be a number of seconds >= 5; got {self.timeout!r}"
            )
        if not (isinstance(self.memory, int) and self.memory >= 256 * 1024**2):
            raise ValueError(
                f"memory must be an int of at least 256 MiB in bytes; "
                f"got {self.memory!r}"
            )
        if not (isinstance(self.processes, int) and self.processes >= 16):
            raise ValueError(f"processes must be an int >= 16; got {self.processes!r}")
        if not (
            isinstance(self.probe_seconds, (int, float)) and self.probe_seconds > 0
        ):
            raise ValueError(
                f"probe_seconds must be a positive number; got {self.probe_seconds!r}"
            )


@dataclass
class Outcome:
    """The outcome of one exercise in one submission.

    Attributes:
        status: one of :data:`STATUSES`.
        message: what the student reads (one line).
        cases: per hidden case, ``"passed"`` or the reason it failed.
        points: the points earned.
    """

    status: str
    message: str = ""
    cases: list[str] = field(default_factory=list)
    points: float = 0.0


@dataclass
class _Graded:
    student: str
    notebook: str  # the release's notebook key, or the file's own path
    framework: str | None = None
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    limits: str = ""


# ---------------------------------------------------------------------------
# The instructor's specs: references, hidden inputs, typical mistakes
# ---------------------------------------------------------------------------

_DEFAULTS = {"points": 1, "rtol": 1e-6, "atol": 1e-8, "hints": []}
# A function exercise's spec: ``reference`` (the instructor's function), ``inputs(rng)``
# (the public check's arguments), ``hidden(rng)`` or ``hidden(rng, trial)`` (the
# arguments of hidden case ``trial`` of ``hidden_trials``: the second form lets every
# grading seed cover a case kind, e.g. each scheme of an exercise that takes one),
# ``hints`` ((typical wrong function, message) pairs), ``rtol``/``atol``, ``points``;
# with ``tensors``, ``grad_wrt`` (an argument's name) checks a loss's gradient too: the
# student's function is differentiated by its framework with respect to that argument
# (recsys_utils.exercises.with_gradient), and the reference and the mistakes return
# ``[value, *gradient.ravel()]``, so a loss computed outside the framework fails.
_FUNCTION_DEFAULTS = {
    "tensors": False,
    "framework": None,
    "public_trials": 5,
    "hidden_trials": 4,
}


def _bad(where: str, problem: str) -> ValueError:
    return ValueError(f"{where}: {problem}")


def _check_spec(where: str, spec: Any) -> dict:
    if not isinstance(spec, dict):
        raise _bad(where, f"must be a dict; got {type(spec).__name__}")
    spec = {**_DEFAULTS, **spec}
    kind = spec.get("kind")
    if kind not in KINDS:
        raise _bad(where, f"kind must be one of {KINDS}; got {kind!r}")
    if not isinstance(spec.get("name"), str) or not spec["name"]:
        raise _bad(where, "name must be a non-empty string")
    points = spec["points"]
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
        raise _bad(where, f"points must be a positive number; got {points!r}")
    for tol in ("rtol", "atol"):
        if not isinstance(spec[tol], (int, float)) or spec[tol] < 0:
            raise _bad(where, f"{tol} must be a number >= 0; got {spec[tol]!r}")
    if "reference" not in spec:
        raise _bad(where, "needs a reference")
    if kind == "function":
        spec = {**_FUNCTION_DEFAULTS, **spec}
        spec.setdefault("hidden", spec.get("inputs"))
        for key in ("reference", "inputs", "hidden"):
            if not callable(spec.get(key)):
                raise _bad(where, f"{key} must be a function")
        if spec["framework"] not in (None, "required", *FRAMEWORKS):
            raise _bad(where, "framework must be None, 'required' or a framework")
        if spec.get("grad_wrt") is not None:
            params = list(inspect.signature(spec["reference"]).parameters)
            if not spec["tensors"] or spec["grad_wrt"] not in params:
                raise _bad(
                    where,
                    "grad_wrt must name an argument of the reference "
                    f"({', '.join(params)}) of an exercise with tensors",
                )
            spec["gradient"] = {
                "name": spec["grad_wrt"],
                "index": params.index(spec["grad_wrt"]),
            }
        for key in ("public_trials", "hidden_trials"):
            if not isinstance(spec[key], int) or spec[key] < 1:
                raise _bad(where, f"{key} must be a positive int")
        ok = all(
            isinstance(h, tuple)
            and len(h) == 2
            and callable(h[0])
            and isinstance(h[1], str)
            for h in spec["hints"]
        )
        if not ok:
            raise _bad(where, "hints must be (typical wrong function, message) pairs")
    elif kind == "value":
        ok = all(
            isinstance(h, tuple) and len(h) == 2 and isinstance(h[1], str)
            for h in spec["hints"]
        )
        if not ok:
            raise _bad(where, "hints must be (typical wrong value, message) pairs")
    else:
        if not callable(spec["reference"]):
            raise _bad(where, "reference must be a function of the table")
        spec.setdefault("filter", {})
        spec.setdefault("setting", None)
        if not isinstance(spec.get("column"), str):
            raise _bad(where, "column must name the measured column")
        if not isinstance(spec.get("threshold"), (int, float)):
            raise _bad(where, "threshold must be a number")
        if not (
            isinstance(spec["hints"], dict)
            and set(spec["hints"]) == {"largest", "fraction"}
        ):
            raise _bad(where, "hints must be a dict with 'largest' and 'fraction'")
    return spec


def load_specs(folder: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """The exercise specs of every ``chNN.py`` in ``folder`` (instructors/grading).

    Args:
        folder: a folder of chapter modules, each defining ``EXERCISES`` (autograded
            exercises) and optionally ``WRITTEN`` (points and rubric of the others).

    Returns:
        ``(autograded, written)``: label -> spec with defaults filled in, and
        label -> ``{"points", "rubric"}``.

    Raises:
        ValueError: a missing folder, a malformed spec, or a label defined twice
            (the message names the file and the label).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"grading specs: {folder} is not a folder")
    specs, written = {}, {}
    for path in sorted(folder.glob("ch*.py")):
        tag = hashlib.sha1(str(path).encode()).hexdigest()[:8]
        name = f"_recsys_grading_{path.stem}_{tag}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        exercises = getattr(module, "EXERCISES", None)
        if not isinstance(exercises, dict):
            raise ValueError(f"{path}: defines no EXERCISES dict")
        for label, spec in exercises.items():
            if label in specs or label in written:
                raise ValueError(f"{path}: {label} is defined twice")
            specs[label] = _check_spec(f"{path.name}: {label}", spec)
        for label, entry in getattr(module, "WRITTEN", {}).items():
            if label in specs or label in written:
                raise ValueError(f"{path}: {label} is defined twice")
            if not (
                isinstance(entry, dict)
                and isinstance(entry.get("points"), (int, float))
                and entry["points"] > 0
                and isinstance(entry.get("rubric"), list)
                and all(isinstance(r, str) for r in entry["rubric"])
            ):
                raise ValueError(f"{path}: {label} needs points > 0 and a rubric list")
            written[label] = entry
    if not specs:
        raise ValueError(f"grading specs: no chNN.py with EXERCISES in {folder}")
    return specs, written


def _rng(seed: int, label: str, trial: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(label.encode()), trial])


def hidden_inputs(spec: dict, label: str, seed: int) -> list:
    """The hidden inputs of a function exercise for a grading seed."""
    hidden = spec["hidden"]
    by_trial = len(inspect.signature(hidden).parameters) == 2
    return [
        hidden(_rng(seed, label, t), t) if by_trial else hidden(_rng(seed, label, t))
        for t in range(spec["hidden_trials"])
    ]


def _call(fn, inputs):
    inputs = copy.deepcopy(inputs)
    if isinstance(inputs, dict):
        return fn(**inputs)
    if isinstance(inputs, tuple):
        return fn(*inputs)
    return fn(inputs)


def _as_array(value):
    from recsys_utils.checks import to_array

    try:
        return to_array(value)
    except (TypeError, ValueError):
        return None


class _Expected:
    """What the references and the typical mistakes give on the hidden inputs
    (computed once per grading run, in the grader's process)."""

    def __init__(self, specs: dict, seed: int):
        from recsys_utils.checks import encode_value

        self.specs, self.seed = specs, seed
        self.inputs, self.encoded, self.expected, self.wrong = {}, {}, {}, {}
        for label, spec in specs.items():
            if spec["kind"] == "function":
                cases = hidden_inputs(spec, label, seed)
                self.inputs[label] = cases
                self.encoded[label] = [encode_value(c) for c in cases]
                self.expected[label] = [
                    _as_array(_call(spec["reference"], c)) for c in cases
                ]
                self.wrong[label] = [
                    [self._safe(fn, c) for fn, _ in spec["hints"]] for c in cases
                ]
            elif spec["kind"] == "value":
                ref = spec["reference"]
                self.expected[label] = _as_array(ref() if callable(ref) else ref)
                self.wrong[label] = [_as_array(v) for v, _ in spec["hints"]]

    @staticmethod
    def _safe(fn, inputs):
        try:
            with np.errstate(all="ignore"):
                return _as_array(_call(fn, inputs))
        except Exception:  # noqa: BLE001 - a mistake that cannot compute: no match
            return None


# ---------------------------------------------------------------------------
# Reading a student's folder without following what the student controls
# ---------------------------------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


def _shown(name: str, limit: int = 80) -> str:
    """A file or folder name as feedback may show it (printable, short)."""
    text = "".join(c if c.isprintable() else "?" for c in name)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Copier:
    """Copy the regular files of a student's folder into the job folder."""

    def __init__(self, target: Path):
        self.target, self.files, self.total = target, 0, 0
        self.notes: list[str] = []
        self.notebooks: dict[str, bytes] = {}
        self.refused: dict[str, str] = {}  # notebooks not read, and why

    def copy_tree(self, dir_fd: int, rel: tuple[str, ...], depth: int) -> None:
        try:
            names = sorted(os.listdir(dir_fd))
        except OSError as err:
            self.notes.append(f"could not list {_shown('/'.join(rel))}: {err.strerror}")
            return
        for name in names:
            shown = _shown("/".join((*rel, name)))
            if name.startswith(".") or name == "__pycache__":
                continue
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if depth >= MAX_DEPTH:
                    self.notes.append(f"skipped {shown}: folders nest too deep")
                    continue
                try:
                    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
                except OSError:
                    self.notes.append(f"skipped {shown}: not a folder")
                    continue
                try:
                    (self.target.joinpath(*rel, name)).mkdir(mode=0o755)
                    self.copy_tree(fd, (*rel, name), depth + 1)
                finally:
                    os.close(fd)
            elif stat.S_ISREG(st.st_mode):
                self.copy_file(dir_fd, name, rel, shown)
            else:
                kind = "a link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
                self._refuse(rel, name, shown, kind)

    def _refuse(self, rel, name: str, shown: str, why: str) -> None:
        self.notes.append(f"skipped {shown}: {why}")
        if name.endswith(".ipynb"):
            self.refused["/".join((*rel, name))] = why

    def copy_file(self, dir_fd: int, name: str, rel: tuple[str, ...], shown: str):
        if self.files >= MAX_FILES:
            self.notes.append(f"skipped {shown}: more than {MAX_FILES} files")
            return
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        except OSError:
            self._refuse(rel, name, shown, "not a regular file")
            return
        with os.fdopen(fd, "rb") as src:
            st = os.fstat(src.fileno())
            if not stat.S_ISREG(st.st_mode):
                self._refuse(rel, name, shown, "not a regular file")
                return
            cap = MAX_NOTEBOOK_BYTES if name.endswith(".ipynb") else MAX_FILE_BYTES
            if st.st_size > cap or self.total + st.st_size > MAX_TOTAL_BYTES:
                self._refuse(rel, name, shown, f"too large ({st.st_size} bytes)")
                return
            data = src.read(cap + 1)
        if len(data) > cap:
            self._refuse(rel, name, shown, "too large")
            return
        self.files += 1
        self.total += len(data)
        dest = os.open(
            self.target.joinpath(*rel, name),
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
            0o644,
        )
        with os.fdopen(dest, "wb") as out:
            out.write(data)
        if name.endswith(".ipynb") and len(self.notebooks) < MAX_NOTEBOOKS:
            self.notebooks["/".join((*rel, name))] = data


class Malformed(ValueError):
    """A submitted notebook that is not a notebook of the expected shape."""


def _parse_notebook(data: bytes) -> tuple[list[str], dict]:
    """(code cells' sources, notebook metadata) of a submitted notebook.

    Raises:
        Malformed: naming what is wrong.
    """
    try:
        nb = json.loads(data)
    except (ValueError, RecursionError, UnicodeDecodeError) as err:
        raise Malformed(f"not valid JSON ({type(err).__name__})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise Malformed("not a version-4 notebook (no list of cells)")
    meta = nb.get("metadata")
    sources = []
    for k, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in (
            "code",
            "markdown",
            "raw",
        ):
            raise Malformed(f"cell {k} has no valid cell_type")
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise Malformed(f"cell {k}'s source is not text")
        if cell["cell_type"] == "code":
            sources.append(source)
    return sources, meta if isinstance(meta, dict) else {}


def _recsys_meta(meta: dict) -> dict:
    recsys = meta.get("recsys")
    return recsys if isinstance(recsys, dict) else {}


def _framework_of(sources: list[str], meta: dict) -> str | None:
    declared = _recsys_meta(meta).get("framework")
    if declared in FRAMEWORKS:
        return declared
    for source in sources:
        match = _FRAMEWORK_LINE.search(source)
        if match and match.group(1) in FRAMEWORKS:
            return match.group(1)
    return None


def _release_key(rel: str, meta: dict, manifest: dict) -> str | None:
    """Which notebook of the release a submitted notebook is."""
    notebooks = manifest["notebooks"]
    declared = _recsys_meta(meta).get("notebook")
    if isinstance(declared, str) and declared in notebooks:
        return declared
    if rel in notebooks:
        return rel
    base = rel.split("/")[-1]
    same = [k for k in notebooks if k.split("/")[-1] == base]
    if len(same) == 1:
        return same[0]
    chapter = _recsys_meta(meta).get("chapter")
    if not isinstance(chapter, int) or isinstance(chapter, bool):
        chapter = chapter_of(rel)
    graded = [
        k
        for k, v in notebooks.items()
        if v["chapter"] == chapter and any(e["autograded"] for e in v["exercises"])
    ]
    return graded[0] if chapter is not None and len(graded) == 1 else None


# ---------------------------------------------------------------------------
# One notebook
# ---------------------------------------------------------------------------


def _job_notebook(sources: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat_minor = 4
    return nb


def _probes(exercises: list[dict], specs: dict, framework: str, expected: _Expected):
    probes = []
    for ex in exercises:
        if not ex["autograded"]:
            continue
        spec = specs[ex["label"]]
        probes.append(
            {
                "label": ex["label"],
                "answer": ex["answer"][framework],
                "kind": spec["kind"],
                "tensors": bool(spec.get("tensors")),
                "gradient": spec.get("gradient"),
                "framework": framework,
                "cases": len(expected.inputs.get(ex["label"], [])),
                "table": ex.get("context", {}).get("table"),
                "max_elements": MAX_ELEMENTS,
            }
        )
    return probes


def _decode_array(tree: Any) -> np.ndarray | None:
    from recsys_utils.checks import decode_value

    try:
        value = decode_value(tree, max_bytes=MAX_ANSWER_BYTES)
    except ValueError:
        return None
    if not isinstance(value, np.ndarray) or value.dtype != np.float64:
        return None
    return value


_PROBE_STATUS = {
    "missing": (ERROR, "{name} is not defined when the notebook ends"),
    "not callable": (ERROR, "{name} should be a function"),
    "none": (HINT, "{name} is None: did you assign it (or return a value)?"),
    "not numeric": (HINT, "{name} should be numeric"),
    "too large": (ERROR, "{name} is far larger than expected"),
    "no table": (ERROR, "the chapter's table {table} was not found at the end"),
    "timed out": (TIMED_OUT, "checking {name} on the hidden cases ran out of time"),
    "no probe result": (ERROR, "checking {name} failed (the kernel gave no answer)"),
}


def _judge_function(label, spec, found, expected: _Expected) -> Outcome:
    from recsys_utils.checks import judge

    outs = found.get("outputs")
    n = len(expected.inputs[label])
    if not isinstance(outs, list) or len(outs) != n:
        return Outcome(ERROR, "the answers to the hidden cases are malformed")
    cases, raised = [], []
    messages = [m for _, m in spec["hints"]]
    for k, out in enumerate(outs):
        status = out.get("status") if isinstance(out, dict) else None
        if status == "raised":
            kind = str(out.get("type", "an exception"))
            kind = kind if re.fullmatch(r"[A-Za-z_]\w{0,59}", kind) else "an exception"
            cases.append(f"raised {kind}")
            raised.append(kind)
            continue
        if status != "ok":
            text = _PROBE_STATUS.get(status, (HINT, "{name} returned no number"))[1]
            cases.append(text.format(name=f"the output of {spec['name']}", table=""))
            continue
        answer = _decode_array(out.get("value"))
        if answer is None:
            cases.append("the output could not be read")
            continue
        ok, message = judge(
            answer,
            expected.expected[label][k],
            name=f"the output of {spec['name']}",
            rtol=spec["rtol"],
            atol=spec["atol"],
            wrong=expected.wrong[label][k],
            messages=messages,
            reveal_shape=False,
            match=spec.get("hint_match"),
        )
        cases.append("passed" if ok else message)
    passed = sum(c == "passed" for c in cases)
    if passed == n:
        return Outcome(CORRECT, cases=cases, points=float(spec["points"]))
    if raised:
        return Outcome(
            ERROR, f"{spec['name']} raised {raised[0]} on a hidden case", cases
        )
    failed = next(c for c in cases if c != "passed")
    return Outcome(HINT, failed, cases)


def _judge_value(label, spec, found, expected: _Expected) -> Outcome:
    from recsys_utils.checks import judge

    answer = _decode_array(found.get("value"))
    if answer is None:
        return Outcome(ERROR, f"{spec['name']} could not be read")
    ok, message = judge(
        answer,
        expected.expected[label],
        name=spec["name"],
        rtol=spec["rtol"],
        atol=spec["atol"],
        wrong=expected.wrong[label],
        messages=[m for _, m in spec["hints"]],
    )
    if ok:
        return Outcome(CORRECT, points=float(spec["points"]))
    return Outcome(HINT, message)


def _judge_table(label, spec, found) -> Outcome:
    from recsys_utils.checks import decode_value
    from recsys_utils.exercises import table_rows

    answer = _decode_array(found.get("value"))
    try:
        table = decode_value(found.get("table"), max_bytes=MAX_ANSWER_BYTES)
        settings, _ = table_rows(table, spec)
        reference = float(spec["reference"](table))
    except Exception:  # noqa: BLE001 - a table the reference cannot read
        return Outcome(ERROR, "the chapter's table at the end could not be read")
    if answer is None or answer.size != 1:
        return Outcome(HINT, f"{spec['name']} should be one number")
    x = float(answer.ravel()[0])
    if x == reference:
        return Outcome(
            CORRECT,
            "checked against the table your notebook computed",
            points=float(spec["points"]),
        )
    if len(settings) and x == float(np.max(settings.astype(float))):
        return Outcome(HINT, spec["hints"]["largest"])
    if 0 < x < 1:
        return Outcome(HINT, spec["hints"]["fraction"])
    return Outcome(HINT, f"{spec['name']}: not the value the table gives")


def _outcome(ex: dict, spec: dict, found: Any, expected: _Expected, notebook: str):
    label = ex["label"]
    names = {
        "name": f"`{ex['answer_shown']}`",
        "table": ex.get("context", {}).get("table", ""),
    }
    if not isinstance(found, dict):
        return Outcome(ERROR, "the exercise was not checked")
    status = found.get("status")
    if status == "not attempted":
        return Outcome(NOT_ATTEMPTED, f"{ex['answer_shown']} is still the stub")
    if status == "missing" and notebook == "timed out":
        return Outcome(TIMED_OUT, "the notebook ran out of time before defining it")
    if status != "ok":
        default = (ERROR, "the exercise could not be checked")
        result, text = _PROBE_STATUS.get(status, default)
        return Outcome(result, text.format(**names))
    if spec["kind"] == "function":
        return _judge_function(label, spec, found, expected)
    if spec["kind"] == "value":
        return _judge_value(label, spec, found, expected)
    return _judge_table(label, spec, found)


def grade_notebook(
    files: Path,
    rel: str,
    sources: list[str],
    meta: dict,
    *,
    key: str,
    student: str,
    manifest: dict,
    specs: dict,
    expected: _Expected,
    limits: Limits = Limits(),
    env: dict[str, str] | None = None,
    extra: list[Path] = (),
) -> _Graded:
    """Run one notebook in a sandbox and judge its autograded exercises.

    Args:
        files: the copy of the student's folder (becomes the notebook's home).
        rel: the notebook's path inside the student's folder.
        sources: its code cells.
        meta: its metadata (untrusted).
        key: the release notebook it is.
        student: the student's name, for the record.
        manifest: the release's manifest.
        specs: the instructor's specs (:func:`load_specs`).
        expected: the references' outputs on this run's hidden inputs.
        limits: :class:`Limits`.
        env: extra environment variables (``RECSYS_*``) for the notebook.
        extra: folders to show read-only in the sandbox (the data).

    Returns:
        The outcome of each autograded exercise of that notebook.
    """
    from . import sandbox

    graded = _Graded(student, key, _framework_of(sources, meta))
    exercises = [e for e in manifest["notebooks"][key]["exercises"] if e["autograded"]]
    if graded.framework is None:
        for ex in exercises:
            graded.outcomes[ex["label"]] = Outcome(
                ERROR, "no framework line (ru.framework(...)): not a student notebook"
            )
        return graded
    for ex in exercises:
        ex["answer_shown"] = ex["answer"][graded.framework]
    job = files.parent
    job_spec = {
        "timeout": limits.timeout,
        "probe_seconds": limits.probe_seconds,
        "workdir": "/".join(rel.split("/")[:-1]),
        "probes": _probes(exercises, specs, graded.framework, expected),
        "max_answer_bytes": MAX_ANSWER_BYTES,
    }
    (job / "job.json").write_text(json.dumps(job_spec))
    nbformat.write(_job_notebook(sources), job / "notebook.ipynb")
    for path in (job / "job.json", job / "notebook.ipynb"):
        os.chmod(path, 0o644)
    hidden = json.dumps(
        {e["label"]: expected.encoded.get(e["label"], []) for e in exercises}
    )
    result = sandbox.run(
        job,
        hidden=hidden.encode(),
        limits=sandbox.SandboxLimits(
            timeout=limits.timeout + 15,
            memory=limits.memory,
            processes=limits.processes,
            user=limits.user,
        ),
        env=env,
        extra=extra,
    )
    graded.limits = result.limits
    report = None
    if result.status == "ok":
        try:
            report = json.loads(result.result)
            if not isinstance(report, dict):
                report = None
        except ValueError:
            report = None
    if report is None:
        if result.status == "timed out":
            ending = Outcome(
                TIMED_OUT, f"the notebook ran out of its {limits.timeout:g} s"
            )
        elif result.memory_exceeded:
            ending = Outcome(ERROR, "the notebook used more memory than allowed")
        else:
            ending = Outcome(ERROR, "the notebook's sandbox ended without a result")
        for ex in exercises:
            graded.outcomes[ex["label"]] = copy.copy(ending)
        return graded
    notebook = report.get("notebook")
    for err in (
        report.get("errors", [])[:10] if isinstance(report.get("errors"), list) else []
    ):
        if isinstance(err, dict) and isinstance(err.get("error"), str):
            cell = err.get("cell")
            cell = cell + 1 if isinstance(cell, int) else "?"
            graded.errors.append(f"code cell {cell}: {_shown(err['error'], 300)}")
    if notebook in ("died", "failed"):
        why = (
            "the notebook used more memory than allowed"
            if result.memory_exceeded
            else "the kernel died (a crash, or the memory limit)"
            if notebook == "died"
            else "the notebook could not run"
        )
        for ex in exercises:
            graded.outcomes[ex["label"]] = Outcome(ERROR, why)
        return graded
    if notebook == "timed out":
        graded.notes.append(f"the notebook ran out of its {limits.timeout:g} s")
    answers = report.get("answers")
    answers = answers if isinstance(answers, dict) else {}
    for ex in exercises:
        label = ex["label"]
        try:
            graded.outcomes[label] = _outcome(
                ex, specs[label], answers.get(label), expected, notebook
            )
        except Exception:  # noqa: BLE001 - untrusted data the judge could not read
            graded.outcomes[label] = Outcome(ERROR, "the answer could not be read")
    return graded


# ---------------------------------------------------------------------------
# A whole folder
# ---------------------------------------------------------------------------


def _students(folder: Path) -> list[tuple[str, bool]]:
    """(name, is a real folder) of each student entry, sorted."""
    if not folder.is_dir():
        raise ValueError(f"submissions: {folder} is not a folder")
    found = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            found.append((entry.name, True))
        elif entry.is_symlink():
            found.append((entry.name, False))
    if not found:
        raise ValueError(
            f"submissions: {folder} holds no student folders; expected "
            "<folder>/<student>/<notebook>.ipynb"
        )
    return found


def _grade_student(
    folder: Path,
    name: str,
    real: bool,
    manifest: dict,
    specs: dict,
    expected: _Expected,
    limits: Limits,
    env,
    extra,
    log,
) -> tuple[list[_Graded], list[str]]:
    """Every notebook of one student; never raises (an error is that student's)."""
    if not real:
        return [], [f"{_shown(name)} is a link, not a folder: nothing was graded"]
    work = Path(tempfile.mkdtemp(prefix="recsys-grade-"))  # mode 0700, ours
    try:
        files = work / "job" / "files"
        files.mkdir(parents=True)
        os.chmod(work / "job", 0o755)
        os.chmod(files, 0o755)
        try:
            fd = os.open(folder / name, _DIR_FLAGS)
        except OSError:
            return [], [f"{_shown(name)} could not be opened as a folder"]
        copier = _Copier(files)
        try:
            copier.copy_tree(fd, (), 0)
        finally:
            os.close(fd)
        notes = list(copier.notes)
        # release notebook -> [(path, sources, metadata) or (path, None, why)]
        claimed: dict[str, list[tuple[str, list[str] | None, Any]]] = {}
        for rel, why in copier.refused.items():
            key = _release_key(rel, {}, manifest)
            if key is not None:
                claimed.setdefault(key, []).append((rel, None, why))
        for rel, data in copier.notebooks.items():
            try:
                sources, meta = _parse_notebook(data)
            except Malformed as err:
                notes.append(f"{_shown(rel)} is not a valid notebook: {err}")
                key = _release_key(rel, {}, manifest)
                if key is not None:
                    claimed.setdefault(key, []).append((rel, None, f"malformed: {err}"))
                continue
            key = _release_key(rel, meta, manifest)
            if key is None:
                notes.append(
                    f"{_shown(rel)} is not a notebook of the release: not graded"
                )
                continue
            claimed.setdefault(key, []).append((rel, sources, meta))
        claimed = {
            k: v
            for k, v in claimed.items()
            if any(e["autograded"] for e in manifest["notebooks"][k]["exercises"])
        }
        graded = []

        def failed(key: str, why: str) -> _Graded:
            g = _Graded(name, key)
            for ex in manifest["notebooks"][key]["exercises"]:
                if ex["autograded"]:
                    g.outcomes[ex["label"]] = Outcome(ERROR, why)
            return g

        for key, found in sorted(claimed.items()):
            if len(found) > 1:
                names = ", ".join(_shown(r) for r, _, _ in found)
                graded.append(
                    failed(key, f"several notebooks are {key} ({names}); hand in one")
                )
                continue
            if found[0][1] is None:
                rel, _, why = found[0]
                graded.append(failed(key, f"{_shown(rel)} was not graded: {why}"))
                continue
            rel, sources, meta = found[0]
            start = time.monotonic()
            try:
                g = grade_notebook(
                    files,
                    rel,
                    sources,
                    meta,
                    key=key,
                    student=name,
                    manifest=copy.deepcopy(manifest),
                    specs=specs,
                    expected=expected,
                    limits=limits,
                    env=env,
                    extra=extra,
                )
            except Exception as err:  # noqa: BLE001 - one student's failure stays theirs
                from .sandbox import SandboxUnavailable

                if isinstance(err, SandboxUnavailable):
                    raise
                g = failed(key, f"grading failed ({type(err).__name__})")
            graded.append(g)
            counts: dict[str, int] = {}
            for o in g.outcomes.values():
                counts[o.status] = counts.get(o.status, 0) + 1
            log(
                f"{_shown(name)}/{_shown(rel)}: {counts} "
                f"({time.monotonic() - start:.0f} s)"
            )
        return graded, notes
    finally:
        shutil.rmtree(work, ignore_errors=True)


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "|", "%")


def csv_cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP's rule: a leading
    ``= + - @`` tab or carriage return is escaped with a quote), control characters
    replaced."""
    text = "".join(c if c.isprintable() else "?" for c in str(text))
    return "'" + text if text.startswith(_FORMULA) else text


def _feedback_name(student: str, taken: set[str]) -> str:
    safe = re.sub(r"[^A-Za-z0-9._@-]", "_", student)[:80].lstrip(".") or "student"
    if safe != student or safe.lower() in taken:
        raw = student.encode("utf-8", "surrogateescape")
        safe = f"{safe[:70]}-{hashlib.sha1(raw).hexdigest()[:8]}"
    taken.add(safe.lower())
    return safe + ".md"


def _points(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def _feedback(student, graded, notes, manifest, columns, row_points, max_points):
    lines = [
        f"# Feedback for {_shown(student)}",
        "",
        f"Points: {_points(row_points)} of {_points(max_points)} from the "
        "automatically "
        "checked exercises of the notebooks you handed in. Each was called on hidden "
        "inputs chosen at grading time: all of them must pass. Written answers are "
        "read by your instructor.",
    ]
    if notes:
        lines += ["", *(f"- {n}" for n in notes)]
    for g in graded:
        entry = manifest["notebooks"].get(g.notebook)
        framework = _LABEL.get(g.framework, "unknown framework")
        lines += ["", f"## {g.notebook} ({framework})", ""]
        lines += [f"*{n}*" for n in g.notes]
        if g.errors:
            lines.append("Cells that raised an error when your notebook ran:")
            lines += [f"- {e}" for e in g.errors]
            lines.append("")
        by_hand = []
        for ex in entry["exercises"] if entry else []:
            if not ex["autograded"]:
                by_hand.append(f"Exercise {ex['number']} ({ex['title']})")
                continue
            out = g.outcomes.get(ex["label"], Outcome(NOT_SUBMITTED))
            line = (
                f"- **Exercise {ex['number']}** ({ex['title']}): {out.status}, "
                f"{_points(out.points)} of {_points(ex['points'])} points"
            )
            if out.message and out.status != CORRECT:
                line += f". {out.message}"
            lines.append(line)
            for k, case in enumerate(out.cases, 1):
                lines.append(f"  - hidden case {k}: {case}")
        if by_hand:
            lines += ["", "Read by your instructor: " + "; ".join(by_hand) + "."]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def grade_folder(
    submissions: Path,
    release: Path,
    out: Path,
    limits: Limits = Limits(),
    *,
    jobs: int = 1,
    seed: int | None = None,
    env: dict[str, str] | None = None,
    extra: list[Path] = (),
    log=print,
) -> list[dict[str, str]]:
    """Grade every ``submissions/<student>/``; write the tables and the feedback.

    Args:
        submissions: one folder per student, holding their notebooks (and files).
        release: the release folder the notebooks came from.
        out: where the tables and ``feedback/`` go (a new folder, or one this
            function wrote before).
        limits: per-notebook limits (:class:`Limits`).
        jobs: notebooks graded at once (each in its own sandbox).
        seed: the seed of the hidden inputs (default: the release's own).
        env: extra environment variables for the notebooks (``RECSYS_*``).
        extra: folders the notebooks may read (e.g. ``RECSYS_DATA_HOME``).
        log: called with one progress line per notebook.

    Returns:
        The rows of ``outcomes.csv`` (dicts keyed by its header).

    Raises:
        ValueError: on a missing or empty submissions folder, a folder that is not a
            release, an ``out`` folder this command did not write, or ``jobs < 1``.
        coursetools.sandbox.SandboxUnavailable: not Linux, or no bubblewrap.
    """
    from .sandbox import self_check

    submissions, release, out = Path(submissions), Path(release), Path(out)
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int; got {jobs!r}")
    manifest = read_manifest(release)
    students = _students(submissions)
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())
    ):
        raise ValueError(
            f"out: {out} is not empty and was not written by this command "
            f"(no {MARKER}); choose a new folder"
        )
    mechanism = self_check()  # fail early, with the fix, when grading cannot run here
    log(f"sandboxes: bubblewrap; memory and processes limited by {mechanism}")
    specs, _ = load_specs(release / "instructor" / "grading")
    missing = [
        e["label"]
        for n in manifest["notebooks"].values()
        for e in n["exercises"]
        if e["autograded"] and e["label"] not in specs
    ]
    if missing:
        raise ValueError(f"release: no grading spec for {', '.join(missing)}")
    if seed is None:
        seed = int(manifest["seed"])
    started = time.monotonic()
    expected = _Expected(specs, seed)
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            log(line)

    def one(item):
        name, real = item
        return _grade_student(
            submissions, name, real, manifest, specs, expected, limits, env, extra, say
        )

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = dict(zip([s for s, _ in students], pool.map(one, students)))
    graded_keys = {g.notebook for gs, _ in results.values() for g in gs}
    columns = [
        (ex, key)
        for key, entry in manifest["notebooks"].items()
        if key in graded_keys
        for ex in entry["exercises"]
        if ex["autograded"]
    ]
    labels = [ex["label"] for ex, _ in columns]
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by python -m coursetools grade\n")
    feedback = out / "feedback"
    fresh = out / "feedback.partial"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    outcome_rows, grade_rows, taken, used = [], [], set(), set()
    for student, (graded, notes) in results.items():
        frameworks = sorted({g.framework for g in graded if g.framework})
        outcome = {"student": csv_cell(student), "framework": " ".join(frameworks)}
        points = {"student": csv_cell(student)}
        total = max_total = 0.0
        mine = {g.notebook for g in graded}
        for ex, key in columns:
            found = next(
                (g.outcomes[ex["label"]] for g in graded if ex["label"] in g.outcomes),
                None,
            )
            outcome[ex["label"]] = found.status if found else NOT_SUBMITTED
            points[ex["label"]] = _points(found.points if found else 0)
            total += found.points if found else 0
            max_total += ex["points"] if key in mine else 0
        points["total"] = _points(total)
        outcome["points"], outcome["max_points"] = _points(total), _points(max_total)
        outcome_rows.append(outcome)
        grade_rows.append(points)
        used.update(g.limits for g in graded if g.limits)
        _write(
            fresh / _feedback_name(student, taken),
            _feedback(student, graded, notes, manifest, columns, total, max_total),
        )
    shutil.rmtree(feedback, ignore_errors=True)
    fresh.replace(feedback)
    for name, header, rows in (
        (
            "outcomes.csv",
            ["student", "framework", *labels, "points", "max_points"],
            outcome_rows,
        ),
        ("grades.csv", ["student", *labels, "total"], grade_rows),
    ):
        tmp = out / f"{name}.partial"
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(out / name)
    _write(
        out / "run.json",
        json.dumps(
            {
                "seed": seed,
                "timeout": limits.timeout,
                "memory": limits.memory,
                "processes": limits.processes,
                "jobs": jobs,
                "memory_and_process_limits": sorted(used),
                "students": len(results),
                "seconds": round(time.monotonic() - started, 1),
                "python": sys.version.split()[0],
            },
            indent=1,
        )
        + "\n",
    )
    return outcome_rows
