"""What gets executed, once: the staged notebooks of every section.

``python -m coursetools stage _executed`` writes, for every section (coursetools/
sections.py), the notebooks that CI executes (through nbmake) and that the website
renders, each once:

* ``_executed/pytorch/<rel>``, ``_executed/tensorflow/<rel>``: each framework
  section's edition (MyST kept: the website renders it), run without MovieLens data;
* ``_executed/parity/<rel>``: each parity section (it trains both frameworks);
* ``_executed/student-<framework>/<rel>``: the student version of each exercises
  section (every check must report *not attempted*);
* ``_executed/standin-<framework>/<rel>``: each MovieLens section, run with the
  tests' MovieLens-100K stand-in (its real-data path).

``<rel>`` is ``NN_topic/MM_name.ipynb``. Every staged notebook carries, in its
metadata, the digest of its cells; an executed copy whose digest differs from what the
sources stage now is stale. :func:`stale_or_missing` tells the website build what to
execute; :func:`execute` runs one notebook through nbmake's runner (the same path CI
takes), in its folder, and writes it back with its outputs.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .notebooks import (
    FRAMEWORK_TAGS,
    Bibliography,
    clean_notebook,
    framework_notebook,
    myst_to_markdown,
    write_notebook,
)
from .sections import Section
from .setup_cell import ensure_setup_cell

__all__ = [
    "KINDS",
    "SITE_KINDS",
    "Staged",
    "digest",
    "staged_notebooks",
    "stage",
    "stale_or_missing",
    "executed_problems",
    "execute",
    "kind_env",
]

#: The website's notebooks: the two frameworks' editions and the parity sections.
SITE_KINDS = ("pytorch", "tensorflow", "parity")
KINDS = SITE_KINDS + (
    "student-pytorch",
    "student-tensorflow",
    "standin-pytorch",
    "standin-tensorflow",
)
DIGEST_KEY = "recsys"
#: Epochs a MovieLens section trains at most on the tests' stand-in.
STANDIN_MAX_EPOCHS = 4


@dataclass(frozen=True)
class Staged:
    """One notebook to execute: its kind, its section and the notebook itself."""

    kind: str
    section: Section
    notebook: nbformat.NotebookNode

    @property
    def rel(self) -> str:
        """``"pytorch/03_two_tower/01_towers.ipynb"``: its path under the stage."""
        return f"{self.kind}/{self.section.rel}"

    @property
    def framework(self) -> str | None:
        """The framework the notebook runs (``None``: both, a parity section)."""
        return next((f for f in FRAMEWORK_TAGS if self.kind.endswith(f)), None)


def digest(nb: nbformat.NotebookNode) -> str:
    """SHA-256 of a notebook's cells (type, tags, source): what execution depends on
    besides the package."""
    cells = [
        [c.cell_type, sorted(c.get("metadata", {}).get("tags", [])), c.source]
        for c in nb.cells
    ]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def _stamp(nb: nbformat.NotebookNode, kind: str, section: Section):
    nb.metadata[DIGEST_KEY] = {
        "source": f"chapters/{section.rel}",
        "kind": kind,
        "digest": digest(nb),
    }
    return nb


def _parity_notebook(nb, *, myst: bool, bib: Bibliography | None, chapter: int):
    nb = clean_notebook(ensure_setup_cell(nbformat.from_dict(nb)))
    if not myst:
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = myst_to_markdown(cell.source, chapter=chapter, bib=bib)
    return nb


def staged_notebooks(
    sections: list[Section], bib: Bibliography | None = None
) -> list[Staged]:
    """Every notebook of the stage (see the module's table), in reading order."""
    from .student import student_edition

    out = []
    for section in sections:
        nb = nbformat.read(section.path, as_version=4)
        if section.is_parity:
            parity = _parity_notebook(nb, myst=True, bib=bib, chapter=section.chapter)
            out.append(Staged("parity", section, _stamp(parity, "parity", section)))
            continue
        for framework in FRAMEWORK_TAGS:
            edition = framework_notebook(
                nb,
                framework,
                chapter=section.chapter,
                section=section.label,
                bib=bib,
                myst=True,
                header=False,
            )
            out.append(Staged(framework, section, _stamp(edition, framework, section)))
            if section.is_graded:
                kind = f"student-{framework}"
                student = student_edition(
                    nb, framework, chapter=section.chapter, bib=bib
                )
                out.append(Staged(kind, section, _stamp(student, kind, section)))
            if section.is_movielens:  # the same edition, run on the stand-in
                kind = f"standin-{framework}"
                standin = copy.deepcopy(edition)
                out.append(Staged(kind, section, _stamp(standin, kind, section)))
    return out


def _stored_digest(path: Path) -> str | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return None
    return meta.get(DIGEST_KEY, {}).get("digest")


def stage(
    staged: list[Staged], target: Path, *, keep_fresh: bool = False
) -> list[Path]:
    """Write the staged notebooks under ``target`` (``target/<kind>/<rel>``).

    Args:
        staged: from :func:`staged_notebooks`.
        target: the stage folder (``_executed``).
        keep_fresh: leave a notebook that is already there with the same digest (an
            executed copy of the current sources) instead of writing a clean one.

    Returns:
        The paths written.
    """
    written = []
    for item in staged:
        path = Path(target) / item.rel
        if (
            keep_fresh
            and _stored_digest(path) == item.notebook.metadata[DIGEST_KEY]["digest"]
        ):
            continue
        write_notebook(item.notebook, path)
        written.append(path)
    return written


def executed_problems(path: Path, expected_digest: str | None = None) -> list[str]:
    """What is wrong with an executed notebook (empty: it ran completely).

    Args:
        path: the executed notebook.
        expected_digest: the digest of the notebook the sources stage now (``None``:
            do not compare).

    Returns:
        Messages naming the notebook and the cell: missing, stale, never executed, or
        a cell's error (its name and value).
    """
    if not path.is_file():
        return [f"{path}: not executed (missing)"]
    nb = nbformat.read(path, as_version=4)
    stored = nb.metadata.get(DIGEST_KEY, {}).get("digest")
    problems = []
    if expected_digest is not None and stored != expected_digest:
        problems.append(f"{path}: stale (executed from other sources)")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(
                    f"{path}: cell {index} failed: {out.get('ename')}: "
                    f"{out.get('evalue', '')[:300]}"
                )
        if cell.get("execution_count") is None and cell.source.strip():
            problems.append(f"{path}: cell {index} was not executed")
            break
    return problems


def stale_or_missing(staged: list[Staged], target: Path) -> list[Staged]:
    """The staged notebooks whose executed copy under ``target`` is missing, stale or
    did not run to the end."""
    return [
        item
        for item in staged
        if executed_problems(
            Path(target) / item.rel, item.notebook.metadata[DIGEST_KEY]["digest"]
        )
    ]


def kind_env(kind: str, *, standin: Path | None, no_data: Path | None) -> dict:
    """Environment variables a kernel of this kind starts with.

    The website's editions run without MovieLens data (``no_data``: an empty folder),
    so their MovieLens sections show the recorded results; the ``standin-*`` kinds run
    with the tests' stand-in, so the real-data path is executed too, with training
    capped at :data:`STANDIN_MAX_EPOCHS` epochs (recsys_utils.convergence: the
    stand-in proves the code runs; the recorded real-data runs train to convergence).
    """
    env = {"TF_CPP_MIN_LOG_LEVEL": "3"}
    if kind.startswith("standin-") and standin is not None:
        env["RECSYS_MOVIELENS_HOME"] = str(standin)
        env["RECSYS_MAX_EPOCHS"] = str(STANDIN_MAX_EPOCHS)
    elif no_data is not None:
        env["RECSYS_MOVIELENS_HOME"] = str(no_data)
    return env


@contextlib.contextmanager
def environment(env: dict):
    """Set environment variables for the duration (a kernel started inside inherits
    them), then restore what was there."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def kernels_exit_at_once() -> None:
    """Make nbmake's runner end each notebook's kernel at once, not gracefully.

    nbclient asks a finished kernel to shut down and waits for it: 1.5-2.5 s for a
    kernel that imported TensorFlow, 1 s with PyTorch (measured on the 2-core
    machine), times some 130 notebooks per test run. Every cell has run and every
    output is in hand by then, so the kernel's process group is killed instead
    (SIGKILL, which also ends anything a notebook left running). nbmake offers no
    option for nbclient's ``shutdown_kernel``, so its module's client class is
    replaced by a subclass whose default is ``"immediate"``; idempotent.
    """
    from nbclient import NotebookClient
    from nbmake import nb_run
    from traitlets import Enum

    if getattr(nb_run.NotebookClient, "_course_exit_at_once", False):
        return

    class ExitAtOnce(NotebookClient):
        _course_exit_at_once = True
        shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate")

    nb_run.NotebookClient = ExitAtOnce


def execute(path: Path, *, timeout: int = 600, env: dict | None = None) -> list[str]:
    """Execute one staged notebook in place (nbmake's runner, in its own folder).

    Returns:
        The problems (empty when every cell ran).
    """
    from nbmake.nb_run import NotebookRun

    kernels_exit_at_once()
    with environment(env or {}):
        result = NotebookRun(Path(path), timeout).execute()
    nbformat.write(result.nb, str(path))
    return executed_problems(Path(path))
