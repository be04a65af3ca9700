"""``python -m coursetools``: the course's notebook commands (used by the Makefile)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

from .build import stage, staged_notebooks
from .claims import check_notebook, read_allowlist
from .constraints import write_constraints
from .export import write_modules
from .lint import lint_chapter, lint_course, lint_section
from .notebooks import (
    FRAMEWORK_TAGS,
    Bibliography,
    clean_notebook,
    write_editions,
    write_notebook,
)
from .sections import CHAPTERS, by_chapter, discover
from .setup_cell import ensure_setup_cell, unprovided_imports
from .student import student_edition

ROOT = Path(__file__).resolve().parents[1]
CLAIMS_ALLOWLIST = Path(__file__).resolve().parent / "claims_reviewed.yml"


def _editions(source: Path, target: Path) -> int:
    bib = Bibliography.read(ROOT / "book" / "references.bib")
    written = write_editions(discover(source), target, bib)
    print(f"wrote {len(written)} notebooks under {target}/<framework>/")
    return 0


def _stage(source: Path, target: Path, *, keep_fresh: bool) -> int:
    bib = Bibliography.read(ROOT / "book" / "references.bib")
    staged = staged_notebooks(discover(source), bib)
    written = stage(staged, target, keep_fresh=keep_fresh)
    print(f"staged {len(written)} of {len(staged)} notebooks under {target}")
    return 0


def _lint(paths: list[Path]) -> int:
    """Lint the given section notebooks, or every section, chapter and the course."""
    sections = discover()
    wanted = {p.resolve() for p in paths}
    chosen = [s for s in sections if not wanted or s.path.resolve() in wanted]
    missing = wanted - {s.path.resolve() for s in sections}
    problems = [f"{p}: not a section notebook under chapters/" for p in sorted(missing)]
    for section in chosen:
        nb = nbformat.read(section.path, as_version=4)
        problems += [f"chapters/{section.rel}: {p}" for p in lint_section(nb, section)]
    if not wanted:
        for mine in by_chapter(sections).values():
            problems += lint_chapter(mine)
        problems += lint_course(sections)
    for problem in problems:
        print(problem)
    print(f"{len(chosen)} sections checked, {len(problems)} problems")
    return 1 if problems else 0


def _export(source: Path, *, check: bool) -> int:
    changed = write_modules(source, check=check)
    if check and changed:
        print(
            "out of date: recsys_utils/book/"
            + ", ".join(f"{name}.py" for name in changed)
            + "; run `make export`"
        )
        return 1
    for name in changed:
        print(f"wrote recsys_utils/book/{name}.py")
    return 0


def _setup_cells(paths: list[Path], *, check: bool) -> int:
    """Insert or refresh the set-up cell of each notebook (``--check``: only report)."""
    stale = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        ensure_setup_cell(nb)
        for module in unprovided_imports(nb):
            print(
                f"{path}: imports {module!r}, which no extra of recsys_utils installs"
            )
        if nbformat.writes(nb) == before:
            print(f"{path}: set-up cell up to date")
        elif check:
            stale += 1
            print(f"{path}: set-up cell missing or out of date")
        else:
            write_notebook(nb, path)
            print(f"{path}: set-up cell written")
    if stale:
        print("run: python -m coursetools setup-cell " + " ".join(map(str, paths)))
    return 1 if stale else 0


def _claims(paths: list[Path], allowlist: Path) -> int:
    """Print the unreviewed comparative claims of each notebook; exit 1 if any."""
    reviewed = read_allowlist(allowlist)
    total = 0
    for path in paths:
        findings, stale = check_notebook(path, reviewed)
        for finding in findings:
            print(f"{path}: {finding}")
        for entry in stale:
            print(f"{path}: allow-list entry matches no sentence: {entry.sentence!r}")
        total += len(findings) + len(stale)
        print(f"{path}: {len(findings)} claims without a computed number")
    if total:
        print(
            "glue the number ({glue:text}) into the sentence or its paragraph, point "
            "at the cell above that prints it, rewrite the sentence, or add it with a "
            f"reason to {allowlist}"
        )
    return 1 if total else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    clean = sub.add_parser(
        "clean", help="strip outputs and metadata in place; insert the set-up cell"
    )
    clean.add_argument("notebooks", nargs="+", type=Path)
    setup = sub.add_parser(
        "setup-cell",
        help="insert or refresh the Colab set-up cell (first code cell) in place",
    )
    setup.add_argument("notebooks", nargs="+", type=Path)
    setup.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a set-up cell is missing or out of date",
    )
    constraints = sub.add_parser(
        "constraints", help="write constraints.txt from pip's resolution report"
    )
    constraints.add_argument("report", type=Path, help="pip install --report JSON")
    constraints.add_argument("out", type=Path, help="the constraints file to write")
    lint = sub.add_parser(
        "lint",
        help="check every section, chapter and the model contract (or NOTEBOOKS)",
    )
    lint.add_argument("notebooks", nargs="*", type=Path)
    editions = sub.add_parser(
        "editions", help="write one notebook per framework of every section"
    )
    editions.add_argument("source", type=Path, help="folder of chapters")
    editions.add_argument(
        "target",
        type=Path,
        help="writes TARGET/<framework>/NN_topic/MM_name.ipynb (plain Markdown)",
    )
    staging = sub.add_parser(
        "stage",
        help="write the notebooks CI executes and the website renders (MyST kept)",
    )
    staging.add_argument("target", type=Path, help="the stage folder (_executed)")
    staging.add_argument("--source", type=Path, default=CHAPTERS)
    staging.add_argument(
        "--keep-fresh",
        action="store_true",
        help="keep executed notebooks whose sources did not change",
    )
    recording = sub.add_parser(
        "record-movielens",
        help="run the MovieLens sections on the real data; write their records",
    )
    recording.add_argument(
        "--data-home",
        type=Path,
        default=Path(os.environ.get("RECSYS_DATA_HOME", "~/.cache/recsys_utils")),
        help="folder holding ml-100k.zip (default $RECSYS_DATA_HOME)",
    )
    recording.add_argument("--chapters", type=int, nargs="*")
    recording.add_argument(
        "--frameworks", nargs="*", default=list(FRAMEWORK_TAGS), choices=FRAMEWORK_TAGS
    )
    export = sub.add_parser(
        "export",
        help="write recsys_utils/book/chNN*.py from the cells tagged export",
    )
    export.add_argument("--source", type=Path, default=CHAPTERS)
    export.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a generated module is out of date",
    )
    claims = sub.add_parser(
        "claims",
        help="flag comparative sentences that no glued or printed number backs",
    )
    claims.add_argument("notebooks", nargs="+", type=Path)
    claims.add_argument(
        "--allowlist",
        type=Path,
        default=CLAIMS_ALLOWLIST,
        help="YAML list of reviewed sentences (chapter, sentence, reason)",
    )
    student = sub.add_parser(
        "student", help="write the student notebooks, one per framework"
    )
    student.add_argument(
        "source", type=Path, help="folder of chapters (searched recursively)"
    )
    student.add_argument(
        "target", type=Path, help="writes TARGET/pytorch/, TARGET/tensorflow/"
    )
    release = sub.add_parser(
        "release", help="write the release folder (students' and instructor's side)"
    )
    release.add_argument("source", type=Path, help="folder of chapters")
    release.add_argument("target", type=Path, help="the release folder")
    grade = sub.add_parser(
        "grade",
        help="grade SUBMISSIONS/<student>/ in sandboxes -> grades.csv, feedback/",
    )
    grade.add_argument("submissions", type=Path)
    grade.add_argument("--release", type=Path, default=Path("release"))
    grade.add_argument("--out", type=Path, default=Path("grades"))
    grade.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds per notebook, all of it (600)",
    )
    grade.add_argument(
        "--memory-gb", type=float, default=6, help="memory of each sandbox (6)"
    )
    grade.add_argument(
        "--processes", type=int, default=512, help="processes of each sandbox (512)"
    )
    grade.add_argument(
        "-j", "--jobs", type=int, default=1, help="notebooks graded at once (1)"
    )
    grade.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the hidden inputs (the release's)",
    )
    grade.add_argument(
        "--uid",
        type=int,
        default=65534,
        help="user id the sandboxes run as when grading as root (65534, nobody)",
    )
    site = sub.add_parser(
        "site",
        help="build the website (one site per framework) from the executed notebooks",
    )
    from .site import add_arguments as _site_arguments

    _site_arguments(site)
    args = parser.parse_args(argv)
    if args.command == "site":
        from .site import main as _site_main

        return _site_main(args)
    if args.command == "clean":
        for path in args.notebooks:
            nb = ensure_setup_cell(clean_notebook(nbformat.read(path, as_version=4)))
            write_notebook(nb, path)
            print(f"cleaned {path}")
        return 0
    if args.command == "setup-cell":
        return _setup_cells(args.notebooks, check=args.check)
    if args.command == "constraints":
        count = write_constraints(args.report, args.out)
        print(f"wrote {count} pins to {args.out}")
        return 0
    if args.command == "lint":
        return _lint(args.notebooks)
    if args.command == "claims":
        return _claims(args.notebooks, args.allowlist)
    if args.command == "editions":
        return _editions(args.source, args.target)
    if args.command == "stage":
        return _stage(args.source, args.target, keep_fresh=args.keep_fresh)
    if args.command == "export":
        return _export(args.source, check=args.check)
    if args.command == "record-movielens":
        from .record import record_sections

        record_sections(
            args.data_home.expanduser(),
            chapters=args.chapters,
            frameworks=tuple(args.frameworks),
        )
        return 0
    if args.command == "release":
        from .release import write_release

        manifest = write_release(args.source, args.target)
        count = sum(len(c["exercises"]) for c in manifest["notebooks"].values())
        print(
            f"wrote {args.target}: {len(manifest['notebooks'])} notebooks, "
            f"{count} exercises; give students {args.target}/students/<framework>/"
        )
        return 0
    if args.command == "grade":
        from .grade import Limits, grade_folder
        from .sandbox import SandboxUnavailable

        limits = Limits(
            timeout=args.timeout,
            memory=int(args.memory_gb * 1024**3),
            processes=args.processes,
            user=args.uid,
        )
        data = os.environ.get("RECSYS_DATA_HOME")
        try:
            rows = grade_folder(
                args.submissions,
                args.release,
                args.out,
                limits,
                jobs=args.jobs,
                seed=args.seed,
                env={"RECSYS_DATA_HOME": data} if data else None,
                extra=[Path(data)] if data and Path(data).is_dir() else [],
            )
        except (ValueError, SandboxUnavailable) as err:
            print(f"grade: {err}", file=sys.stderr)
            return 2
        print(
            f"wrote {args.out}/grades.csv, outcomes.csv ({len(rows)} students) "
            "and feedback/"
        )
        return 0
    from .release import find_notebooks

    bib = Bibliography.read(ROOT / "book" / "references.bib")
    for rel, number, path in find_notebooks(args.source):
        chapter = nbformat.read(path, as_version=4)
        for framework in FRAMEWORK_TAGS:
            out = args.target / framework / rel
            write_notebook(
                student_edition(
                    chapter, framework, chapter=number, bib=bib, notebook=rel
                ),
                out,
            )
            print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
