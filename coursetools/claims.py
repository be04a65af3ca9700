"""Find comparative claims in a chapter's prose that no computed number backs.

The course's rule: a comparative sentence ("beats", "the same", "changes little",
"clearly") carries a number a cell computed, glued into the text with myst_nb's
``{glue:text}`` role, or points explicitly at a number the cell just above printed.
This module is an aid for authors, not a proof: it flags sentences of markdown cells
that use a comparative word and have

- no ``{glue}`` / ``{glue:text}`` role in the same sentence or paragraph, and
- no explicit pointer ("above", "the table", "printed", "the plot", ...) at a code
  cell right next to the markdown cell ("above": the cell just before; "below": the
  cell just after).

Two tiers of words keep it precise enough not to drown an author:

- *verdict* words ("beats", "outperforms", "matches", "identical", "clearly",
  "changes little", ...) are flagged wherever they appear;
- *plain comparatives* ("more", "lower", "larger", "the same", ...) are everyday words
  ("more factors", "the same split"), so they are flagged only in a sentence that also
  names a result (a metric, a score, a number, a table).

Questions, headings and the learning objectives are not claims and are skipped. A
sentence a person has reviewed can be allow-listed (:func:`read_allowlist`): the exact
sentence, the chapter, and the reviewer's reason. An allow-list entry that matches no
sentence any more is reported, so that the list does not rot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

# Verdict words: a comparison with a result in it, whatever the sentence is about.
VERDICT_PATTERNS = [
    r"beats?",
    r"beaten",
    r"beating",
    r"outperform(?:s|ed|ing)?",
    r"underperform(?:s|ed|ing)?",
    r"better",
    r"worse",
    r"(?:is|are|was|were|comes?|came) (?:the )?(?:best|worst)",
    r"the (?:best|worst) (?:model|learned model|method|of the|row)",
    r"match(?:es|ed)?",
    # "the same numbers" is a result; "start from the same numbers" is the set-up
    r"(?<!from )the same (?:numbers|results|values|scores|recall|ranking|lists|curve)",
    r"lands? on the same",
    r"identical(?:ly)?",
    r"indistinguishable",
    r"clearly",
    r"significantly",
    r"substantially",
    r"dramatically",
    r"(?:changes?|changed|differs?|moves?|costs?|helps?|matters?) (?:very )?little",
    r"(?:barely|hardly) (?:changes?|differs?|moves?|helps?|matters?)",
    r"no (?:real |visible )?difference",
    r"wins?",
    r"loses",
    r"dominates?",
    r"improves?",
    r"improved",
    r"improvement",
    r"hurts?",
    r"(?:leads?|trails?) (?:the|every|all)",
    r"on par",
    r"(?:roughly|about|nearly|almost) (?:the same|equal|as)",
    r"agrees?",
    r"agreement",
    r"helps? most",
    r"(?:stays?|ranks?|lands?|falls?|remains?) (?:well |far )?(?:below|above|behind)",
    r"(?:does not|doesn't|cannot|can't) (?:bring|beat|match|help)",
]

# Plain comparatives: claims only when the sentence also names a result.
COMPARATIVE_PATTERNS = [
    r"more",
    r"less",
    r"fewer",
    r"higher",
    r"lower",
    r"larger",
    r"smaller",
    r"greater",
    r"bigger",
    r"faster",
    r"slower",
    r"closer",
    r"\w+ times (?:as|more|less|higher|lower)",
    r"drops?(?! out)",
    r"ahead of",
]

# Words that make a sentence about a result rather than about a method.
RESULT_NOUNS = [
    r"recall",
    r"ndcg",
    r"precision",
    r"rmse",
    r"mae",
    r"auc",
    r"accuracy",
    r"coverage",
    r"gini",
    r"hit ?rate",
    r"score[sd]?",
    r"metrics?",
    r"numbers?",
    r"results?",
    r"tables?",
    r"values?",
    r"shares?",
    r"error",
    r"gap",
    r"loss(?:es)?",
    r"curves?",
    r"runs?",
    r"baselines?",
    r"seconds?",
    r"speed(?:-?up)?",
    r"(?:long|deep) tail",
    r"tail (?:share|recall|items?)",
]

# An explicit pointer at a number printed by a neighbouring cell.
POINTER_ABOVE = (
    r"(?:printed|shown|computed) above|above (?:shows?|prints?)"
    r"|the (?:cell|table|plot|figure|output|histogram|heatmap|chart|numbers?) above"
    r"|the (?:table|plot|figure|histogram|heatmap|chart)"
)
POINTER_BELOW = (
    r"(?:cell|table|plot|figure|output)s? below|below (?:shows?|prints?)"
    r"|the (?:next|following) (?:cell|table|plot|figure)"
)

_CITE = re.compile(r"\{cite(?::\w+)?\}`")
_RELATION = re.compile(r"\$[^$]*(?:[<>=]|\\[lg]eq?\b|\\ne\b|\\approx)[^$]*\$")
_CHECK = re.compile(r"\b(?:checks?|checked|asserts?) (?:that|whether)\b", re.I)
_SUMMARY = re.compile(r"summary|takeaways?|conclusions?|what we learned", re.I)
_SECTION_LINK = re.compile(r"\{(?:ref|numref)\}`|\]\(#")
_GLUE = re.compile(r"\{glue(?::\w+)?\}`[^`]*`")
_ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
_CODE = re.compile(r"``[^`]*``|`[^`]*`")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"\$[^$\n]+\$")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_FENCE = re.compile(r"^(```|:::).*?^\1\s*$", re.S | re.M)
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z*(\"'])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
GLUE_TOKEN = "GLUEVALUE"


def _words(patterns: list[str]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.I)


_VERDICT = _words(VERDICT_PATTERNS)
_COMPARATIVE = _words(COMPARATIVE_PATTERNS)
_RESULT = _words(RESULT_NOUNS)
_ABOVE = _words([POINTER_ABOVE])
_BELOW = _words([POINTER_BELOW])


@dataclass(frozen=True)
class Finding:
    """One comparative sentence with no computed number behind it.

    Attributes:
        cell: index of the markdown cell in the notebook.
        word: the comparative word or phrase that was found.
        sentence: the sentence, whitespace collapsed, markup as written.
    """

    cell: int
    word: str
    sentence: str

    def __str__(self) -> str:
        return f"cell {self.cell}: [{self.word}] {self.sentence}"


def normalize(sentence: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends.

    Args:
        sentence: any text.

    Returns:
        The text with every run of whitespace (newlines included) replaced by a single
        space, without leading or trailing whitespace.
    """
    return " ".join(sentence.split())


def _paragraphs(markdown: str) -> list[tuple[str | None, str]]:
    """Split a markdown cell into (heading, paragraph) pairs in order.

    Each list item is a paragraph; markdown tables are left out. A heading line gives
    ``(its text, "")``, so that the caller can follow which section it is in; every
    other block gives ``(None, text)``.
    """
    markdown = _FENCE.sub("\n\n", markdown)
    markdown = _DISPLAY_MATH.sub(" MATH ", markdown)
    blocks: list[tuple[str | None, str]] = []
    for block in re.split(r"\n\s*\n", markdown):
        current: list[str] = []
        for line in block.splitlines():
            if line.lstrip().startswith("#"):
                if current:
                    blocks.append((None, "\n".join(current)))
                    current = []
                blocks.append((line.strip("# \t"), ""))
                continue
            if _LIST_ITEM.match(line) and current:
                blocks.append((None, "\n".join(current)))
                current = []
            current.append(line)
        if current:
            blocks.append((None, "\n".join(current)))
    # a markdown table is data, not sentences
    return [
        (h, b)
        for h, b in blocks
        if h is not None or (b.strip() and not b.lstrip().startswith("|"))
    ]


def _plain(text: str) -> str:
    """The words of a sentence: glue roles kept as a token, other markup removed."""
    text = _GLUE.sub(GLUE_TOKEN, text)
    text = _ROLE.sub(" ", text)
    text = _CODE.sub(" ", text)
    text = _INLINE_MATH.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _LIST_ITEM.sub("", text)
    return text.replace("*", "")


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences, keeping markup (glue roles, maths) intact.

    A sentence ends at ``.``, ``!``, ``?``, ``:`` or ``;`` followed by whitespace and a
    capital letter, an opening parenthesis, quote or ``*``. Full stops inside inline
    code, roles and maths (``{glue:text}`x:.3f```, ``$0.5$``) do not end a sentence.

    Args:
        paragraph: the markdown of one paragraph.

    Returns:
        The sentences, whitespace collapsed, in order; empty ones dropped.
    """
    protected: list[str] = []

    def hide(match: re.Match) -> str:
        protected.append(match.group(0))
        return f"\x00{len(protected) - 1}\x00"

    hidden = _ROLE.sub(hide, paragraph)
    hidden = _CODE.sub(hide, hidden)
    hidden = _INLINE_MATH.sub(hide, hidden)
    out = []
    for part in _SENTENCE_END.split(hidden):
        part = re.sub(r"\x00(\d+)\x00", lambda m: protected[int(m.group(1))], part)
        if part.strip():
            out.append(normalize(part))
    return out


def _objectives(markdown: str) -> bool:
    """The learning objectives: a promise of the chapter, not a result."""
    return "learning objectives" in markdown.lower()


def find_claims(nb) -> list[Finding]:
    """Comparative sentences of a notebook's markdown cells that no number backs.

    In a summary section (a heading with "summary", "takeaways", "conclusion" or "what
    we learned"), every sentence restates a result, so plain comparatives count there
    without a result noun; a link to the section that computed it
    (``{ref}``/``{numref}``/``[...](#label)``) is a pointer there.

    Args:
        nb: an nbformat notebook (version 4).

    Returns:
        One :class:`Finding` per flagged sentence, in the order of the notebook.
    """
    cells = nb.cells
    findings: list[Finding] = []
    summary = False
    for index, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        objectives = _objectives(cell.source)
        code_above = index > 0 and cells[index - 1].cell_type == "code"
        code_below = index + 1 < len(cells) and cells[index + 1].cell_type == "code"
        for heading, paragraph in _paragraphs(cell.source):
            if heading is not None:
                summary = bool(_SUMMARY.search(heading))
                continue
            if objectives or _GLUE.search(paragraph):
                continue
            if summary and _SECTION_LINK.search(paragraph):
                continue
            for sentence in split_sentences(paragraph):
                word = claim_word(sentence, summary=summary)
                if word is None:
                    continue
                plain = _plain(sentence)
                if code_above and _ABOVE.search(plain):
                    continue
                if code_below and (
                    _BELOW.search(plain) or sentence.rstrip().endswith(":")
                ):
                    continue
                findings.append(Finding(index, word, sentence))
    return findings


def claim_word(sentence: str, *, summary: bool = False) -> str | None:
    """The comparative word that makes a sentence a claim, or None.

    Args:
        sentence: one sentence of markdown.
        summary: the sentence is in a summary section: a plain comparative needs no
            result noun there.

    Returns:
        The first verdict word (see ``VERDICT_PATTERNS``), else the first plain
        comparative (``COMPARATIVE_PATTERNS``) if the sentence also names a result
        (``RESULT_NOUNS``), else None. None too for a question, a sentence holding a
        glued value, one backed by a citation (``{cite}``), one that states its
        comparison in maths (``$x < p$``: a derivation), and one that describes a
        check ("check that they agree").
    """
    plain = _plain(sentence).strip()
    if not plain or plain.endswith("?") or GLUE_TOKEN in plain:
        return None
    if _CITE.search(sentence) or _RELATION.search(sentence) or _CHECK.search(plain):
        return None
    verdict = _VERDICT.search(plain)
    if verdict:
        return verdict.group(0).lower()
    comparative = _COMPARATIVE.search(plain)
    if comparative and (summary or _RESULT.search(plain)):
        return comparative.group(0).lower()
    return None


@dataclass(frozen=True)
class Reviewed:
    """A sentence a person has read and judged not to need a computed number.

    Attributes:
        chapter: the notebook's file name without suffix (``01_matrix_factorization``).
        sentence: the sentence exactly as the checker prints it.
        reason: why it needs no number (who reviewed it, and why).
    """

    chapter: str
    sentence: str
    reason: str


def read_allowlist(path: Path) -> list[Reviewed]:
    """Read the reviewed sentences from a YAML file.

    The file is a list of mappings with the keys ``chapter``, ``sentence`` and
    ``reason`` (all non-empty strings).

    Args:
        path: the YAML file; a missing file is an empty list.

    Returns:
        The entries, sentences whitespace-normalized.

    Raises:
        ValueError: if the file is not a list of such mappings.
    """
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text()) or []
    if not isinstance(data, list):
        raise ValueError(f"allow-list {path}: expected a list of entries, got {data!r}")
    entries = []
    for number, entry in enumerate(data):
        keys = ("chapter", "sentence", "reason")
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) and entry[k].strip() for k in keys
        ):
            raise ValueError(
                f"allow-list {path}, entry {number}: expected a mapping with non-empty "
                f"strings for {', '.join(keys)}, got {entry!r}"
            )
        entries.append(
            Reviewed(entry["chapter"], normalize(entry["sentence"]), entry["reason"])
        )
    return entries


def check_notebook(
    path: Path, allowlist: list[Reviewed]
) -> tuple[list[Finding], list[Reviewed]]:
    """The unreviewed claims of one notebook, and the allow-list entries now stale.

    Args:
        path: a chapter notebook, or a book page in MyST markdown (``.md``).
        allowlist: the reviewed sentences (any chapter; only this chapter's are used).

    Returns:
        (findings not on the allow-list, this chapter's allow-list entries that match
        no flagged sentence any more).
    """
    chapter = path.stem
    if path.suffix == ".md":  # a book page: one markdown cell
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_markdown_cell(path.read_text(encoding="utf-8")))
    else:
        nb = nbformat.read(path, as_version=4)
    reviewed = {e.sentence: e for e in allowlist if e.chapter == chapter}
    findings = find_claims(nb)
    flagged = {f.sentence for f in findings}
    open_findings = [f for f in findings if f.sentence not in reviewed]
    stale = [e for s, e in reviewed.items() if s not in flagged]
    return open_findings, stale
