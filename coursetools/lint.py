"""Static checks of a chapter's dual-framework structure.

Run by tests/book/test_hygiene.py.

What the per-framework editions and the switch rely on, checked on the source without
executing anything:

1. exactly one line ``FRAMEWORK = ru.framework()``, in an untagged code cell;
2. every name bound at the top level of a ``pytorch`` cell ends in ``_pt`` or ``PT``
   (``tensorflow``: ``_tf`` / ``TF``), imports aside, so that the two cells of a pair
   never overwrite each other's names in the book's kernel;
3. a framework cell never names the other framework's objects, unless it is a parity
   cell;
4. an untagged cell that is not a parity cell calls no framework API (``torch``,
   ``tf``, ``keras``, ``rt``, ``rtf``, ...) and names a framework's objects only in a
   pick line, ``x = x_pt if FRAMEWORK == "pytorch" else x_tf``;
5. no function reads a global that the notebook binds more than once at top level
   (run out of order, such a function silently computes on the wrong data);
6. a name bound only in parity cells is used only in parity cells (the editions drop
   them);
7. no framework cell is empty: the page drops an empty cell, and the runs of framework
   cells (``#fw-cell-k``, the twin cells of the two sites) would no longer match.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass

from .notebooks import (
    FRAMEWORK_TAGS,
    PARITY,
    PYTORCH,
    SUFFIX,
    SWITCH_LINE,
    TENSORFLOW,
    cell_tags,
)
from .pyimports import strip_magics

__all__ = ["Problem", "lint_notebook", "FRAMEWORK_MODULES"]

#: Module names (and the course's aliases) that are a framework's API.
FRAMEWORK_MODULES = {
    PYTORCH: {"torch", "nn", "F", "rt", "torchvision"},
    TENSORFLOW: {"tf", "keras", "rtf", "layers", "ops"},
}
_FRAMEWORK_PACKAGES = (
    "torch",
    "tensorflow",
    "keras",
    "recsys_utils.torch",
    "recsys_utils.tf",
)
_BUILTINS = set(dir(builtins)) | {"display", "get_ipython", "__file__"}


@dataclass(frozen=True)
class Problem:
    """One finding: the cell index and what is wrong."""

    cell: int
    message: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.message}"


def _suffix_of(name: str) -> str | None:
    for framework, suffixes in SUFFIX.items():
        if name.endswith(suffixes):
            return framework
    return None


def _writes_a_file(source: str) -> bool:
    """A ``%%writefile`` cell writes a module that another process runs (a worker
    script) or that a later cell imports: it binds nothing in the kernel, so the
    kernel's rules (suffixes, globals) do not apply to its code."""
    return source.lstrip().startswith("%%writefile")


def _top_level_bindings(tree: ast.Module) -> list[tuple[str, bool]]:
    """(name, is_import) for every name bound by a top-level statement."""
    out: list[tuple[str, bool]] = []

    def targets(node):
        if isinstance(node, ast.Name):
            out.append((node.id, False))
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                targets(elt)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    def visit(stmts):
        for node in stmts:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.append((node.name, False))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    out.append(((alias.asname or alias.name).split(".")[0], True))
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    targets(t)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets(node.target)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                targets(node.target)
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars)
                visit(node.body)
            elif isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.While):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for h in node.handlers:
                    if h.name:
                        out.append((h.name, False))
                    visit(h.body)
                visit(node.orelse)
                visit(node.finalbody)
            # walrus at top level
            for sub in (
                ast.walk(node)
                if not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Lambda))
                else ()
            ):
                if isinstance(sub, ast.NamedExpr):
                    targets(sub.target)

    visit(tree.body)
    return out


def _is_pick(node: ast.IfExp) -> bool:
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "FRAMEWORK"
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Eq, ast.NotEq))
    )


def _names_outside_picks(tree: ast.AST) -> list[ast.Name]:
    """Name loads that are not inside a pick (a conditional expression on FRAMEWORK)."""
    found: list[ast.Name] = []

    def walk(node, in_pick):
        if isinstance(node, ast.IfExp) and _is_pick(node):
            in_pick = True
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and not in_pick
        ):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            walk(child, in_pick)

    walk(tree, False)
    return found


def _function_global_reads(tree: ast.Module) -> list[tuple[str, str]]:
    """(function name, global name) for names a top-level function or method reads
    but neither binds nor receives as a parameter."""
    out = []

    def local_names(fn) -> set[str]:
        names = set()
        args = fn.args
        for a in args.posonlyargs + args.args + args.kwonlyargs:
            names.add(a.arg)
        if args.vararg:
            names.add(args.vararg.arg)
        if args.kwarg:
            names.add(args.kwarg.arg)
        declared_global = set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Global):
                declared_global.update(node.names)
            elif isinstance(node, ast.Name) and isinstance(
                node.ctx, (ast.Store, ast.Del)
            ):
                names.add(node.id)
            elif (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node is not fn
            ):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                names.add(node.name)
        return names - declared_global

    def check(fn, label):
        local = local_names(fn)
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Load)
                and node.id not in local
            ):
                out.append((label, node.id))

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            check(node, node.name)
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    check(sub, f"{node.name}.{sub.name}")
    return out


def lint_notebook(nb) -> list[Problem]:
    """Check a chapter's dual-framework structure (rules 1-5 of this module).

    Args:
        nb: the chapter (an nbformat notebook or its JSON dict).

    Returns:
        The problems found, in cell order (empty when the chapter is clean).
    """
    problems: list[Problem] = []
    trees: list[tuple[int, set[str], ast.Module]] = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = _source(cell)
        if _writes_a_file(source):
            continue
        tags = cell_tags(cell)
        # 7. no empty framework cell
        empty_in = [t for t in FRAMEWORK_TAGS if t in tags]
        if empty_in and not source.strip():
            problems.append(
                Problem(
                    index,
                    f"an empty {empty_in[0]} cell: the page drops it, so the twin "
                    "cells of the two sites no longer match; give it code or delete it",
                )
            )
        try:
            tree = ast.parse(strip_magics(source))
        except SyntaxError as err:
            problems.append(
                Problem(index, f"does not parse: {err.msg} (line {err.lineno})")
            )
            continue
        trees.append((index, tags, tree))

    # 1. the switch
    switch_cells = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        and SWITCH_LINE
        in (
            cell["source"]
            if isinstance(cell["source"], str)
            else "".join(cell["source"])
        )
    ]
    if len(switch_cells) != 1:
        problems.append(
            Problem(
                switch_cells[1] if len(switch_cells) > 1 else 0,
                f"the section must hold {SWITCH_LINE!r} exactly once; "
                f"found {len(switch_cells)}",
            )
        )
    elif set(FRAMEWORK_TAGS) & cell_tags(nb["cells"][switch_cells[0]]):
        problems.append(
            Problem(switch_cells[0], f"{SWITCH_LINE!r} must be in an untagged cell")
        )

    bound_count: dict[str, list[int]] = {}
    for index, tags, tree in trees:
        fw = next((t for t in FRAMEWORK_TAGS if t in tags), None)
        parity = PARITY in tags
        for name, is_import in _top_level_bindings(tree):
            bound_count.setdefault(name, []).append(index)
            # 2. suffixes in framework cells
            if (
                fw
                and not is_import
                and name != "_"
                and not name.startswith("__")
                and name not in FRAMEWORK_MODULES[fw]
                and _suffix_of(name) != fw
            ):
                problems.append(
                    Problem(
                        index,
                        (
                            f"{fw} cell binds {name!r} at top level: names bound "
                            f"in a {fw} cell end in {' or '.join(SUFFIX[fw])} so "
                            "the pair's cells never overwrite each other"
                        ),
                    )
                )
        loads = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        ]
        if fw and not parity:
            # 3. a framework cell does not use the other framework's objects
            other = TENSORFLOW if fw == PYTORCH else PYTORCH
            for node in loads:
                if _suffix_of(node.id) == other or node.id in FRAMEWORK_MODULES[other]:
                    problems.append(
                        Problem(
                            index,
                            f"{fw} cell uses {node.id!r} of {other} "
                            f"(line {node.lineno})",
                        )
                    )
        if not fw and not parity:
            # 4. untagged cells: no framework API, framework objects only in pick lines
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    mods = (
                        [node.module or ""]
                        if isinstance(node, ast.ImportFrom)
                        else [a.name for a in node.names]
                    )
                    names = (
                        [a.name for a in node.names]
                        if isinstance(node, ast.ImportFrom)
                        else []
                    )
                    full = [f"{m}.{n}" for m in mods for n in names] + mods
                    if any(
                        m == p or m.startswith(p + ".")
                        for m in full
                        for p in _FRAMEWORK_PACKAGES
                    ):
                        problems.append(
                            Problem(
                                index,
                                "untagged cell imports a framework "
                                f"(line {node.lineno}): "
                                "tag the cell pytorch or tensorflow",
                            )
                        )
            for node in _names_outside_picks(tree):
                if any(node.id in mods for mods in FRAMEWORK_MODULES.values()):
                    problems.append(
                        Problem(
                            index,
                            f"untagged cell calls the framework API {node.id!r} "
                            f"(line {node.lineno})",
                        )
                    )
                elif _suffix_of(node.id):
                    problems.append(
                        Problem(
                            index,
                            (
                                f"untagged cell names {node.id!r} outside a pick "
                                f"line (line {node.lineno}): pick with "
                                '`x = x_pt if FRAMEWORK == "pytorch" else x_tf`, '
                                "or tag the cell parity"
                            ),
                        )
                    )

    # 6. what only parity cells bind, only parity cells use
    parity_only = {
        name
        for name, cells in bound_count.items()
        if all(PARITY in cell_tags(nb["cells"][i]) for i in cells)
    }
    for index, tags, tree in trees:
        if PARITY in tags:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Load)
                and node.id in parity_only
            ):
                problems.append(
                    Problem(
                        index,
                        (
                            f"uses {node.id!r} (line {node.lineno}), which only "
                            "parity cells bind: the "
                            "per-framework editions drop parity cells"
                        ),
                    )
                )

    # 5. functions reading globals that are bound more than once
    rebound = {name for name, cells in bound_count.items() if len(cells) > 1}
    for index, _tags, tree in trees:
        for function, name in _function_global_reads(tree):
            if name in rebound and name not in _BUILTINS:
                problems.append(
                    Problem(
                        index,
                        (
                            f"function {function} reads the global {name!r}, "
                            f"which the notebook binds {len(bound_count[name])} "
                            f"times (cells {bound_count[name]}): "
                            "pass it as an argument"
                        ),
                    )
                )
    return sorted(set(problems), key=lambda p: (p.cell, p.message))


# ---------------------------------------------------------------------------
# Sections and chapters (the layout of coursetools/sections.py)
# ---------------------------------------------------------------------------

#: Limits of a section (CONTRIBUTING.md, "Sections"): what a reader takes in at once.
MAX_EDITION_LINES = 350
MAX_CELL_LINES = 40
#: The website's code column shows 88 characters without a horizontal scroll; ruff's
#: E501 checks the same width but skips a line that ends in its pragma.
MAX_COLUMNS = 88
MIN_SECTIONS, MAX_SECTIONS = 3, 6
_TITLE = re.compile(r"^# (?P<chapter>\d+)\.(?P<section>\d+) \S")
_EXERCISE_BLOCK = re.compile(r"^(`{3,}|:{3,})\{exercise\}", re.MULTILINE)
_MOVIELENS_API = ("movielens_available", "load_movielens_100k")


def _source(cell) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _code_lines(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.strip())


def edition_lines(nb, framework: str) -> int:
    """Non-blank code lines of a section's edition for ``framework`` (the hidden
    Colab set-up cell aside)."""
    other = TENSORFLOW if framework == PYTORCH else PYTORCH
    total = 0
    for cell in nb["cells"]:
        tags = cell_tags(cell)
        if cell["cell_type"] != "code" or other in tags or "remove-cell" in tags:
            continue
        total += _code_lines(_source(cell))
    return total


def lint_section(nb, section) -> list[Problem]:
    """The rules of one section notebook on top of :func:`lint_notebook`.

    Args:
        nb: the notebook.
        section: its :class:`coursetools.sections.Section`.

    Returns:
        The problems found.
    """
    problems: list[Problem] = []
    cells = nb["cells"]
    first = cells[0] if cells else None
    match = (
        _TITLE.match(_source(first))
        if first is not None and first["cell_type"] == "markdown"
        else None
    )
    if not match or (int(match["chapter"]), int(match["section"])) != (
        section.chapter,
        section.number,
    ):
        problems.append(
            Problem(
                0,
                f"the first cell is the section's title, '# {section.label} Title' "
                f"(chapter {section.chapter}, section {section.number} by its "
                "file name)",
            )
        )
    if section.is_parity:
        for index, cell in enumerate(cells):
            if cell_tags(cell) & set(FRAMEWORK_TAGS):
                problems.append(
                    Problem(
                        index,
                        "a parity section has no framework cells: it imports both "
                        "twins from recsys_utils.book and runs them",
                    )
                )
    else:
        problems.extend(lint_notebook(nb))
        for framework in FRAMEWORK_TAGS:
            lines = edition_lines(nb, framework)
            if lines > MAX_EDITION_LINES:
                problems.append(
                    Problem(
                        0,
                        f"the {framework} edition holds {lines} non-blank code lines; "
                        f"a section holds at most {MAX_EDITION_LINES}: split it",
                    )
                )
    for index, cell in enumerate(cells):
        tags = cell_tags(cell)
        source = _source(cell)
        if cell["cell_type"] == "code":
            if "remove-cell" not in tags and len(source.splitlines()) > MAX_CELL_LINES:
                problems.append(
                    Problem(
                        index,
                        f"{len(source.splitlines())} lines; a code cell holds at most "
                        f"{MAX_CELL_LINES}: split it, or move plumbing to recsys_utils",
                    )
                )
            long = [line for line in source.splitlines() if len(line) > MAX_COLUMNS]
            if long:
                problems.append(
                    Problem(
                        index,
                        f"a code line of {len(long[0])} characters "
                        f"({long[0][:40]}...); the page shows {MAX_COLUMNS} "
                        "without scrolling: wrap it",
                    )
                )
            if PARITY in tags and not section.is_parity:
                problems.append(
                    Problem(
                        index,
                        "parity cells live in the chapter's parity section "
                        "(MM_parity.ipynb), which runs both frameworks once",
                    )
                )
            if "solution" in tags and not section.is_exercises:
                problems.append(
                    Problem(
                        index,
                        "solution cells live in the exercises section",
                    )
                )
            if not section.is_movielens and any(a in source for a in _MOVIELENS_API):
                problems.append(
                    Problem(
                        index,
                        "only the MovieLens section (MM_movielens.ipynb) reads "
                        "MovieLens-100K",
                    )
                )
        elif _EXERCISE_BLOCK.search(source) and not section.is_exercises:
            problems.append(
                Problem(
                    index,
                    "exercise blocks live in the exercises section "
                    "(MM_exercises.ipynb), so that they are numbered N.1, N.2, ... "
                    "everywhere",
                )
            )
    return sorted(set(problems), key=lambda p: (p.cell, p.message))


_FIT = re.compile(r"^fit_(?P<name>\w+)_(?P<suffix>pt|tf)$")
_CLASS_SUFFIX = {"pt": "PT", "tf": "TF"}
_FW_OF_SUFFIX = {"pt": PYTORCH, "tf": TENSORFLOW}


def _definitions(sections):
    """(section, cell index, tags, node) of every top-level def and class, and the
    names each section imports from recsys_utils.book."""
    import nbformat

    defs, imported = [], {}
    for section in sections:
        nb = nbformat.read(section.path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or _writes_a_file(cell.source):
                continue
            try:
                tree = ast.parse(strip_magics(cell.source))
            except SyntaxError:
                continue  # lint_notebook reports it
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    defs.append((section, index, cell_tags(cell), node))
                elif isinstance(node, ast.ImportFrom) and (
                    node.module or ""
                ).startswith("recsys_utils.book"):
                    for alias in node.names:
                        imported.setdefault(alias.asname or alias.name, node.module)
    return defs, imported


def _positional(fn: ast.FunctionDef) -> list[str]:
    return [a.arg for a in fn.args.posonlyargs + fn.args.args]


def _squash(name: str) -> str:
    return name.replace("_", "").lower()


def lint_chapter(sections) -> list[str]:
    """Rules that span a chapter's sections: its shape and the model contract.

    * 3-6 sections; one exercises section, the last; one parity section (chapters 1
      and later);
    * a function or class is defined in one section only (a later section imports it
      from the chapter's exported code);
    * the model contract (CONTRIBUTING.md): for every ``fit_<name>_pt`` /
      ``fit_<name>_tf``: the signature ``(weights, data, config, *, seed, progress)``,
      its model class ``<Name>PT`` / ``<Name>TF`` built as ``(weights, config)`` with a
      ``weights_numpy()`` method, ``init_<name>_weights(config, seed)``, and the other
      framework's twin.

    Returns:
        Messages naming the section (and cell) and the rule.
    """
    problems = []
    if not sections:
        return problems
    chapter = sections[0].chapter
    where = f"chapter {chapter}"
    if not MIN_SECTIONS <= len(sections) <= MAX_SECTIONS:
        problems.append(
            f"{where}: {len(sections)} sections; a chapter has "
            f"{MIN_SECTIONS}-{MAX_SECTIONS}"
        )
    exercises = [s for s in sections if s.is_exercises]
    if len(exercises) != 1 or exercises[0] is not sections[-1]:
        problems.append(f"{where}: one exercises section, the last (MM_exercises)")
    if chapter >= 1 and sum(s.is_parity for s in sections) != 1:
        problems.append(f"{where}: one parity section (MM_parity.ipynb)")

    defs, imported = _definitions(sections)
    seen: dict[str, tuple] = {}
    for section, index, tags, node in defs:
        if "solution" in tags:
            continue  # what a student writes
        earlier = seen.get(node.name)
        if earlier is not None and earlier[0] is not section:
            problems.append(
                f"chapters/{section.rel}, cell {index}: {node.name} is already defined "
                f"in chapters/{earlier[0].rel} (cell {earlier[1]}): tag it 'export' "
                "there and import it from recsys_utils.book here"
            )
        seen.setdefault(node.name, (section, index))

    functions = {n.name: n for _, _, _, n in defs if isinstance(n, ast.FunctionDef)}
    classes = {n.name: n for _, _, _, n in defs if isinstance(n, ast.ClassDef)}
    for name, fn in sorted(functions.items()):
        match = _FIT.match(name)
        if not match:
            continue
        model, suffix = match["name"], match["suffix"]
        label = f"{where}: {name}"
        if _positional(fn) != ["weights", "data", "config"] or not {
            "seed",
            "progress",
        } <= {a.arg for a in fn.args.kwonlyargs}:
            problems.append(
                f"{label} must be (weights, data, config, *, seed, progress, ...) "
                "-> (weights, History)"
            )
        other = "tf" if suffix == "pt" else "pt"
        twin = f"fit_{model}_{other}"
        if twin not in functions and twin not in imported:
            problems.append(f"{label} has no twin {twin}")
        wanted = _CLASS_SUFFIX[suffix]
        cls = next(
            (
                c
                for n, c in classes.items()
                if n.endswith(wanted) and _squash(n[: -len(wanted)]) == _squash(model)
            ),
            None,
        )
        if cls is None:
            if not any(
                n.endswith(wanted) and _squash(n[: -len(wanted)]) == _squash(model)
                for n in imported
            ):
                problems.append(
                    f"{label}: no model class named like {model} + {wanted} "
                    f"(e.g. {''.join(p.title() for p in model.split('_'))}{wanted})"
                )
        else:
            init = next(
                (
                    s
                    for s in cls.body
                    if isinstance(s, ast.FunctionDef) and s.name == "__init__"
                ),
                None,
            )
            if init is None or _positional(init)[:3] != ["self", "weights", "config"]:
                problems.append(
                    f"{where}: {cls.name}.__init__ must be (self, weights, config)"
                )
            chain, methods = [cls], set()
            while chain:
                current = chain.pop()
                methods.update(
                    s.name for s in current.body if isinstance(s, ast.FunctionDef)
                )
                chain.extend(
                    classes[b.id]
                    for b in current.bases
                    if isinstance(b, ast.Name) and b.id in classes
                )
            if "weights_numpy" not in methods:
                problems.append(f"{where}: {cls.name} has no weights_numpy()")
        init_name = f"init_{model}_weights"
        init_fn = functions.get(init_name)
        if init_fn is None and init_name not in imported:
            problems.append(f"{label}: no {init_name}(config, seed)")
        elif init_fn is not None and _positional(init_fn) != ["config", "seed"]:
            problems.append(f"{where}: {init_name} must be (config, seed)")
    return problems


def lint_course(sections) -> list[str]:
    """No two chapters define the same name with different code (a later chapter
    imports the earlier chapter's exported code, or names its variant differently)."""
    from .sections import by_chapter

    problems = []
    first: dict[str, tuple] = {}
    for chapter, mine in by_chapter(sections).items():
        defs, _ = _definitions(mine)
        for section, index, tags, node in defs:
            if "solution" in tags:
                continue
            code = ast.dump(node)
            if node.name in first and first[node.name][0] != chapter:
                other_chapter, other_rel, other_code = first[node.name]
                if other_code != code:
                    problems.append(
                        f"chapters/{section.rel}, cell {index}: {node.name} is also "
                        f"defined, differently, in chapters/{other_rel}: import it "
                        "from recsys_utils.book or give the variant its own name"
                    )
            first.setdefault(node.name, (chapter, section.rel, code))
    return problems
