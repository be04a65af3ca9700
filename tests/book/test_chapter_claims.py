"""Every chapter's comparative sentences carry a computed number (issue 17).

`python -m coursetools claims chapters/*.ipynb` prints the same findings. A sentence
a person has reviewed and judged to need no number goes, with the reason, into
coursetools/claims_reviewed.yml.
"""

from __future__ import annotations

import pytest
from booktools import ROOT

from coursetools.claims import check_notebook, read_allowlist

NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
# The book pages of the editorial pass (other pages: `python -m coursetools claims`).
PAGES = [ROOT / "book" / name for name in ("preface.md", "notation.md")]
ALLOWLIST = ROOT / "coursetools" / "claims_reviewed.yml"


def test_the_allowlist_reads():
    for entry in read_allowlist(ALLOWLIST):
        notebook = ROOT / "chapters" / f"{entry.chapter}.ipynb"
        page = ROOT / "book" / f"{entry.chapter}.md"
        assert notebook.exists() or page.exists(), entry.chapter


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
