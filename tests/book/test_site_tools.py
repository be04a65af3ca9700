"""coursetools.site's pieces, without building a site (fast)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml
from booktools import ROOT, template_toc
from fake_course import SOLUTION_LINE, write_fake_course

from coursetools.build import stage, staged_notebooks
from coursetools.notebooks import Bibliography
from coursetools.sections import Section, discover
from coursetools.site import (
    MARKER,
    SiteError,
    check_executed,
    hide_solutions,
    index_page,
    pages_url,
    render,
    site_config,
    table_of_contents,
)


def _section(chapter, number, slug="part"):
    name = f"{number:02d}_{slug}.ipynb"
    folder = f"{chapter:02d}_topic"
    return Section(Path(folder) / name, chapter, number, folder, slug)


def test_the_toc_places_each_chapter_by_its_range():
    sections = [_section(0, 1), _section(0, 2), _section(3, 1), _section(8, 1)]
    toc = table_of_contents(template_toc(), sections)
    parts = {p["caption"]: p["chapters"] for p in toc["parts"]}
    assert parts["Getting started"][-1] == {
        "file": "chapters/00_topic/01_part",
        "sections": [{"file": "chapters/00_topic/02_part"}],
    }
    assert parts["Chapters"] == [
        {"file": "chapters/03_topic/01_part"},
        {"file": "chapters/08_topic/01_part"},
    ]


def test_a_part_without_chapters_yet_is_dropped():
    toc = table_of_contents(template_toc(), [_section(0, 1)])
    assert "Chapters" not in [p["caption"] for p in toc["parts"]]


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        (["1-3"], "in none: [0, 5]"),
        (["0-", "5"], "in two: [5]"),
        (["zero"], "not a chapter range"),
    ],
)
def test_the_toc_refuses_a_chapter_in_no_range_or_two(ranges, message):
    template = {
        "root": "book/preface",
        "parts": [
            {"caption": "x", "chapters": [{"recsys_chapters": r} for r in ranges]}
        ],
    }
    with pytest.raises(SiteError, match=message.replace("[", r"\[")):
        table_of_contents(template, [_section(0, 1), _section(5, 1)])


def test_the_site_config_renders_without_executing_and_colabs_from_gh_pages():
    template = yaml.safe_load((ROOT / "_config.yml").read_text())
    sections = [_section(0, 1), _section(0, 2, "exercises")]
    config = site_config(template, "tensorflow", sections, classroom=True)
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["repository"]["branch"] == "gh-pages"
    assert config["repository"]["path_to_book"] == "tensorflow/notebooks"
    sphinx = config["sphinx"]["config"]
    assert sphinx["recsys_framework"] == "tensorflow"
    assert sphinx["hide_solutions"] is True and sphinx["html_copy_source"] is False
    assert sphinx["recsys_chapter_docs"] == [
        ["chapters/00_topic/01_part", 0, 1],
        ["chapters/00_topic/02_exercises", 0, 2],
    ]
    # classroom: the exercises section offers the student notebook only
    assert [
        d[1] for d in sphinx["recsys_downloads"]["chapters/00_topic/02_exercises"]
    ] == ["notebooks/student/00_topic/02_exercises.ipynb"]
    assert template["execute"]["execute_notebooks"] == "off"  # the template too


def test_pages_url_of_the_repository():
    assert pages_url("https://github.com/owner/name") == "https://owner.github.io/name/"
    with pytest.raises(SiteError, match="github.com/OWNER/NAME"):
        pages_url("https://gitlab.com/owner/name")


def test_the_root_page_reads_the_remembered_choice():
    page = index_page()
    assert 'localStorage.getItem("recsys-course-framework")' in page
    assert '"pytorch"' in page and "url=pytorch/index.html" in page


@pytest.fixture
def staged_course(tmp_path):
    chapters = write_fake_course(tmp_path)
    bib = Bibliography.read(ROOT / "book" / "references.bib")
    staged = staged_notebooks(discover(chapters), bib)
    return tmp_path, chapters, staged


def test_unexecuted_and_missing_notebooks_are_named(staged_course):
    root, _, staged = staged_course
    executed = root / "_executed"
    stage(staged, executed)
    (executed / "parity/01_toy/03_parity.ipynb").unlink()
    problems = check_executed(staged, executed)
    assert any(
        p.startswith("section 1.1 (PyTorch edition): ")
        and p.endswith("was not executed")
        for p in problems
    ), problems
    assert any(
        p.startswith("section 1.3 (parity section): ") and "missing" in p
        for p in problems
    ), problems
    # student and stand-in notebooks are not the website's
    assert not any("student" in p or "standin" in p for p in problems)


def test_hide_solutions_removes_the_gates(staged_course):
    _, chapters, _ = staged_course
    nb = nbformat.read(chapters / "01_toy/04_exercises.ipynb", as_version=4)
    kept = hide_solutions(nb, "1.4")
    text = "\n".join(c.source for c in kept.cells)
    assert SOLUTION_LINE not in text and "solution-start" not in text
    assert text.count("{exercise}") == 2
    broken = nbformat.v4.new_notebook()
    broken.cells = [nbformat.v4.new_markdown_cell("```{solution-start} x\n```")]
    with pytest.raises(SiteError, match="no solution-end"):
        hide_solutions(broken, "here")
    loose = nbformat.v4.new_notebook()
    loose.cells = [nbformat.v4.new_code_cell("x = 1")]
    loose.cells[0].metadata["tags"] = ["solution"]
    with pytest.raises(SiteError, match="outside a solution-start"):
        hide_solutions(loose, "here")


def test_a_folder_it_did_not_write_is_never_replaced_or_removed(staged_course):
    root, chapters, staged = staged_course
    html = root / "html"
    html.mkdir()
    (html / "notes.txt").write_text("the user's own file")
    for frameworks in (("pytorch",), ("pytorch", "tensorflow")):
        with pytest.raises(SiteError):
            render(
                frameworks=frameworks,
                chapters=chapters,
                executed=root / "_executed",  # empty: cannot build anyway
                html=html,
                work=root / "work",
                logs=root / "logs",
                root=ROOT,
            )
        assert (html / "notes.txt").read_text() == "the user's own file"
    assert not (html / MARKER).exists()
