"""The two sites, built from the executed notebooks: every page, each framework's own
outputs, numbers per chapter, the notebooks a page offers, nothing unpublishable.

Each site is built by the worker that runs its tests (booktools.per_site), from
``_executed/`` (``make test`` executes it first); a missing or stale notebook fails
here, named. The build itself runs with warnings as errors (``-W -n --keep-going``).
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
from booktools import (
    EXECUTED,
    HTML,
    ROOT,
    docname,
    expected_outputs,
    page_outputs,
    per_site,
    site_pages,
)

from coursetools.notebooks import cell_tags
from coursetools.sections import by_chapter, discover
from coursetools.setup_cell import is_setup_cell, repository
from coursetools.student import exercises

pytestmark = pytest.mark.book

SECTIONS = discover()
OTHER = {"pytorch": "tensorflow", "tensorflow": "pytorch"}


def _framework(site) -> str:
    return site.name


def _page(site, section) -> str:
    return (site / f"{docname(section)}.html").read_text(encoding="utf-8")


def _executed(site, section):
    kind = "parity" if section.is_parity else _framework(site)
    return EXECUTED / kind / section.rel


@per_site()
def test_the_site_builds_without_warnings(site):
    # -W makes any Sphinx warning fail the build (the fixture fails with the log's
    # lines); this also catches what extensions print outside Sphinx's logger.
    log = (ROOT / "_build" / "logs" / f"site-{site.name}.log").read_text()
    warnings = [line for line in log.splitlines() if "WARNING" in line]
    assert not warnings, "the build printed warnings:\n" + "\n".join(warnings)
    assert (site / "index.html").exists()
    assert (HTML / "index.html").exists()


@per_site()
def test_every_page_of_the_contents_is_built(site):
    for page in site_pages():
        assert (site / f"{page}.html").exists(), f"{page} was not built in {site}"
    for section in SECTIONS:
        assert docname(section) in site_pages(), f"{section.rel} is not in the toc"


@per_site()
def test_each_page_shows_its_own_execution(site):
    """Printed lines, output tables and glued numbers of every section page are those
    of the notebook the page was rendered from: the site's framework's edition (or
    the parity section), executed once by make test."""
    for section in SECTIONS:
        shown = page_outputs(_page(site, section))
        expected = expected_outputs(_executed(site, section))
        where = f"{site.name} {section.rel}"
        assert shown.stream == expected.stream, f"{where}: printed outputs differ"
        assert shown.tables == expected.tables, f"{where}: output tables differ"
        assert shown.glued == expected.glued, f"{where}: glued numbers differ"


@per_site()
def test_pages_hold_only_their_frameworks_cells(site):
    other = OTHER[site.name]
    for section in SECTIONS:
        text = _page(site, section)
        assert f"tag_{other}" not in text, f"{section.rel}: a {other} cell"
        if not section.is_parity:
            assert "tag_parity" not in text, f"{section.rel}: a parity cell"


@per_site()
def test_the_switch_leads_to_the_same_page_on_the_other_site(site):
    other = OTHER[site.name]
    for page in site_pages():
        text = (site / f"{page}.html").read_text(encoding="utf-8")
        up = "../" * (page.count("/") + 1)
        assert f'href="{up}{other}/{page}.html" data-framework="{other}"' in text, page
        assert f'aria-current="page" data-framework="{site.name}"' in text, page


def test_the_switchs_cell_anchors_exist_on_both_sites(built_sites):
    """A link to a cell (#fw-cell-N) lands on that cell on either site. This test
    reads both sites, so it waits for the other worker's build (built_sites)."""
    for page in site_pages():
        texts = {
            fw: (built_sites / fw / f"{page}.html").read_text(encoding="utf-8")
            for fw in OTHER
        }
        for fw, text in texts.items():
            for run in re.findall(r'href="[^"]*#(fw-cell-\d+)"', text):
                for other_text in texts.values():
                    assert f'id="{run}"' in other_text, (fw, page, run)


_NUMBER = re.compile(
    r'<span class="caption-number">(Fig\.|Table|Exercise) (\d+)\.(\d+) </span>'
)


@per_site()
def test_numbers_count_per_chapter_across_its_sections(site):
    """Fig. N.k, Table N.k and Exercise N.k: k counts 1, 2, ... per kind across the
    chapter's sections in reading order (a numref repeats a number; captions not)."""
    for chapter, sections in by_chapter(SECTIONS).items():
        seen: dict[str, list[int]] = {}
        for section in sections:
            text = _page(site, section)
            for kind, number, k in _NUMBER.findall(text):
                assert int(number) == chapter, (section.rel, kind, number, k)
                seen.setdefault(kind, []).append(int(k))
        for kind, ks in seen.items():
            assert ks == list(range(1, len(ks) + 1)), (chapter, kind, ks)
        print(
            f"{site.name} chapter {chapter}: "
            + ", ".join(f"{len(ks)} {kind}" for kind, ks in seen.items())
        )


@per_site()
def test_exercise_numbers_match_the_notebooks(site):
    """The number of each exercise on the site is the one the editions and student
    notebooks print (coursetools.student.exercises, from myst_to_markdown's rule)."""
    for section in SECTIONS:
        if not section.is_exercises:
            continue
        text = _page(site, section)
        nb = nbformat.read(section.path, as_version=4)
        for exercise in exercises(nb, section.chapter):
            label, number = re.escape(exercise.label), re.escape(exercise.number)
            pattern = (
                rf'id="{label}"[^>]*>\s*<p class="admonition-title">'
                rf'<span class="caption-number">Exercise {number} '
            )
            assert re.search(pattern, text), (section.rel, exercise)


def _links(text: str) -> list[str]:
    block = re.search(r'<p class="edition-links">(.*?)</p>', text, re.S)
    assert block, "no line of notebooks under the title"
    return re.findall(r'href="([^"]+)"', block.group(1))


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@per_site()
def test_each_page_offers_its_notebooks(site):
    """Every section page links its learner edition (plain Markdown, the set-up cell
    first, this framework's cells only, the outputs of the page), the exercises
    section also the student notebook, and Colab opens the edition from gh-pages."""
    url, _ = repository()
    owner_repo = url.removeprefix("https://github.com/")
    for section in SECTIONS:
        page = docname(section)
        links = _links(_page(site, section))
        up = "../" * page.count("/")
        edition = f"{up}notebooks/{page}.ipynb"
        colab = (
            f"https://colab.research.google.com/github/{owner_repo}/blob/gh-pages/"
            f"{site.name}/notebooks/{page}.ipynb"
        )
        assert edition in links and colab in links, (page, links)
        nb = nbformat.read(site / "notebooks" / f"{page}.ipynb", as_version=4)
        code = _code(nb)
        assert is_setup_cell(code[0]), f"{page}: the set-up cell is not first"
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                assert not re.search(
                    r"```\{|\{(cite|glue|doc|ref)[:a-z]*\}`", cell.source
                ), f"{page}: MyST markup in the learner edition: {cell.source[:80]}"
        tags = set().union(*(cell_tags(c) for c in nb.cells))
        if not section.is_parity:
            assert not tags & {OTHER[site.name], "parity"}, (page, tags)
        executed = nbformat.read(_executed(site, section), as_version=4)
        assert [c.get("outputs") for c in code] == [
            c.get("outputs") for c in _code(executed)
        ], f"{page}: the edition's outputs are not the page's"
        if section.is_graded:
            student = f"{up}notebooks/student/{section.rel}"
            assert student in links, (page, links)
            _assert_no_solution(site / "notebooks" / "student" / section.rel, section)


def _solution_lines(section) -> list[str]:
    """Distinctive lines of the section's solution cells (what must not leak)."""
    nb = nbformat.read(section.path, as_version=4)
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "solution" in cell_tags(cell):
            # The student stub keeps each signature (over several lines when long)
            # and a docstring right after it: those lines are not the solution.
            kept = set()
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    body = node.body[0]
                    end = body.lineno - 1
                    if isinstance(body, ast.Expr) and isinstance(
                        getattr(body, "value", None), ast.Constant
                    ):
                        end = body.end_lineno
                    kept.update(range(node.lineno, end + 1))
            for number, line in enumerate(cell.source.splitlines(), start=1):
                line = line.strip()
                if number not in kept and len(line) > 20 and not line.startswith("#"):
                    lines.append(line)
    return lines


def _assert_no_solution(path, section) -> None:
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    leaked = [line for line in _solution_lines(section) if line in text]
    assert not leaked, f"{path}: solution lines in a student notebook: {leaked}"


@per_site()
def test_nothing_unpublishable_is_published(site):
    """No execution report, build log, doctree or source copy in the site (the
    sources hold the solutions; the logs belong to _build/logs)."""
    bad = [
        p.relative_to(HTML)
        for pattern in ("**/reports", "**/*.log", "**/_sources", "**/.doctrees")
        for p in site.glob(pattern)
    ]
    assert not bad, bad


@per_site()
def test_no_network_assets_for_maths(site):
    text = (site / "book" / "notation.html").read_text(encoding="utf-8")
    assert "_static/mathjax/MathJax.js" in text
    assert "cdn.jsdelivr" not in text and "cdnjs" not in text
    assert (site / "_static" / "mathjax" / "MathJax.js").exists()


@per_site()
def test_the_root_page_opens_the_framework_chosen_last(site):
    text = (HTML / "index.html").read_text(encoding="utf-8")
    assert 'localStorage.getItem("recsys-course-framework")' in text
    assert (
        'href="pytorch/index.html"' in text and 'href="tensorflow/index.html"' in text
    )
    js = (site / "_static" / "framework-site.js").read_text(encoding="utf-8")
    assert '"recsys-course-framework"' in js
