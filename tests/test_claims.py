"""coursetools.claims: comparative sentences that no computed number backs."""

from __future__ import annotations

import nbformat
import pytest

from coursetools.__main__ import main
from coursetools.claims import (
    Finding,
    Reviewed,
    check_notebook,
    claim_word,
    find_claims,
    normalize,
    read_allowlist,
    split_sentences,
)


def _notebook(*cells: tuple[str, str]):
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        new = (
            nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
        )
        nb.cells.append(new(source))
    return nb


def test_normalize_collapses_whitespace():
    assert normalize("  EASE\n beats\tpopularity.  ") == "EASE beats popularity."


def test_sentences_split_at_stops_but_not_inside_markup():
    paragraph = (
        "Recall is {glue:text}`recall:.3f` here. It is $0.5 \\cdot x$ there! "
        "Does `a.b` beat it? (Yes.) the end"
    )
    assert split_sentences(paragraph) == [
        "Recall is {glue:text}`recall:.3f` here.",
        "It is $0.5 \\cdot x$ there!",
        "Does `a.b` beat it?",
        "(Yes.) the end",
    ]


@pytest.mark.parametrize(
    ("sentence", "word"),
    [
        ("EASE beats popularity on recall.", "beats"),
        ("The TensorFlow twin lands on the same numbers.", "lands on the same"),
        ("Shrinkage changes little at this density.", "changes little"),
        ("The two partitions agree clearly.", "agree"),
        ("Fusion is worse than ID-only on warm items.", "worse"),
        # a plain comparative only counts next to a result
        ("The tail share is higher for attention.", "higher"),
        ("We train with more factors.", None),
        ("The same split serves every model.", None),
        # backed, or not a claim
        ("EASE beats it by {glue:text}`gap:.3f`.", None),
        ("Does attention beat popularity?", None),
        ("A linear model is hard to beat {cite}`steck2019embarrassingly`.", None),
        ("A tail item wins when $p(1-x) > (1-p)x$.", None),
        ("The parity cell checks that the two frameworks agree.", None),
    ],
)
def test_claim_word(sentence, word):
    assert claim_word(sentence) == word


def test_find_claims_uses_paragraphs_and_pointers():
    nb = _notebook(
        ("md", "# Title\n\n**Learning objectives.** Beat popularity clearly."),
        ("code", "print(recall)"),
        ("md", "The model beats popularity, as printed above."),  # pointer, code above
        (
            "md",
            "Attention beats EASE.\n\n"  # flagged
            "EASE wins overall. It scores {glue:text}`ease:.3f`.\n\n"  # same paragraph
            "- the rating model ranks worse than popularity;\n"  # a list item: flagged
            "- popularity gets {glue:text}`pop:.3f`.",
        ),
        ("md", "The table below shows which model wins."),  # pointer, code below
        ("code", "table"),
        ("md", "Next."),
        ("md", "Which wins, the table below says."),  # "below", but no code below
    )
    assert find_claims(nb) == [
        Finding(3, "beats", "Attention beats EASE."),
        Finding(3, "worse", "- the rating model ranks worse than popularity;"),
        Finding(7, "wins", "Which wins, the table below says."),
    ]


def test_pointer_above_needs_a_code_cell_above():
    nb = _notebook(
        ("md", "Intro."),
        ("md", "The model beats popularity, as printed above."),
    )
    assert [f.cell for f in find_claims(nb)] == [1]


def test_display_maths_and_code_fences_are_not_prose():
    nb = _notebook(
        ("md", "$$\nA \\text{ beats } B\n$$\n\n```python\n# x beats y\n```\n\nFine.")
    )
    assert find_claims(nb) == []


def test_allowlist_reviews_a_sentence_and_reports_stale_entries(tmp_path):
    path = tmp_path / "01_x.ipynb"
    nbformat.write(_notebook(("md", "EASE beats MF.\nIt wins\n  again.")), path)
    allow = tmp_path / "allow.yml"
    allow.write_text(
        "- chapter: 01_x\n  sentence: It wins again.\n  reason: reviewed by A\n"
        "- chapter: 01_x\n  sentence: Gone.\n  reason: reviewed by B\n"
        "- chapter: 02_y\n  sentence: EASE beats MF.\n  reason: another chapter\n"
    )
    reviewed = read_allowlist(allow)
    assert reviewed[0] == Reviewed("01_x", "It wins again.", "reviewed by A")
    findings, stale = check_notebook(path, reviewed)
    assert [f.sentence for f in findings] == ["EASE beats MF."]
    assert [e.sentence for e in stale] == ["Gone."]


def test_missing_allowlist_is_empty(tmp_path):
    assert read_allowlist(tmp_path / "none.yml") == []


@pytest.mark.parametrize(
    "text",
    ["chapter: 01_x\n", "- chapter: 01_x\n  sentence: S.\n", "- [a, b]\n"],
)
def test_malformed_allowlist_is_a_clear_error(tmp_path, text):
    allow = tmp_path / "allow.yml"
    allow.write_text(text)
    with pytest.raises(ValueError, match="allow-list"):
        read_allowlist(allow)


def test_cli_exit_status_and_report(tmp_path, capsys):
    clean = tmp_path / "00_clean.ipynb"
    nbformat.write(_notebook(("md", "Recall is {glue:text}`r:.2f`, better.")), clean)
    dirty = tmp_path / "01_dirty.ipynb"
    nbformat.write(_notebook(("md", "EASE clearly outperforms MF.")), dirty)
    allow = tmp_path / "allow.yml"
    assert main(["claims", str(clean), "--allowlist", str(allow)]) == 0
    assert main(["claims", str(clean), str(dirty), "--allowlist", str(allow)]) == 1
    out = capsys.readouterr().out
    assert f"{dirty}: cell 0: [clearly] EASE clearly outperforms MF." in out
    assert f"{dirty}: 1 claims without a computed number" in out


def test_a_summary_section_needs_no_result_noun_but_accepts_a_section_link():
    nb = _notebook(
        ("md", "## Method\n\nAttention gives more weight to recent items."),
        (
            "md",
            "## Summary\n\n"
            "* Attention gives more weight to the long tail.\n"  # summary: flagged
            "* It stays below MF ({ref}`tail-results`).\n\n"  # linked to its section
            "## Exercises\n\nGive more examples.",  # not a summary any more
        ),
    )
    assert find_claims(nb) == [
        Finding(1, "more", "* Attention gives more weight to the long tail.")
    ]


@pytest.mark.parametrize(
    ("sentence", "flagged"),
    [
        ("MF stays below popularity on the tail.", True),  # "below" is no pointer
        ("MF wins, as the table below shows.", False),
        ("Both frameworks start from the same numbers.", False),
        ("Both frameworks land on the same numbers.", True),
    ],
)
def test_below_and_same_numbers(sentence, flagged):
    nb = _notebook(("code", "x = 1"), ("md", sentence), ("code", "table"))
    assert bool(find_claims(nb)) is flagged


def test_a_markdown_page_is_checked_too(tmp_path):
    page = tmp_path / "preface.md"
    page.write_text("# Preface\n\nEASE clearly wins.\n\nNothing to compare here.\n")
    findings, stale = check_notebook(page, [])
    assert [f.sentence for f in findings] == ["EASE clearly wins."]
    assert stale == []
