"""Grade a folder of submitted student notebooks: ``python -m coursetools grade``.

``make grade SUBMISSIONS=folder`` (or ``python -m coursetools grade folder --release
release --out grades``) reads ``folder/<student>/*.ipynb`` (student notebooks of the
release, in either framework), executes each notebook in a fresh, confined kernel and
writes

* ``grades/grades.csv``: one row per student, one column per autograded exercise
  (``correct``, ``hint given``, ``not attempted``, ``error``, ``timed out``, or
  ``not submitted``), then ``points`` (one per correct exercise) and ``max_points``;
* ``grades/feedback/<student>.md``: every exercise with its outcome and the line the
  check printed (the specific hint), the error of a failing cell, and the exercises
  a person grades.

How a notebook is executed (the hand-written path: see book/instructors.md for why not
nbgrader or otter-grader): nbclient (what nbconvert, nbgrader and jupyter-book use) runs
it with ``allow_errors`` (a broken exercise does not hide the later ones) and one
wall-clock budget for the whole notebook. The check cells are first restored from the
release (a student who edits a check cell cannot make it print *correct*); outcomes are
read from the ``application/vnd.recsys.check+json`` outputs of those cells only. The
kernel runs through :mod:`coursetools.sandbox`: its own process and private working
folder (a copy of the student's folder, deleted afterwards), an address-space limit, a
CPU-time limit, and, when the grader runs as root, an unprivileged user.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .notebooks import FRAMEWORK_TAGS, chapter_number
from .release import read_manifest
from .student import CHECK_CALL

__all__ = [
    "Limits",
    "Outcome",
    "STATUS_TEXT",
    "TIMED_OUT",
    "NOT_SUBMITTED",
    "grade_notebook",
    "grade_folder",
]

CHECK_MIME = "application/vnd.recsys.check+json"  # recsys_utils.checks.CHECK_MIME
#: How the grade table spells each check status.
STATUS_TEXT = {
    "correct": "correct",
    "hint": "hint given",
    "not attempted": "not attempted",
    "error": "error",
}
TIMED_OUT, NOT_SUBMITTED = "timed out", "not submitted"
MARKER = ".coursetools-grades"
_KERNEL = "recsys-grading-sandbox"
_REPO = str(Path(__file__).resolve().parents[1])  # the folder holding coursetools
_FRAMEWORK_LINE = re.compile(r"ru\.framework\(\s*[\"'](\w+)[\"']\s*\)")
_LABEL = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}


@dataclass(frozen=True)
class Limits:
    """The limits of one submission's kernel.

    Attributes:
        timeout: wall-clock seconds for the whole notebook (kernel start included).
        memory: bytes of address space (``RLIMIT_AS``); TensorFlow alone maps ~2 GB.
        user: the unprivileged user to run as when the grader is root (``None``:
            the grader's own user).
    """

    timeout: float = 600.0
    memory: int = 8 * 1024**3
    user: str | None = "nobody"

    def __post_init__(self):
        if not (isinstance(self.timeout, (int, float)) and self.timeout > 0):
            raise ValueError(
                f"timeout must be a positive number of seconds; got {self.timeout!r}"
            )
        if not (isinstance(self.memory, int) and self.memory >= 256 * 1024**2):
            raise ValueError(
                f"memory must be an int of at least 256 MiB in bytes; "
                f"got {self.memory!r}"
            )


@dataclass
class Outcome:
    """The outcome of one exercise in one submission.

    Attributes:
        status: a value of :data:`STATUS_TEXT`, :data:`TIMED_OUT` or
            :data:`NOT_SUBMITTED`.
        message: what the student reads (the check's line, or the error).
    """

    status: str
    message: str = ""


@dataclass
class _Graded:
    student: str
    notebook: str
    chapter: int | None
    framework: str | None
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    note: str = ""


def _kernel_dir(root: Path, limits: Limits, workdir: Path) -> Path:
    """A kernelspec folder whose kernel starts through coursetools.sandbox."""
    spec = root / "kernels" / _KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "coursetools.sandbox",
        "--workdir",
        str(workdir),
        "--memory",
        str(limits.memory),
        "--cpu",
        str(int(2 * limits.timeout) + 60),
    ]
    if limits.user:
        argv += ["--user", limits.user]
    argv += [
        "--",
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
    ]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "grading", "language": "python"})
    )
    return root / "kernels"


def _sandbox_user(limits: Limits):
    if limits.user is None or os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(limits.user)
    except KeyError:
        raise ValueError(f"user: no user {limits.user!r} on this machine") from None


def _kill_leftovers(workdir: Path) -> None:
    """SIGKILL every process still running with HOME in ``workdir`` (a submission's
    background processes outlive its kernel otherwise)."""
    needle = f"HOME={workdir}".encode() + b"\0"
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (proc / "environ").read_bytes() + b"\0":
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def _framework(nb) -> str | None:
    meta = nb.metadata.get("recsys", {}).get("framework")
    if meta in FRAMEWORK_TAGS:
        return meta
    for cell in nb.cells:
        if cell.cell_type == "code":
            match = _FRAMEWORK_LINE.search(cell.source)
            if match and match.group(1) in FRAMEWORK_TAGS:
                return match.group(1)
    return None


def _check_cells(nb) -> dict[str, str]:
    """label -> source of the check cell (the last one holding that label)."""
    return {
        m.group(1): c.source
        for c in nb.cells
        if c.cell_type == "code"
        for m in CHECK_CALL.finditer(c.source)
    }


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return " ".join(" ".join(parts).split())[:500]


def grade_notebook(
    path: Path,
    release: Path,
    limits: Limits = Limits(),
    *,
    env: dict[str, str] | None = None,
) -> _Graded:
    """Execute one submitted notebook in a confined kernel and read its checks.

    Args:
        path: the submitted notebook (its folder is copied as its working folder).
        release: the release folder (coursetools/release.py).
        limits: time and memory limits, and the user to run as.
        env: extra environment variables for the kernel (e.g. RECSYS_DATA_HOME).

    Returns:
        The outcome of every autograded exercise of the notebook's chapter.

    Raises:
        ValueError: when ``release`` is not a release folder, or the limits' user
            does not exist.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    manifest = read_manifest(release)
    user = _sandbox_user(limits)
    graded = _Graded(path.parent.name, path.name, chapter_number(path), None)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable file is a finding
        nb, graded.note = None, f"the notebook could not be read ({err})"
    if nb is not None:
        graded.chapter = nb.metadata.get("recsys", {}).get("chapter", graded.chapter)
        graded.framework = _framework(nb)
    name = next(
        (n for n, c in manifest["chapters"].items() if c["chapter"] == graded.chapter),
        None,
    )
    if name is None:
        graded.note = graded.note or (
            f"{path.name}: no chapter of the release matches (chapter "
            f"{graded.chapter}); name it as handed out"
        )
        return graded
    graded.notebook = name
    labels = [
        e["label"] for e in manifest["chapters"][name]["exercises"] if e["autograded"]
    ]
    if nb is None or graded.framework is None:
        graded.note = graded.note or "no framework line: not a student notebook"
        for label in labels:
            graded.outcomes[label] = Outcome("error", graded.note)
        return graded
    reference = nbformat.read(
        Path(release) / "students" / graded.framework / name, as_version=4
    )
    canonical = _check_cells(reference)
    # restore every check cell; a deleted one is an error of that exercise
    seen = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        found = [m.group(1) for m in CHECK_CALL.finditer(cell.source)]
        if found and found[-1] in canonical:
            cell.source = canonical[found[-1]]
            seen.add(found[-1])
    work = Path(tempfile.mkdtemp(prefix="recsys-grade-"))
    try:
        os.chmod(work, 0o711)  # the sandbox user may pass through, not list
        workdir = work / "submission"
        shutil.copytree(
            path.parent,
            workdir,
            ignore=shutil.ignore_patterns(".*"),
            symlinks=True,
        )
        os.chmod(workdir, 0o700)
        if user is not None:
            for root, dirs, files in os.walk(workdir):
                for item in [root, *(os.path.join(root, f) for f in dirs + files)]:
                    os.lchown(item, user.pw_uid, user.pw_gid)
        specs = tempfile.mkdtemp(prefix="kernels-", dir=work)
        ksm = KernelSpecManager(
            kernel_dirs=[str(_kernel_dir(Path(specs), limits, workdir))]
        )
        km = AsyncKernelManager(kernel_name=_KERNEL, kernel_spec_manager=ksm)
        deadline = time.monotonic() + limits.timeout
        client = NotebookClient(
            nb,
            km=km,
            kernel_name=_KERNEL,
            timeout=int(limits.timeout),
            startup_timeout=int(limits.timeout),
            allow_errors=True,
            resources={"metadata": {"path": str(workdir)}},
        )
        client.timeout_func = lambda cell: max(1, int(deadline - time.monotonic()))
        ending = None
        kernel_env = {**os.environ, **(env or {})}
        # the kernel starts through `python -m coursetools.sandbox`: coursetools is the
        # repository's tooling, not installed, so its folder goes on PYTHONPATH
        kernel_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_REPO, kernel_env.get("PYTHONPATH", "")) if p
        )
        try:  # the sandbox keeps only the variables a notebook needs
            client.execute(env=kernel_env)
        except CellTimeoutError:
            ending = (TIMED_OUT, f"the notebook ran out of its {limits.timeout:g} s")
        except DeadKernelError:
            ending = ("error", "the kernel died (a crash, or the memory limit)")
        except Exception as err:  # noqa: BLE001 - the kernel did not even start
            ending = ("error", f"the notebook could not run: {type(err).__name__}")
        finally:
            _kill_leftovers(workdir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        found = [m.group(1) for m in CHECK_CALL.finditer(cell.source)]
        if not found or found[-1] not in labels:
            continue
        label = found[-1]
        records = [
            o["data"][CHECK_MIME]
            for o in cell.get("outputs", [])
            if CHECK_MIME in o.get("data", {})
        ]
        records = [r for r in records if r.get("exercise") == label]
        if records and records[-1].get("status") in STATUS_TEXT:
            graded.outcomes[label] = Outcome(
                STATUS_TEXT[records[-1]["status"]], _text(cell)
            )
        elif cell.get("execution_count") is not None or cell.get("outputs"):
            graded.outcomes[label] = Outcome(
                "error", _text(cell) or "the check cell reported nothing"
            )
    for label in labels:
        if label not in graded.outcomes:
            if label not in seen:
                graded.outcomes[label] = Outcome(
                    "error", "the check cell was deleted or changed"
                )
            elif ending is not None:
                graded.outcomes[label] = Outcome(*ending)
            else:
                graded.outcomes[label] = Outcome("error", "the check did not run")
    return graded


def _submissions(folder: Path) -> dict[str, list[Path]]:
    if not folder.is_dir():
        raise ValueError(f"submissions: {folder} is not a folder")
    found = {
        d.name: sorted(d.glob("*.ipynb"))
        for d in sorted(folder.iterdir())
        if d.is_dir() and not d.name.startswith(".")
    }
    if not found:
        raise ValueError(
            f"submissions: {folder} holds no student folders; expected "
            "<folder>/<student>/<NN_chapter>.ipynb"
        )
    return found


def _feedback(
    student: str, graded: list[_Graded], manifest: dict, points: int, max_points: int
) -> str:
    lines = [
        f"# Feedback for {student}",
        "",
        f"Points: {points} of {max_points} (one per exercise the checks judge "
        "correct). Written answers and derivations are read by your instructor.",
    ]
    for g in graded:
        chapter = manifest["chapters"].get(g.notebook)
        framework = _LABEL.get(g.framework, "unknown framework")
        lines += ["", f"## {g.notebook} ({framework})", ""]
        if g.note:
            lines.append(f"*{g.note}*")
        if chapter is None:
            continue
        by_hand = []
        for ex in chapter["exercises"]:
            if not ex["autograded"]:
                by_hand.append(f"Exercise {ex['number']} ({ex['title']})")
                continue
            out = g.outcomes.get(ex["label"], Outcome(NOT_SUBMITTED))
            line = f"- **Exercise {ex['number']}** ({ex['title']}): {out.status}"
            if out.message and out.status != "correct":
                line += f". {out.message}"
            lines.append(line)
        if by_hand:
            lines.append("")
            lines.append("Read by your instructor: " + "; ".join(by_hand) + ".")
    return "\n".join(lines) + "\n"


def grade_folder(
    submissions: Path,
    release: Path,
    out: Path,
    limits: Limits = Limits(),
    *,
    env: dict[str, str] | None = None,
    log=print,
) -> list[dict[str, str]]:
    """Grade every ``submissions/<student>/*.ipynb``; write the table and feedback.

    Args:
        submissions: one folder per student, holding their notebooks.
        release: the release folder the notebooks came from.
        out: where ``grades.csv`` and ``feedback/<student>.md`` go (a new folder,
            or one this function wrote before).
        limits: per-notebook limits (:class:`Limits`).
        env: extra environment variables for the kernels.
        log: called with one progress line per notebook.

    Returns:
        The rows of ``grades.csv`` (dicts keyed by its header).

    Raises:
        ValueError: on a missing or empty submissions folder, a folder that is not a
            release, or an ``out`` folder this command did not write.
    """
    submissions, release, out = Path(submissions), Path(release), Path(out)
    manifest = read_manifest(release)
    students = _submissions(submissions)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ValueError(
            f"out: {out} is not empty and was not written by this command "
            f"(no {MARKER}); choose a new folder"
        )
    results = {}
    for student, paths in students.items():
        results[student] = []
        for path in paths:
            start = time.monotonic()
            g = grade_notebook(path, release, limits, env=env)
            results[student].append(g)
            counts = {}
            for o in g.outcomes.values():
                counts[o.status] = counts.get(o.status, 0) + 1
            log(
                f"{student}/{path.name}: {counts or g.note} "
                f"({time.monotonic() - start:.0f} s)"
            )
    graded_chapters = {g.notebook for gs in results.values() for g in gs}
    columns = [
        (ex["label"], name)
        for name, chapter in manifest["chapters"].items()
        if name in graded_chapters
        for ex in chapter["exercises"]
        if ex["autograded"]
    ]
    rows = []
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by python -m coursetools grade\n")
    (out / "feedback").mkdir(exist_ok=True)
    for student, graded in results.items():
        row = {"student": student}
        frameworks = sorted({g.framework for g in graded if g.framework})
        row["framework"] = " ".join(frameworks)
        for label, _name in columns:
            outcome = next(
                (g.outcomes[label] for g in graded if label in g.outcomes), None
            )
            row[label] = outcome.status if outcome else NOT_SUBMITTED
        points = sum(row[label] == "correct" for label, _ in columns)
        mine = {g.notebook for g in graded}
        row["points"] = str(points)
        row["max_points"] = str(len(columns))
        rows.append(row)
        max_mine = sum(name in mine for _, name in columns)
        (out / "feedback" / f"{student}.md").write_text(
            _feedback(student, graded, manifest, points, max_mine)
        )
    header = ["student", "framework", *(c for c, _ in columns), "points", "max_points"]
    with open(out / "grades.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return rows
