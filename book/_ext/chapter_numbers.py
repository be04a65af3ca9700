"""Number figures, tables and exercises per chapter: Fig. 3.4, Table 3.1, Exercise 3.2.

A chapter is a folder of section notebooks, each its own page. Sphinx numbers the
figures (``numfig``) and sphinx-exercise the exercises across the whole book ("Fig. 25"
in chapter 4); after Sphinx has assigned its numbers (``env.toc_fignumbers``), this
extension renumbers every enumerable of a chapter's pages ``(chapter, k)``, counting
per kind across the chapter's sections in reading order. Captions, ``{numref}``
references and sphinx-exercise's titles all read ``env.toc_fignumbers``, so they
agree. Exercises are numbered as coursetools.notebooks.myst_to_markdown numbers them
in the editions and student notebooks ("Exercise N.k", counting in the chapter's
exercises section).

What gets a number:

* a figure: a code cell whose metadata gives a caption,
  ``{"mystnb": {"figure": {"caption": "...", "name": "fig-label"}}}`` (``name``
  optional: it makes ``{numref}`fig-label``` work), or a ``{figure}`` directive;
* a results table: an HTML table output that has a ``<caption>`` (pandas:
  ``df.style.set_caption(f"... ({ru.framework_name(FRAMEWORK)})")``): "Table N.k";
  a Markdown ``{table}`` / ``{list-table}`` with a title is numbered the same way;
* an exercise: an ``{exercise}`` block.

Also here, the role ``{chapter}`N``` (or ``{chapter}`text <N>```): a link to chapter
N's first page when chapter N is in the book, its text alone while it is not (chapters
arrive one folder at a time). The site generator (coursetools/site.py) gives the list
of chapter pages as ``recsys_chapter_docs``: ``[[docname, chapter, section], ...]``
in reading order.
"""

from __future__ import annotations

import html
import re

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform

RESULTS_TABLE = "results-table"
_CAPTION = re.compile(r"<caption\b[^>]*>", re.IGNORECASE)
_CHAPTER_REF = re.compile(r"\s*(?:(?P<title>.*?)\s*<\s*(?P<n1>\d+)\s*>|(?P<n2>\d+))\s*")


class results_table(nodes.General, nodes.Element):  # noqa: N801 - docutils naming
    """A cell's HTML output holding a table with a caption (numbered "Table N.k")."""


def _caption_text(raw_html: str) -> str:
    match = re.search(r"<caption\b[^>]*>(.*?)</caption>", raw_html, re.I | re.S)
    if not match:
        return ""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def _html_of(bundle: nodes.Element) -> nodes.raw | None:
    for child in bundle.children:
        if child.get("mime_type") == "text/html":
            for raw in child.findall(nodes.raw):
                return raw
    return None


class WrapResultsTables(SphinxTransform):
    """Wrap each output bundle whose HTML is a captioned table in a numbered node."""

    default_priority = 500

    def apply(self, **kwargs) -> None:
        count = 0
        for bundle in list(
            self.document.findall(
                lambda n: (
                    isinstance(n, nodes.container)
                    and n.get("nb_element") == "mime_bundle"
                )
            )
        ):
            raw = _html_of(bundle)
            if raw is None:
                continue
            text = raw.astext()
            if "<table" not in text.lower() or not _CAPTION.search(text):
                continue
            count += 1
            node_id = f"results-table-{count}"
            while node_id in self.document.ids:
                node_id += "-"
            node = results_table(caption=_caption_text(text))
            node["ids"].append(node_id)
            self.document.ids[node_id] = node
            bundle.replace_self(node)
            node += bundle


def _visit_results_table(self, node) -> None:
    number = self.builder.fignumbers.get(RESULTS_TABLE, {}).get(node["ids"][0])
    self.body.append(f'<div class="results-table" id="{node["ids"][0]}">')
    if not number:
        return
    label = self.config.numfig_format[RESULTS_TABLE] % ".".join(map(str, number))
    span = f'<span class="caption-number">{html.escape(label)} </span>'
    for raw in node.findall(nodes.raw):
        text = raw.astext()
        if _CAPTION.search(text):
            new = _CAPTION.sub(lambda m: m.group(0) + span, text, count=1)
            raw.replace_self(nodes.raw(new, new, format="html", classes=raw["classes"]))
            break


def _depart_results_table(self, node) -> None:
    self.body.append("</div>")


def _skip(self, node) -> None:
    raise nodes.SkipNode


def _numfig_format(app, config) -> None:
    formats = {RESULTS_TABLE: "Table %s"}
    formats.update(config.numfig_format or {})
    config.numfig_format = formats


def renumber_per_chapter(app, env) -> list[str]:
    """``env-get-updated``, after Sphinx's own numbering: ``(chapter, k)`` for every
    numbered object of a chapter's pages, k counting per kind across the chapter."""
    counters: dict[tuple[int, str], int] = {}
    changed = []
    for docname, chapter, _section in app.config.recsys_chapter_docs:
        per_kind = env.toc_fignumbers.get(docname)
        if not per_kind:
            continue
        for kind, numbers in per_kind.items():
            count = counters.get((chapter, kind), 0)
            for ident in sorted(numbers, key=lambda i: numbers[i]):
                count += 1
                numbers[ident] = (int(chapter), count)
            counters[(chapter, kind)] = count
        changed.append(docname)
    return changed


def chapter_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{chapter}`3``` or ``{chapter}`the two-tower chapter <3>```."""
    env = inliner.document.settings.env
    match = re.fullmatch(
        r"\s*(?:(?P<title>.*?)\s*<\s*(?P<n1>\d+)\s*>|(?P<n2>\d+))\s*", text
    )
    if not match:
        message = inliner.reporter.error(
            f"{{chapter}} takes a chapter number, `3` or `text <3>`; got {text!r}",
            line=lineno,
        )
        return [inliner.problematic(rawtext, rawtext, message)], [message]
    number = int(match.group("n1") or match.group("n2"))
    title = match.group("title") or f"chapter {number}"
    first = next(
        (
            doc
            for doc, chapter, _ in env.config.recsys_chapter_docs
            if chapter == number
        ),
        None,
    )
    if first is None:  # not in the book yet: the text alone
        return [nodes.inline(title, title, classes=["chapter-pending"])], []
    ref = addnodes.pending_xref(
        rawtext,
        refdomain="std",
        reftype="doc",
        reftarget="/" + first,
        refexplicit=True,
        refwarn=True,
        refdoc=env.docname,
    )
    ref += nodes.inline(title, title)
    return [ref], []


def setup(app):
    app.add_config_value("recsys_chapter_docs", [], "env")
    app.add_enumerable_node(
        results_table,
        RESULTS_TABLE,
        lambda node: node.get("caption", ""),
        html=(_visit_results_table, _depart_results_table),
        latex=(_skip, None),
        text=(_skip, None),
        man=(_skip, None),
        texinfo=(_skip, None),
    )
    app.add_transform(WrapResultsTables)
    app.add_role("chapter", chapter_role)
    app.connect("config-inited", _numfig_format)
    app.connect("env-get-updated", renumber_per_chapter, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
