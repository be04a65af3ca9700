"""The built pages, read as HTML: images a screen reader can describe, tables with no
"nan" in them (issue 17).

MyST-NB writes a figure's alt text from the code cell's metadata
``{"mystnb": {"image": {"alt": ...}}}``; without it the alt text is the image's file
path (``../_images/5f3a...png``), which a screen reader reads out as noise.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from booktools import per_site, site_pages

# Strings a missing value prints as: pandas' NaN and NaT (any case), its <NA>, and
# Python's None (as printed: the English word "none" in a hand-written table is fine).
MISSING = re.compile(r"^(?:(?i:nan|nat|<na>)|None)$")
IMAGE_FILE = re.compile(r"\.(?:png|jpe?g|gif|svg|webp)$", re.IGNORECASE)


class _PageParser(HTMLParser):
    """Collects every <img>'s attributes and the text of every table cell."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def bad_alt_texts(html: str) -> list[str]:
    """The alt texts of a page's images that describe nothing.

    Args:
        html: one HTML page.

    Returns:
        For each <img> whose alt is missing, empty, or a file path or file name (it
        contains "/" or ends in an image suffix), a line naming its src and alt.
    """
    parser = _PageParser()
    parser.feed(html)
    bad = []
    for image in parser.images:
        alt = (image.get("alt") or "").strip()
        if not alt or "/" in alt or IMAGE_FILE.search(alt):
            bad.append(f"src={image.get('src')!r} alt={alt!r}")
    return bad


def missing_value_cells(html: str) -> list[str]:
    """The table cells of a page that print a missing value ("nan", "NaN", "<NA>").

    Args:
        html: one HTML page.

    Returns:
        The text of every <td>/<th> that reads as a missing value, in page order.
    """
    parser = _PageParser()
    parser.feed(html)
    return [cell for cell in parser.cells if MISSING.match(cell)]


def test_bad_alt_texts_are_found():
    page = (
        '<img alt="../_images/ab12.png" src="../_images/ab12.png">'
        '<img src="x.png"><img alt="" src="y.png"><img alt="plot.svg" src="z.svg">'
        '<img alt="Recall@10 of five models: EASE leads" src="w.png">'
        '<img alt="Colab logo" src="../_static/images/logo_colab.png">'
    )
    assert bad_alt_texts(page) == [
        "src='../_images/ab12.png' alt='../_images/ab12.png'",
        "src='x.png' alt=''",
        "src='y.png' alt=''",
        "src='z.svg' alt='plot.svg'",
    ]


def test_missing_values_are_found():
    page = (
        "<table><tr><th>model</th><th>recall</th></tr>"
        "<tr><td>EASE</td><td>0.31</td></tr><tr><td>Oracle</td><td>NaN</td></tr>"
        "<tr><td> nan </td><td>&lt;NA&gt;</td></tr><tr><td>nano</td><td>-</td></tr>"
        "<tr><td>None</td><td>none</td></tr>"
        "</table><p>nan outside a table is not a cell</p>"
    )
    assert missing_value_cells(page) == ["NaN", "nan", "<NA>", "None"]


def _problems(html_dir: Path, check) -> list[str]:
    """``check(html)`` on every page of a site, each problem named by its page."""
    problems = []
    for entry in site_pages():
        page = html_dir / (entry + ".html")
        for problem in check(page.read_text(encoding="utf-8")):
            problems.append(f"{page.relative_to(html_dir.parent)}: {problem}")
    return problems


@pytest.mark.book
@per_site()
def test_every_image_has_a_meaningful_alt_text(site):
    problems = _problems(site, bad_alt_texts)
    assert not problems, (
        "images whose alt text is empty or a file path (give the figure cell "
        '{"mystnb": {"image": {"alt": ...}}} metadata):\n' + "\n".join(problems)
    )


@pytest.mark.book
@per_site()
def test_no_table_cell_prints_a_missing_value(site):
    problems = _problems(site, missing_value_cells)
    assert not problems, (
        "table cells print a missing value (format them, e.g. df.fillna('-'), or drop "
        "the column):\n" + "\n".join(problems)
    )
