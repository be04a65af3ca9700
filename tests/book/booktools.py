"""Paths and table-of-contents helpers shared by the website's tests."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml

from coursetools.sections import discover

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = ROOT / "_executed"
HTML = ROOT / "_build" / "html"
FRAMEWORKS = ("pytorch", "tensorflow")


def toc_files(toc: dict) -> list[str]:
    """Every file named in a table of contents (root included), without suffix."""
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            if "file" in chapter:
                files.append(chapter["file"])
            files.extend(section["file"] for section in chapter.get("sections", []))
    return files


def template_toc() -> dict:
    """The repository's _toc.yml (the template of both sites' tables of contents)."""
    return yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))


def site_toc() -> dict:
    """The table of contents each site is built with (both sites share it)."""
    from coursetools.site import table_of_contents

    return table_of_contents(template_toc(), discover())


def site_pages() -> list[str]:
    """Every page of a site, in reading order (docnames)."""
    return toc_files(site_toc())


def docname(section) -> str:
    """The page of a section: ``chapters/NN_topic/MM_name``."""
    return f"chapters/{section.chapter_dir}/{section.path.stem}"


def per_site():
    """Parametrize a test over the two sites (the fixture ``site``: the folder of
    that framework's HTML), each in its site's xdist group, so that each site is
    built once, by one worker, while the other worker builds the other."""
    return pytest.mark.parametrize(
        "site",
        [
            pytest.param(fw, id=fw, marks=pytest.mark.xdist_group(f"site-{fw}"))
            for fw in FRAMEWORKS
        ],
        indirect=True,
    )


# ---------------------------------------------------------------------------
# What a page should show: read from the executed notebook it was rendered from
# ---------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`(?P<key>[^`:]+)(?::(?P<fmt>[^`]*))?`")
_HIDDEN_OUTPUTS = {"remove-output", "remove-cell"}


def squash(text: str) -> str:
    """Whitespace collapsed, ANSI colours removed: text as a browser shows it."""
    return " ".join(_ANSI.sub("", text).split())


class _Tables(HTMLParser):
    """The cells of every <table>: a list of tables, each a list of rows of text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables:
            if not self.tables[-1]:
                self.tables[-1].append([])
            self.tables[-1][-1].append(squash("".join(self._cell)))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables(html: str) -> list[list[list[str]]]:
    """Every table of an HTML fragment, as rows of cell texts."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


@dataclass
class Expected:
    """What the page of an executed notebook shows, in order."""

    stream: list[str]  # printed text (stdout), one entry per output
    tables: list[list[list[str]]]  # HTML tables of the outputs
    glued: list[str]  # glued values in the prose, as {glue:text} formats them


def _glue_values(nb) -> dict[str, str]:
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            prefix = meta.get("mime_prefix", "")
            text = out.get("data", {}).get(prefix + "text/plain")
            if text is not None:
                values[meta["name"]] = text
    return values


def expected_outputs(path: Path) -> Expected:
    """What the page rendered from the executed notebook ``path`` shows."""
    from myst_nb.core.variables import format_plain_text

    nb = nbformat.read(path, as_version=4)
    stream, tables, glued = [], [], []
    values = _glue_values(nb)
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "markdown":
            for match in _GLUE_ROLE.finditer(cell.source):
                key, fmt = match.group("key"), match.group("fmt") or ""
                if "::" in key or key not in values:
                    continue
                glued.append(format_plain_text(values[key], fmt))
            continue
        if cell.cell_type != "code" or tags & _HIDDEN_OUTPUTS:
            continue
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get("scrapbook"):
                continue  # a glued value: shown where the prose pastes it
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                stream.append(squash(out.get("text", "")))
            html = out.get("data", {}).get("text/html")
            if html is not None:
                tables.extend(
                    html_tables(html if isinstance(html, str) else "".join(html))
                )
    return Expected(stream=[s for s in stream if s], tables=tables, glued=glued)


class _Page(HTMLParser):
    """A built page's printed outputs, output tables and glued values, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stream: list[str] = []
        self.glued: list[str] = []
        self._stack: list[str] = []  # "stream" / "glue" / "" per open element
        self._buffer: list[str] = []
        self._output_html: list[str] = []
        self._in_output = 0
        self.tables_html: list[str] = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "div" and "output" in classes and "stream" in classes:
            kind = "stream"
        elif tag == "span" and "pasted-text" in classes:
            kind = "glue"
        else:
            kind = ""
        if tag in _VOID:
            return
        if kind:
            self._buffer = []
        if tag == "div" and "cell_output" in classes:
            self._in_output = len(self._stack) + 1
            self._output_html = []
        if self._in_output:
            self._output_html.append(self.get_starttag_text() or "")
        self._stack.append(kind)

    def handle_endtag(self, tag):
        if tag in _VOID or not self._stack:
            return
        kind = self._stack.pop()
        if self._in_output:
            self._output_html.append(f"</{tag}>")
            if len(self._stack) < self._in_output:
                self.tables_html.append("".join(self._output_html))
                self._in_output = 0
        if kind == "stream":
            text = squash("".join(self._buffer))
            if text:
                self.stream.append(text)
        elif kind == "glue":
            self.glued.append(squash("".join(self._buffer)))

    def handle_data(self, data):
        if any(self._stack):
            self._buffer.append(data)
        if self._in_output:
            self._output_html.append(html_lib.escape(data))


_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


def page_outputs(html: str) -> Expected:
    """What a built page shows: printed outputs, output tables, glued values."""
    parser = _Page()
    parser.feed(html)
    tables = [t for fragment in parser.tables_html for t in html_tables(fragment)]
    return Expected(stream=parser.stream, tables=tables, glued=parser.glued)
