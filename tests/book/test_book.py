"""The book builds with zero warnings and every page of the contents is in it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from booktools import ROOT, toc_files

# One worker builds the book (pytest-xdist --dist loadgroup) while the others run the
# rest of the suite.
pytestmark = [pytest.mark.book, pytest.mark.xdist_group("book")]

KERNEL_NOISE = ("absl::InitializeLog", "IPKernelApp", "cuda_", "oneDNN")


def test_book_builds_without_warnings(built_book):
    html, log = built_book
    # -W already turns every Sphinx warning into a failed build (the fixture checks the
    # exit code); this also catches warnings printed by extensions outside Sphinx's
    # logger. Kernel start-up chatter (TensorFlow's absl, ipykernel) is not the book's.
    warnings = [
        line
        for line in log.splitlines()
        if "WARNING" in line and not any(noise in line for noise in KERNEL_NOISE)
    ]
    assert not warnings, "the build printed warnings:\n" + "\n".join(warnings)
    assert (html / "index.html").exists()


def test_every_toc_page_is_in_the_html(built_book):
    html, _ = built_book
    for entry in toc_files():
        page = html / (entry + ".html")
        assert page.exists(), f"{entry} is in _toc.yml but {page} was not built"


def test_chapters_executed_with_outputs(built_book):
    """The website shows computed outputs, not bare code."""
    html, _ = built_book
    for entry in toc_files():
        if entry.startswith("chapters/"):
            text = (html / (entry + ".html")).read_text(encoding="utf-8")
            assert 'class="cell_output' in text, f"{entry} has no executed output"


def test_no_network_assets_for_maths(built_book):
    html, _ = built_book
    text = (html / "chapters" / "00_getting_started.html").read_text(encoding="utf-8")
    assert "_static/mathjax/MathJax.js" in text
    assert "cdn.jsdelivr" not in text and "cdnjs" not in text
    assert (html / "_static" / "mathjax" / "MathJax.js").exists()


def test_config_names_files_that_exist():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    for bib in config["bibtex_bibfiles"]:
        assert (ROOT / bib).exists(), bib
    assert Path(ROOT / "book" / "_static" / "framework-tabs.js").exists()


def test_every_chapter_links_its_two_editions(built_book):
    """Each chapter page links a PyTorch and a TensorFlow notebook built into the site,
    and each linked notebook holds only its framework's cells."""
    import json
    import re

    html, _ = built_book
    for entry in toc_files():
        if not entry.startswith("chapters/"):
            continue
        text = (html / (entry + ".html")).read_text(encoding="utf-8")
        links = re.findall(r'href="\.\./(_editions/(\w+)/[\w.]+\.ipynb)"', text)
        assert {fw for _, fw in links} == {"pytorch", "tensorflow"}, entry
        for target, framework in links:
            nb = json.loads((html / target).read_text(encoding="utf-8"))
            other = "tensorflow" if framework == "pytorch" else "pytorch"
            tags = [set(c.get("metadata", {}).get("tags", [])) for c in nb["cells"]]
            assert not any(other in t or "parity" in t for t in tags), target
