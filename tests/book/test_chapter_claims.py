"""Every chapter's comparative sentences carry a computed number (issue 17).

`python -m coursetools claims chapters/*/*.ipynb` prints the same findings. A sentence
a person has reviewed and judged to need no number goes, with the reason, into
coursetools/claims_reviewed.yml.
"""

from __future__ import annotations

import pytest
from booktools import ROOT

from coursetools.claims import check_notebook, read_allowlist

# Every section of every chapter (chapters/NN_topic/MM_name.ipynb); chapters/_legacy is
# not part of the course.
NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9]*/[0-9]*.ipynb"))
# The book pages of the editorial pass (other pages: `python -m coursetools claims`).
PAGES = [ROOT / "book" / name for name in ("preface.md", "notation.md")]
ALLOWLIST = ROOT / "coursetools" / "claims_reviewed.yml"


def test_the_allowlist_reads():
    # An entry names a section (NN_topic/MM_name), a chapter folder (NN_topic: any of
    # its sections) or a book page (preface).
    for entry in read_allowlist(ALLOWLIST):
        section = ROOT / "chapters" / f"{entry.chapter}.ipynb"
        folder = ROOT / "chapters" / entry.chapter
        page = ROOT / "book" / f"{entry.chapter}.md"
        # A chapter not yet split into sections keeps its entries until it is.
        legacy = ROOT / "chapters" / "_legacy" / f"{entry.chapter}.ipynb"
        found = section.exists() or folder.is_dir() or page.exists() or legacy.exists()
        assert found, entry.chapter


@pytest.mark.parametrize("path", NOTEBOOKS + PAGES, ids=lambda p: p.name)
def test_every_comparative_claim_carries_a_number(path):
    findings, stale = check_notebook(path, read_allowlist(ALLOWLIST))
    report = [str(f) for f in findings] + [
        f"stale allow-list entry: {e.sentence!r}" for e in stale
    ]
    assert not report, (
        f"{path.name}: comparative sentences with no glued value in the sentence or "
        "paragraph, nor a pointer at the cell above that prints it (glue the number, "
        f"rewrite the sentence, or review it into {ALLOWLIST.name}):\n"
        + "\n".join(report)
    )
