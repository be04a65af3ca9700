"""Section notebooks are committed clean, and both sites' table of contents holds
every section (from coursetools.sections.discover) and every page of book/."""

from __future__ import annotations

import json

import pytest
from booktools import ROOT, docname, site_toc, template_toc, toc_files

from coursetools.sections import by_chapter, discover

SECTIONS = discover()
ALLOWED_TAGS = {
    "pytorch",
    "tensorflow",
    "parity",
    "export",
    "hide-input",
    "hide-output",
    "hide-cell",
    "remove-input",
    "remove-output",
    "remove-cell",
    "solution",
    "exercise",
    "raises-exception",
    "varies-between-runs",  # coursetools.notebooks.VARIES: the benchmark masks it
}


def _id(section) -> str:
    return section.rel


def test_there_are_sections():
    assert SECTIONS, "chapters/ has no section notebook"


@pytest.mark.parametrize("section", SECTIONS, ids=_id)
def test_notebook_is_committed_clean(section):
    nb = json.loads(section.path.read_text(encoding="utf-8"))
    for index, cell in enumerate(nb["cells"]):
        where = f"{section.rel} cell {index}"
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


@pytest.mark.parametrize("section", [s for s in SECTIONS if not s.is_parity], ids=_id)
def test_dual_framework_cells_come_in_adjacent_pairs(section):
    """Every run of framework cells holds both frameworks: the k-th run of a page is
    the twin of the k-th run on the other framework's site (the cells' switch)."""
    nb = json.loads(section.path.read_text(encoding="utf-8"))
    kinds = [
        ({"pytorch", "tensorflow"} & set(c.get("metadata", {}).get("tags", []))) or None
        for c in nb["cells"]
    ]
    run: set[str] = set()
    for index, kind in enumerate(kinds + [None]):
        if kind:
            run |= kind
        else:
            assert not run or run == {"pytorch", "tensorflow"}, (
                f"{section.rel}: the framework cells ending before cell {index} "
                f"are only {run}"
            )
            run = set()


def test_every_section_is_in_the_sites_toc_once_in_reading_order():
    """The chapter's first section is its page, the others its sections."""
    toc = site_toc()
    files = toc_files(toc)
    wanted = [docname(s) for s in SECTIONS]
    assert [f for f in files if f.startswith("chapters/")] == wanted
    chapters = [
        entry
        for part in toc["parts"]
        for entry in part["chapters"]
        if entry.get("file", "").startswith("chapters/")
    ]
    for entry, sections in zip(chapters, by_chapter(SECTIONS).values(), strict=True):
        assert entry["file"] == docname(sections[0])
        assert [s["file"] for s in entry.get("sections", [])] == [
            docname(s) for s in sections[1:]
        ]


def test_every_book_page_is_in_the_toc_and_every_entry_exists():
    files = toc_files(template_toc())
    for entry in files:
        assert (ROOT / f"{entry}.md").exists(), f"_toc.yml names {entry}, not a page"
    for page in sorted((ROOT / "book").glob("*.md")):
        assert f"book/{page.stem}" in files, f"{page.name} is not in _toc.yml"
