"""Link every chapter page to its PyTorch and TensorFlow notebooks, built into the site.

When the HTML build starts, :mod:`coursetools` writes one edition per framework of every
chapter (``coursetools.notebooks.framework_notebook``) into ``_editions/<framework>/``
of the output folder; each chapter page then opens with a line linking its two
editions, so a reader downloads the notebook of the framework they know. The editions
are generated from the very chapters the book executes: there is one source.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EDITIONS = "_editions"
LABELS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}


def _write_editions(app) -> None:
    if app.builder.format != "html":
        return
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from coursetools.notebooks import Bibliography, write_editions

    bib = Bibliography.read(ROOT / "book" / "references.bib")
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    write_editions(chapters, Path(app.outdir) / EDITIONS, bib)


def _link_editions(app, pagename, templatename, context, doctree) -> None:
    if not pagename.startswith("chapters/") or "body" not in context:
        return
    name = pagename.split("/", 1)[1] + ".ipynb"
    links = " · ".join(
        f'<a class="reference download" href="../{EDITIONS}/{fw}/{html.escape(name)}" '
        f'download="{html.escape(name.replace(".ipynb", f"_{fw}.ipynb"))}">'
        f"{label} notebook</a>"
        for fw, label in LABELS.items()
    )
    banner = (
        '<p class="edition-links">Run this chapter in one framework: '
        f"{links} (each holds that framework's code only).</p>"
    )
    body = context["body"]
    end = body.find("</h1>")
    context["body"] = (
        body[: end + 5] + banner + body[end + 5 :] if end >= 0 else banner + body
    )


def setup(app):
    app.connect("builder-inited", _write_editions)
    app.connect("html-page-context", _link_editions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
