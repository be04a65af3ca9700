"""Export a chapter's reusable code from its notebooks into ``recsys_utils.book``.

A chapter teaches its model cell by cell in a section notebook; later sections (the
MovieLens run, the parity check, the exercises), and other chapters, need that very
code from a fresh kernel. As d2l saves the functions it teaches into its package
(``#@save``), a code cell tagged ``export`` is copied, in reading order, into

* ``recsys_utils/book/chNN.py``: the chapter's framework-neutral exported cells;
* ``recsys_utils/book/chNN_torch.py``: its exported ``pytorch`` cells;
* ``recsys_utils/book/chNN_tf.py``: its exported ``tensorflow`` cells;

and a later cell imports it (``from recsys_utils.book.ch03_torch import TwoTowerPT``).
The notebook is the one source; the modules are generated (``make export``), committed
(so the package installed from git, on Colab, has them) and checked to be current by
the tests. An exported cell holds definitions only (imports, functions, classes,
assignments): importing the module runs no experiment.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .notebooks import PARITY, PYTORCH, SOLUTION, TENSORFLOW, cell_tags
from .sections import CHAPTERS, ROOT, Section, by_chapter, discover

__all__ = [
    "EXPORT",
    "TARGET",
    "ExportedCell",
    "exported_cells",
    "module_names",
    "render_modules",
    "write_modules",
]

EXPORT = "export"
TARGET = ROOT / "recsys_utils" / "book"
#: Module suffix of each kind of exported cell ("" for framework-neutral cells).
_KIND_SUFFIX = {None: "", PYTORCH: "_torch", TENSORFLOW: "_tf"}
_KIND_LABEL = {None: "framework-neutral", PYTORCH: "PyTorch", TENSORFLOW: "TensorFlow"}
_ALLOWED = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
)


@dataclass(frozen=True)
class ExportedCell:
    """One exported cell: where it comes from, its kind and its code."""

    section: Section
    index: int
    kind: str | None  # None (neutral), "pytorch" or "tensorflow"
    source: str

    @property
    def where(self) -> str:
        return f"chapters/{self.section.rel}, cell {self.index}"


def _kind(tags: set[str]) -> str | None:
    found = [t for t in (PYTORCH, TENSORFLOW) if t in tags]
    return found[0] if found else None


def _check_cell(cell: ExportedCell, tags: set[str]) -> None:
    if SOLUTION in tags or PARITY in tags:
        raise ValueError(
            f"{cell.where}: a cell tagged 'export' cannot also be tagged "
            f"{sorted(tags & {SOLUTION, PARITY})} (exported code goes into the package "
            "learners install: no exercise solution, no parity run)"
        )
    if any(line.lstrip().startswith(("%", "!")) for line in cell.source.splitlines()):
        raise ValueError(
            f"{cell.where}: an exported cell holds Python only (no IPython magic or "
            "shell escape)"
        )
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as err:
        raise ValueError(f"{cell.where}: not valid Python ({err})") from err
    for node in tree.body:
        docstring = isinstance(node, ast.Expr) and isinstance(
            getattr(node, "value", None), ast.Constant
        )
        if not isinstance(node, _ALLOWED) and not docstring:
            raise ValueError(
                f"{cell.where}, line {node.lineno}: an exported cell holds definitions "
                "only (imports, functions, classes, assignments), so importing the "
                f"module runs nothing; found a top-level {type(node).__name__}"
            )


def exported_cells(root: Path = CHAPTERS) -> dict[int, list[ExportedCell]]:
    """Every chapter's exported cells, in reading order.

    Raises:
        ValueError: an exported cell breaks a rule (named, with the rule).
    """
    out: dict[int, list[ExportedCell]] = {}
    for chapter, sections in by_chapter(discover(root)).items():
        cells = []
        for section in sections:
            nb = nbformat.read(section.path, as_version=4)
            for index, cell in enumerate(nb.cells):
                tags = cell_tags(cell)
                if EXPORT not in tags:
                    continue
                if cell.cell_type != "code":
                    raise ValueError(
                        f"chapters/{section.rel}, cell {index}: only code cells "
                        "can be tagged 'export'"
                    )
                exported = ExportedCell(section, index, _kind(tags), cell.source)
                _check_cell(exported, tags)
                cells.append(exported)
        if cells:
            out[chapter] = cells
    return out


def module_names(chapter: int) -> dict[str | None, str]:
    """``{None: "ch03", "pytorch": "ch03_torch", "tensorflow": "ch03_tf"}``."""
    return {kind: f"ch{chapter:02d}{suffix}" for kind, suffix in _KIND_SUFFIX.items()}


def _bound_names(source: str) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _read_names(source: str) -> set[str]:
    return {
        n.id
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def render_modules(chapter: int, cells: list[ExportedCell]) -> dict[str, str]:
    """``{module name: source}`` of one chapter's generated modules."""
    names = module_names(chapter)
    folder = cells[0].section.chapter_dir
    neutral = set().union(*(_bound_names(c.source) for c in cells if c.kind is None))
    modules = {}
    for kind in (None, PYTORCH, TENSORFLOW):
        mine = [c for c in cells if c.kind == kind]
        if not mine:
            continue
        summary = (
            f"Generated by ``python -m coursetools export`` from the cells tagged "
            f"``export`` in chapters/{folder}/: edit the notebooks, then run ``make "
            "export``. The chapter teaches this code; later sections, the parity "
            "section and other chapters import it from here."
        )
        header = [
            f'"""Chapter {chapter}\'s {_KIND_LABEL[kind]} code, exported from its '
            "section notebooks.",
            "",
            *textwrap.wrap(summary, 88),
            '"""',
            "",
        ]
        if kind is not None:
            used = sorted(neutral & set().union(*(_read_names(c.source) for c in mine)))
            if used:
                header.append(f"from .{names[None]} import (")
                header.extend(f"    {name}," for name in used)
                header.append(")")
                header.append("")
        body = []
        for cell in mine:
            body.append(f"# {cell.where} (section {cell.section.label})")
            body.append(cell.source.strip("\n"))
            body.append("")
            body.append("")
        modules[names[kind]] = "\n".join(header + ["", *body]).rstrip("\n") + "\n"
    return modules


def _formatted(source: str, name: str) -> str:
    """The module as ``ruff format`` writes it (the project's formatter, pinned in
    constraints.txt), so a generated module passes ``make lint`` as it is."""
    import shutil
    import subprocess
    import sys

    ruff = Path(sys.executable).parent / "ruff"
    command = str(ruff) if ruff.exists() else shutil.which("ruff")
    if command is None:
        raise ValueError("ruff is needed to write the generated modules: make venv")
    done = subprocess.run(
        [command, "format", "--stdin-filename", f"recsys_utils/book/{name}.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise ValueError(f"ruff could not format the module {name}: {done.stderr}")
    return done.stdout


def write_modules(
    root: Path = CHAPTERS, target: Path = TARGET, *, check: bool = False
) -> list[str]:
    """Write (or, with ``check``, compare) every chapter's generated modules.

    Args:
        root: the chapters folder.
        target: the package folder of generated modules (``recsys_utils/book``).
        check: write nothing; report the modules that differ from what the notebooks
            generate, or that no notebook generates any more.

    Returns:
        The names of the modules written (or, with ``check``, out of date).
    """
    target = Path(target)
    wanted: dict[str, str] = {}
    for chapter, cells in exported_cells(root).items():
        for name, source in render_modules(chapter, cells).items():
            wanted[name] = _formatted(source, name)
    existing = {
        p.stem: p for p in target.glob("ch[0-9][0-9]*.py") if p.stem.startswith("ch")
    }
    changed = []
    for name, source in sorted(wanted.items()):
        path = target / f"{name}.py"
        if not path.exists() or path.read_text(encoding="utf-8") != source:
            changed.append(name)
            if not check:
                target.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text(source, encoding="utf-8")
                tmp.replace(path)
    for name, path in sorted(existing.items()):
        if name not in wanted:
            changed.append(name)
            if not check:
                # only a module this tool generated (its header says so) is removed
                head = path.read_text(encoding="utf-8")[:400]
                if "Generated by ``python -m coursetools export``" not in head:
                    raise ValueError(
                        f"{path} was not generated by coursetools export; "
                        "not removing it"
                    )
                path.unlink()
    return changed
