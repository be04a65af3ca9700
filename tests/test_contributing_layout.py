"""CONTRIBUTING.md's module table is true and complete: one row per module of
recsys_utils (a subpackage's row names each of its modules), and every public name a
row cites exists in that module."""

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recsys_utils"
NEEDS_A_FRAMEWORK = {"recsys_utils/torch.py", "recsys_utils/tf.py"}


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _contributing() -> str:
    return (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")


def layout_rows(text: str) -> dict[str, str]:
    """``{module path: what}`` from the table (a row may name several modules)."""
    rows = {}
    for line in _section(text, "recsys_utils layout").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) != 2 or cells[0] in ("module", "---"):
            continue
        for path in re.findall(r"`(recsys_utils/[^`]*)`", cells[0]):
            rows[path] = cells[1]
    return rows


def package_modules() -> set[str]:
    """Every module of recsys_utils on disk: files, and subpackages as folders."""
    found = {f"recsys_utils/{p.name}" for p in PACKAGE.glob("*.py")}
    found |= {f"recsys_utils/{p.parent.name}/" for p in PACKAGE.glob("*/__init__.py")}
    return found


def table_problems(text: str) -> list[str]:
    """What is wrong with the table of ``text`` (empty: nothing)."""
    rows, modules = layout_rows(text), package_modules()
    problems = [f"a row without a module: {p}" for p in sorted(set(rows) - modules)]
    problems += [f"a module without a row: {p}" for p in sorted(modules - set(rows))]
    vocabulary = set(re.findall(r"`(\w+)`", _section(text, "Vocabulary")))
    for path, what in rows.items():
        if path not in modules or path in NEEDS_A_FRAMEWORK:
            continue
        name = path.removesuffix(".py").removesuffix("/").replace("/", ".")
        module = importlib.import_module(name.removesuffix(".__init__"))
        if path.endswith("/"):  # a subpackage: its row names each of its modules
            for sub in sorted((ROOT / path).glob("*.py")):
                if sub.stem == "__init__":
                    continue
                per_chapter = bool(re.fullmatch(r"ch\d\d(_torch|_tf)?", sub.stem)) and (
                    "one module per chapter" in what
                )
                if f"`{sub.stem}`" in what or f"`{sub.name}`" in what:
                    importlib.import_module(f"{name}.{sub.stem}")
                elif not per_chapter:
                    problems.append(f"{path}'s row does not name {sub.name}")
        cited = set(re.findall(r"`([A-Za-z_]\w*)`", what)) - vocabulary
        missing = sorted(c for c in cited if not hasattr(module, c))
        if missing:
            problems.append(f"{path}'s row cites names it does not have: {missing}")
    return problems


def test_the_module_table_is_true_and_complete():
    assert table_problems(_contributing()) == []


def test_the_check_catches_a_stale_table():
    # not vacuous: a renamed module, a name that does not exist, a subpackage row
    # that forgets a module are each reported
    text = _contributing()
    stale = text.replace(
        "| `recsys_utils/tuning.py` |", "| `recsys_utils/tunning.py` |"
    )
    stale = stale.replace("`grid_search` (time-boxed", "`grid_searcher` (time-boxed")
    stale = stale.replace("`spec` (vocabulary", "the vocabulary")
    assert stale != text
    assert table_problems(stale) == [
        "a row without a module: recsys_utils/tunning.py",
        "a module without a row: recsys_utils/tuning.py",
        "recsys_utils/marketplace/'s row does not name spec.py",
    ]
    cited = text.replace("`grid_search` (time-boxed", "`grid_searcher` (time-boxed")
    assert table_problems(cited) == [
        "recsys_utils/tuning.py's row cites names it does not have: ['grid_searcher']"
    ]
