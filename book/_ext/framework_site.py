"""One site per framework: the switch between them, and each page's notebooks.

The website is two Sphinx builds (coursetools/site.py): ``<html>/pytorch/`` renders
the PyTorch executions, ``<html>/tensorflow/`` the TensorFlow ones, with the same
pages at the same paths. This extension, given ``recsys_framework``, adds to every
page:

* a switch in the article header, *PyTorch | TensorFlow*, linking to the same page on
  the other site (book/_static/framework-site.js adds the reader's place on the page,
  and remembers the choice in localStorage);
* on every framework cell (tagged ``pytorch`` or ``tensorflow``) a small control of
  the same kind, linking to the twin cell on the other site: the k-th run of adjacent
  framework cells of a page is ``#fw-cell-k`` on both sites (a section's editions keep
  the same runs, one framework's cells each);
* the section's notebooks (``recsys_downloads``, written by coursetools/site.py): a
  line under the title and the header's download menu give the framework's learner
  edition (plain Markdown, with the outputs of this page) and, on an exercises section,
  the student notebook; the Colab button opens the edition from the published branch.
"""

from __future__ import annotations

import html
from pathlib import Path

from docutils import nodes

TEMPLATES = Path(__file__).parent / "templates"
SWITCH_TEMPLATE = "framework-switch.html"


def _configure(app, config) -> None:
    if not config.recsys_framework:
        return
    if config.recsys_framework not in config.recsys_frameworks:
        raise ValueError(
            f"recsys_framework is {config.recsys_framework!r}; expected one of "
            f"{list(config.recsys_frameworks)}"
        )
    config.templates_path = [*config.templates_path, str(TEMPLATES)]
    options = dict(config.html_theme_options or {})
    end = list(options.get("article_header_end") or ["article-header-buttons.html"])
    if SWITCH_TEMPLATE not in end:
        end.insert(0, SWITCH_TEMPLATE)
    options["article_header_end"] = end
    config.html_theme_options = options


def _up(docname: str) -> str:
    """From a page to the folder holding both sites."""
    return "../" * (docname.count("/") + 1)


def _other_url(app, docname: str, framework: str, anchor: str = "") -> str:
    return f"{_up(docname)}{framework}/{docname}.html{anchor}"


def _framework_of(node) -> str | None:
    if not isinstance(node, nodes.container) or "cell" not in node["classes"]:
        return None
    for framework in ("pytorch", "tensorflow"):
        if f"tag_{framework}" in node["classes"]:
            return framework
    return None


def _cell_switch(app, docname: str, anchor: str) -> str:
    mine = app.config.recsys_framework
    items = []
    for key, label in app.config.recsys_frameworks.items():
        if key == mine:
            items.append(
                f'<span class="fw-cell-switch__item" aria-current="true">{label}</span>'
            )
        else:
            url = html.escape(_other_url(app, docname, key, f"#{anchor}"))
            items.append(
                f'<a class="fw-cell-switch__item" href="{url}" data-framework="{key}" '
                f'title="This cell in {label}">{label}</a>'
            )
    return (
        '<div class="fw-cell-switch" role="group" aria-label="Framework of this cell">'
        + '<span class="fw-cell-switch__sep"> | </span>'.join(items)
        + "</div>"
    )


def _mark_framework_cells(app, doctree, docname) -> None:
    """Anchor each run of framework cells and give every framework cell its control."""
    if not app.config.recsys_framework:
        return
    run = 0
    for parent in list(doctree.findall(nodes.Element)):
        previous = None
        for child in list(parent.children):
            framework = _framework_of(child)
            if framework is None:
                previous = None
                continue
            if previous is None:  # the first cell of a run
                run += 1
                child["ids"].insert(0, f"fw-cell-{run}")
            anchor = f"fw-cell-{run}"
            text = _cell_switch(app, docname, anchor)
            child.insert(0, nodes.raw("", text, format="html"))
            previous = child


def _download_links(app, pagename: str, pathto) -> list[dict]:
    links = []
    for label, path, tooltip, filename in app.config.recsys_downloads.get(pagename, []):
        links.append(
            {
                "type": "link",
                "url": pathto(path, 1),
                "text": label,
                "tooltip": tooltip,
                "icon": "fas fa-code",
                "label": "download-notebook-button",
                "_filename": filename,
            }
        )
    return links


def _launch_buttons(context) -> list[dict]:
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            return group.get("buttons", [])
    return []


def _switch_context(app, pagename, templatename, context, doctree) -> None:
    """The header switch's links (before pydata-sphinx-theme drops the templates that
    render empty, at priority 500)."""
    config = app.config
    if not config.recsys_framework:
        return
    mine = config.recsys_framework
    context["recsys_framework"] = mine
    context["recsys_switch"] = [
        {
            "key": key,
            "label": label,
            "current": key == mine,
            "url": _other_url(app, pagename, key),
        }
        for key, label in config.recsys_frameworks.items()
    ]


def _page_context(app, pagename, templatename, context, doctree) -> None:
    """After sphinx-book-theme filled the header (priority 501): the downloads in its
    menu and in a line under the title."""
    config = app.config
    if not config.recsys_framework:
        return
    pathto = context["pathto"]
    downloads = _download_links(app, pagename, pathto)
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            keep = [
                b for b in group["buttons"] if b.get("label") == "download-pdf-button"
            ]
            group["buttons"] = [
                {k: v for k, v in b.items() if not k.startswith("_")} for b in downloads
            ] + keep
    if "body" not in context or not config.recsys_downloads.get(pagename):
        return
    colab = next(
        (b["url"] for b in _launch_buttons(context) if "colab" in b.get("url", "")),
        None,
    )
    parts = [
        f'<a class="reference download" href="{html.escape(link["url"])}" '
        f'download="{html.escape(link["_filename"])}">{html.escape(link["tooltip"])}</a>'
        for link in downloads
    ]
    if colab:
        parts.append(
            f'<a class="reference external colab-link" href="{html.escape(colab)}">'
            "Open in Colab</a>"
        )
    banner = (
        '<p class="edition-links">Run this section yourself: '
        + " · ".join(parts)
        + ".</p>"
    )
    body = context["body"]
    end = body.find("</h1>")
    context["body"] = (
        body[: end + 5] + banner + body[end + 5 :] if end >= 0 else banner + body
    )


def setup(app):
    app.add_config_value("recsys_framework", "", "html")
    app.add_config_value(
        "recsys_frameworks", {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}, "html"
    )
    app.add_config_value("recsys_downloads", {}, "html")
    app.add_config_value("recsys_classroom", False, "env")
    app.connect("config-inited", _configure)
    app.connect("doctree-resolved", _mark_framework_cells)
    app.connect("html-page-context", _switch_context, priority=400)
    app.connect("html-page-context", _page_context, priority=600)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
