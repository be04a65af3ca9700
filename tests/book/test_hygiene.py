"""Notebooks are committed clean and the table of contents matches the files."""

from __future__ import annotations

import json

import pytest
from booktools import ROOT, toc_files

from coursetools.lint import lint_notebook

NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
ALLOWED_TAGS = {
    "pytorch",
    "tensorflow",
    "parity",
    "hide-input",
    "hide-output",
    "hide-cell",
    "remove-input",
    "remove-output",
    "remove-cell",
    "solution",
    "exercise",
    "raises-exception",
}


def test_there_are_notebooks():
    assert NOTEBOOKS, "chapters/ has no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_clean(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(nb["cells"]):
        where = f"{path.name} cell {index}"
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], (
                f"{where} has outputs: run `make clean-notebooks`"
            )
            assert cell.get("execution_count") is None, (
                f"{where} has an execution count"
            )
        tags = set(cell.get("metadata", {}).get("tags", []))
        assert tags <= ALLOWED_TAGS, f"{where} has unknown tags {tags - ALLOWED_TAGS}"
        extra = set(cell.get("metadata", {})) - {"tags", "mystnb"}
        assert not extra, (
            f"{where} carries metadata {extra}: run `make clean-notebooks`"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_dual_framework_cells_come_in_adjacent_pairs(path):
    """Every run of framework cells holds both frameworks (the website tabs them)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    kinds = [
        ({"pytorch", "tensorflow"} & set(c.get("metadata", {}).get("tags", []))) or None
        for c in nb["cells"]
    ]
    assert any(kinds), f"{path.name} has no pytorch/tensorflow cells"
    run: set[str] = set()
    for index, kind in enumerate(kinds + [None]):
        if kind:
            run |= kind
        else:
            assert not run or run == {"pytorch", "tensorflow"}, (
                f"{path.name}: the framework cells ending before cell {index} "
                f"are only {run}"
            )
            run = set()


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    for path in NOTEBOOKS:
        assert f"chapters/{path.stem}" in listed, f"{path.name} is not in _toc.yml"


def test_every_toc_entry_exists():
    for entry in toc_files():
        candidates = [ROOT / (entry + suffix) for suffix in (".md", ".ipynb")]
        assert any(c.exists() for c in candidates), (
            f"_toc.yml names {entry}, which does not exist"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_follows_the_dual_framework_rules(path):
    """The switch, suffixed names per framework, framework-free untagged cells, no
    function reading a rebound global (coursetools.lint explains each rule)."""
    problems = lint_notebook(json.loads(path.read_text(encoding="utf-8")))
    assert not problems, f"{path.name}:\n" + "\n".join(str(p) for p in problems)
