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
    contradictions,
    find_claims,
    glued_values,
    normalize,
    notebook_key,
    quantitative_word,
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


# --- quantitative words: each needs a glued number in its own sentence (issue 23) ---


@pytest.mark.parametrize(
    ("sentence", "word"),
    [
        # a ratio in words
        ("IVF-PQ needs eight times less memory.", "eight times less"),
        ("Sharding is 10x faster here.", "10x faster"),
        ("The memory per machine halves.", "halves"),
        ("Here two processes share two cores, so at best it halves.", "at best"),
        # how often
        (
            "Even popularity puts the test item in the top 10 of 101 most of the time.",
            "most of the time",
        ),
        ("Almost all of them are masked out.", "almost all"),
        # which is first
        ("HNSW, on these vectors, is the weakest of the three.", "is the weakest"),
        ("Of the three, the weakest of the three is HNSW.", "the weakest of the three"),
        ("IVF-Flat remains the fastest on this machine.", "remains the fastest"),
        # a bound written as a literal number
        (
            "The second block spreads its weight: no lag gets more than 0.06.",
            "more than 0.06",
        ),
        # not claims of this kind
        ("The tolerances are about twice the largest of them.", None),
        ("The four trainings take about half a minute.", None),
        ("RMSE worse by more than 0.01 (asserted in the cell above).", None),
        ("A rarely rated movie has tiny gradients.", None),
        ("The model has more than 0.5 million parameters.", None),
        ("IVF-PQ needs {glue:text}`pq_ratio:.1f` times less memory.", None),
    ],
)
def test_quantitative_word(sentence, word):
    assert quantitative_word(sentence) == word


def test_a_glued_number_elsewhere_in_the_paragraph_does_not_back_a_quantity():
    nb = _notebook(
        (
            "md",
            "IVF reaches a recall of {glue:text}`ivf_recall:.3f` and clearly beats "
            "HNSW. IVF-PQ needs eight times less memory.",
        )
    )
    assert find_claims(nb) == [
        Finding(0, "eight times less", "IVF-PQ needs eight times less memory.")
    ]


def _words(findings):
    return [f.word for f in findings]


def test_a_ratio_in_words_is_checked_against_the_values_it_compares():
    def check(sentence, glued=None):
        return _words(contradictions(_notebook(("md", sentence)), glued))

    assert check(
        "IVF-PQ stores a vector in 24 bytes against 136 and 128, eight times less."
    ) == ["'eight times less' but the values compared give 5.67, 5.33"]
    assert (
        check("IVF-PQ stores a vector in 24 bytes against 136, five times less.") == []
    )
    glued = "IVF-PQ stores {glue:text}`pq:.0f` bytes instead of {glue:text}`flat:.0f`"
    ratio = glued + ": {glue:text}`ratio:.1f` times less memory."
    assert check(ratio, {"pq": 24, "flat": 136, "ratio": 8.0}) == [
        "'8 times less' but the values compared give 5.67"
    ]
    assert check(ratio, {"pq": 24, "flat": 136, "ratio": 5.67}) == []
    assert check(ratio) == []  # values unknown: nothing to compare
    halves = "Two workers take 4.9 ms per step against 18.4 ms for one: it halves."
    assert check(halves) == ["'halves' but the values compared give 3.76"]
    # no explicit comparison of two values: no check
    assert check("IVF runs at 76 times the exact search (target 10 times, 0.95).") == []


def test_a_share_word_is_checked_against_the_shares_of_its_sentence():
    sentence = (
        "Popularity puts the test item in the top 10 most of the time (sampled "
        "HR@10 {glue:text}`pop_hr:.3f`)."
    )
    nb = _notebook(("md", sentence))
    assert _words(contradictions(nb, {"pop_hr": 0.452})) == [
        "'most of the time' needs a share above 0.5; the sentence has 0.452"
    ]
    assert contradictions(nb, {"pop_hr": 0.61}) == []
    assert contradictions(nb) == []  # value unknown
    rare = _notebook(("md", "Shoppers rarely buy twice (62% of them do)."))
    assert _words(contradictions(rare)) == [
        "'rarely' needs a share below 0.5; the sentence has 0.62"
    ]


def test_a_bound_is_checked_against_the_glued_values_beyond_it():
    sentence = (
        "No lag gets more than {glue:text}`bound:.2f` of the weight; lag 3 gets "
        "{glue:text}`lag3:.2f`."
    )
    nb = _notebook(("md", sentence))
    assert _words(contradictions(nb, {"bound": 0.06, "lag3": 0.09})) == [
        "'no lag gets more than 0.06' but the sentence also glues 0.09"
    ]
    assert contradictions(nb, {"bound": 0.1, "lag3": 0.09}) == []
    every = _notebook(
        ("md", "Every variant stays above {glue:text}`b` (worst {glue:text}`w`).")
    )
    assert _words(contradictions(every, {"b": 0.3, "w": 0.25})) == [
        "'every variant stays above 0.3' but the sentence also glues 0.25"
    ]


def test_check_notebook_reads_the_glued_values_of_the_executed_copies(tmp_path):
    source = tmp_path / "chapters" / "06_seq" / "03_eval.ipynb"
    source.parent.mkdir(parents=True)
    sentence = "Popularity hits most of the time ({glue:text}`pop_hr:.3f`)."
    nbformat.write(_notebook(("md", sentence), ("code", "glue('pop_hr', hr)")), source)
    assert check_notebook(source, [], executed=tmp_path / "_executed") == ([], [])
    executed = tmp_path / "_executed" / "pytorch" / "06_seq" / "03_eval.ipynb"
    executed.parent.mkdir(parents=True)
    nb = nbformat.read(source, as_version=4)
    nb.cells[1].outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"application/papermill.record/text/plain": "0.452"},
            metadata={"scrapbook": {"name": "pop_hr", "mime_prefix": ""}},
        )
    ]
    nbformat.write(nb, executed)
    assert glued_values(nb) == {"pop_hr": 0.452}
    findings, _ = check_notebook(source, [], executed=tmp_path / "_executed")
    assert _words(findings) == [
        "'most of the time' needs a share above 0.5; the sentence has 0.452"
    ]


def test_sections_are_reviewed_by_section_or_by_chapter(tmp_path):
    section = tmp_path / "chapters" / "07_scaling" / "02_faiss.ipynb"
    section.parent.mkdir(parents=True)
    nbformat.write(_notebook(("md", "EASE beats MF. IVF wins.")), section)
    assert notebook_key(section) == "07_scaling/02_faiss"
    assert notebook_key(tmp_path / "book" / "preface.md") == "preface"
    allow = [
        Reviewed("07_scaling/02_faiss", "EASE beats MF.", "reviewed"),
        Reviewed("07_scaling/02_faiss", "Gone.", "reviewed"),
        Reviewed("07_scaling", "IVF wins.", "chapter-wide"),
        Reviewed("07_scaling", "In another section.", "chapter-wide"),
    ]
    findings, stale = check_notebook(section, allow, executed=tmp_path)
    assert findings == []
    assert [e.sentence for e in stale] == ["Gone."]  # chapter-wide: never stale here
