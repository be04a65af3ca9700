"""``make movielens-results``: run every MovieLens section on the real data, in both
frameworks, and store what it recorded with its provenance.

Each MovieLens section fills a :class:`recsys_utils.recorded.Record` and saves it to
``$RECSYS_RECORD_DIR``; this command runs the section's edition for each framework
(nbmake's runner, a fresh kernel, no epoch cap), then adds the provenance and writes
``recsys_utils/results/movielens/chNN_<framework>.json``:

* ``commit`` (and whether the work tree had uncommitted changes), ``date`` (UTC),
  ``machine`` (CPU model, cores), ``versions`` (Python and the packages that compute);
* ``seconds``: the section's wall-clock time;
* ``code_digest``: :func:`code_digest` of the section's edition and the exported code
  it imports, so a test can tell a record that no longer matches its section.

The archive is read from ``--data-home`` (a folder holding ``ml-100k.zip``); it is never
copied into the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import nbformat

from .build import execute
from .notebooks import FRAMEWORK_TAGS, framework_notebook, write_notebook
from .pyimports import imported_modules
from .sections import ROOT, Section, discover

__all__ = ["RESULTS", "book_modules", "code_digest", "provenance", "record_sections"]

RESULTS = ROOT / "recsys_utils" / "results" / "movielens"
_PACKAGES = ("numpy", "scipy", "pandas", "torch", "tensorflow", "keras")


_BOOK = ROOT / "recsys_utils" / "book"
_BOOK_PACKAGE = "recsys_utils.book."


def _book_module(name: str) -> str | None:
    """The module of ``recsys_utils/book`` an imported name points into, if any:
    ``recsys_utils.book.ch03_tf.TwoTowerTF`` and, inside the package, ``.ch03`` (from
    ``from .ch03 import``) give ``ch03_tf`` and ``ch03``."""
    if name.startswith(_BOOK_PACKAGE):
        return name[len(_BOOK_PACKAGE) :].split(".")[0]
    if name.startswith(".") and not name.startswith(".."):
        return name[1:].split(".")[0]
    return None


def book_modules(*sources: str) -> list[Path]:
    """The modules of ``recsys_utils/book`` that ``sources`` (each parsed on its own: a
    notebook's code cells, say) import, directly or through one another, sorted: a
    PyTorch edition's ``ch03_torch`` and the ``ch03`` it imports, never the TensorFlow
    ``ch03_tf`` it does not."""
    found: set[Path] = set()
    pending = list(sources)
    while pending:
        for name in imported_modules(pending.pop(), relative=True):
            stem = _book_module(name)
            path = _BOOK / f"{stem}.py" if stem else None
            if path is not None and path.is_file() and path not in found:
                found.add(path)
                pending.append(path.read_text(encoding="utf-8"))
    return sorted(found)


def code_digest(section: Section, framework: str) -> str:
    """SHA-256 of what a section's results depend on in the course: the code cells of
    its edition for ``framework`` and the exported modules that edition imports
    (:func:`book_modules`), so a change to one framework's code leaves the other
    framework's record current."""
    edition = framework_notebook(
        nbformat.read(section.path, as_version=4),
        framework,
        chapter=section.chapter,
        header=False,
    )
    parts = [c.source for c in edition.cells if c.cell_type == "code"]
    # cell by cell: a cell that does not parse (a %%bash cell) hides no other's imports
    for module in book_modules(*parts):
        parts.append(module.read_text(encoding="utf-8"))
    return hashlib.sha256("\n\x00".join(parts).encode()).hexdigest()


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what platform knows."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model


def _machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} cores, {platform.system()}"


def provenance(seconds: float) -> dict:
    """Where and when: commit, date, machine, package versions, seconds."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "commit": _git("rev-parse", "HEAD") or "unknown",
        "uncommitted_changes": bool(_git("status", "--porcelain", "--", "chapters")),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "versions": versions,
        "seconds": round(seconds, 1),
    }


def record_sections(
    data_home: Path,
    *,
    chapters: list[int] | None = None,
    frameworks: tuple[str, ...] = FRAMEWORK_TAGS,
    target: Path = RESULTS,
) -> list[Path]:
    """Run the MovieLens sections with the real data; write their records.

    Args:
        data_home: a folder holding ``ml-100k.zip``.
        chapters: only these chapters (default: every chapter with a MovieLens
            section).
        frameworks: which frameworks.
        target: where the records go.

    Returns:
        The record files written.

    Raises:
        ValueError: no archive in ``data_home``, or a section failed or recorded
            nothing (named).
    """
    data_home = Path(data_home)
    if not (data_home / "ml-100k.zip").is_file():
        raise ValueError(
            f"{data_home} holds no ml-100k.zip: MovieLens-100K is needed (see "
            "book/setup.md); the records are computed from the real data only"
        )
    written = []
    for section in discover():
        if not section.is_movielens or (chapters and section.chapter not in chapters):
            continue
        for framework in frameworks:
            with tempfile.TemporaryDirectory() as work:
                folder = Path(work) / section.chapter_dir
                path = folder / section.path.name
                edition = framework_notebook(
                    nbformat.read(section.path, as_version=4),
                    framework,
                    chapter=section.chapter,
                    section=section.label,
                    myst=True,
                    header=False,
                )
                write_notebook(edition, path)
                records = Path(work) / "records"
                env = {
                    "RECSYS_MOVIELENS_HOME": str(data_home),
                    "RECSYS_RECORD_DIR": str(records),
                    "TF_CPP_MIN_LOG_LEVEL": "3",
                }
                saved_cap = os.environ.pop("RECSYS_MAX_EPOCHS", None)
                start = time.perf_counter()
                try:
                    problems = execute(path, timeout=3600, env=env)
                finally:
                    if saved_cap is not None:
                        os.environ["RECSYS_MAX_EPOCHS"] = saved_cap
                seconds = time.perf_counter() - start
                if problems:
                    raise ValueError(
                        f"chapters/{section.rel} ({framework}) failed:\n"
                        + "\n".join(problems)
                    )
                produced = records / f"ch{section.chapter:02d}_{framework}.json"
                if not produced.is_file():
                    raise ValueError(
                        f"chapters/{section.rel} ({framework}) saved no record "
                        "(Record.save() with $RECSYS_RECORD_DIR set)"
                    )
                record = json.loads(produced.read_text())
                record["provenance"] = provenance(seconds)
                record["code_digest"] = code_digest(section, framework)
                record["section"] = f"chapters/{section.rel}"
                out = Path(target) / produced.name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
                written.append(out)
                shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
                print(f"wrote {shown} ({seconds:.0f} s)")
    return written
