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

A third tier, *quantitative* words (:data:`QUANTITATIVE_PATTERNS`: "eight times
less", "halves", "most of the time", "the weakest of the three", "no lag gets more
than 0.06"), states how much, so it needs a glued number in **its own sentence** (a
glued number elsewhere in the paragraph does not back it), or a pointer at the cell
that prints it.

Beyond the words, what can be checked mechanically is (:func:`contradictions`), with
the values of the glued numbers when an executed copy of the notebook is at hand
(``_executed/<kind>/<chapter>/<section>.ipynb``, what ``make test`` executes) and the
numbers written in the sentence:

- a ratio: "N times more/less/...", "twice", "halves", "doubles" must match the
  ratio of two values the sentence compares ("24 bytes against 136": 5.7, not 8);
- a share: "most of the time", "the majority" need a share above 0.5 in the sentence,
  "rarely", "a minority" one below 0.5, "almost always" one of 0.85 or more, "about
  half" one within 0.35-0.65;
- a bound: "no lag gets more than B" (or "every ... stays below B") is contradicted by
  a glued value of the same sentence beyond B.

What it cannot do is read a table in another cell: "HNSW is the weakest of the three"
beside a table where another row is weaker is caught only in that it must carry its
number in the sentence, where a reader (and the assert that backs it) can see it.

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

NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "a hundred": 100,
    "hundred": 100,
    "a thousand": 1000,
    "thousand": 1000,
}
_NUMBER = r"\d+(?:[.,]\d+)?"
_N_TIMES = (
    r"(?:" + _NUMBER + "|" + "|".join(NUMBER_WORDS) + r"|" + "GLUEVALUE" + r"\d*)"
    r"\s*(?:times|x|×)\s+(?:as\b|more|less|fewer|higher|lower|larger|smaller|"
    r"faster|slower|bigger|cheaper|longer|shorter|the\b)"
)
_SUPERLATIVES = (
    r"(?:weakest|strongest|fastest|slowest|highest|lowest|largest|smallest|cheapest|"
    r"biggest|most accurate|least accurate)"
)
# Quantitative words: how much, how often, which is first. Each needs a glued number
# in its own sentence.
QUANTITATIVE_PATTERNS = [
    _N_TIMES,
    r"twice as",
    r"half as",
    r"halve[sd]?",
    r"most of the time",
    r"more often than not",
    r"in most cases",
    r"the (?:vast )?majority",
    r"a minority",
    r"(?:almost|nearly) (?:always|never|all|every|none)",
    r"(?:about|roughly|nearly|almost) half(?! an? (?:second|minute|hour|day)\b)",
    r"the " + _SUPERLATIVES + r" (?:of the (?:two|three|four|five|six|\d+|models|"
    r"methods|variants|indexes|indices|baselines)|among)",
    r"(?:is|are|was|were|remains?|stays?|comes?|came) (?:by far )?(?:the )?"
    + _SUPERLATIVES,
    r"at best",
    r"tops? out",
]
# A bound written as a literal number ("more than 0.06", "below 45 %"): a result's
# number that no cell glued. Counted when the sentence names a result or an outcome.
_LITERAL_BOUND = re.compile(
    r"\b(?:more|less|fewer|higher|lower|larger|smaller|greater|above|below|under|"
    r"over|exceeds?|at most|at least|up to)\s+(?:than\s+)?(?:about\s+)?"
    r"(?:\d*\.\d+|\d+(?:\.\d+)?\s*%)",
    re.I,
)
_OUTCOME = re.compile(
    r"\b(?:gets?|reach(?:es)?|scores?|achieves?|attains?|exceeds?|peaks?|no|never|"
    r"none)\b",
    re.I,
)
_ASSERTED = re.compile(r"\bassert", re.I)

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
    r"memory",
    r"bytes?",
    r"latency",
    r"throughput",
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
_QUANTITATIVE = _words(QUANTITATIVE_PATTERNS)
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


def find_claims(nb, glued: dict[str, float] | None = None) -> list[Finding]:
    """Comparative sentences of a notebook's markdown cells that no number backs, and
    sentences whose numbers contradict their words (:func:`contradictions`).

    In a summary section (a heading with "summary", "takeaways", "conclusion" or "what
    we learned"), every sentence restates a result, so plain comparatives count there
    without a result noun; a link to the section that computed it
    (``{ref}``/``{numref}``/``[...](#label)``) is a pointer there. A glued number in
    the paragraph backs a verdict or a plain comparative; a quantitative word
    (:data:`QUANTITATIVE_PATTERNS`) needs one in its own sentence.

    Args:
        nb: an nbformat notebook (version 4).
        glued: the values of the notebook's glued numbers (:func:`glued_values` of an
            executed copy), for the mechanical checks; None: only the numbers written
            in the sentences are checked.

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
            if objectives:
                continue
            if summary and _SECTION_LINK.search(paragraph):
                continue
            glued_paragraph = bool(_GLUE.search(paragraph))
            for sentence in split_sentences(paragraph):
                word = quantitative_word(sentence)
                if word is None and not glued_paragraph:
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
    findings += contradictions(nb, glued)
    return sorted(findings, key=lambda f: f.cell)


def quantitative_word(sentence: str) -> str | None:
    """The quantitative word of a sentence that has no glued number of its own, or
    None.

    Args:
        sentence: one sentence of markdown.

    Returns:
        The first match of :data:`QUANTITATIVE_PATTERNS`, else a bound written as a
        literal number ("more than 0.06") in a sentence that says an outcome ("gets",
        "reaches", "no", "never", ...) and is not about an assertion. None for a
        question, a sentence holding a glued value, one backed by a citation or
        stating its comparison in maths, and one describing a check.
    """
    plain = _plain(sentence).strip()
    if not plain or plain.endswith("?") or GLUE_TOKEN in plain:
        return None
    if _CITE.search(sentence) or _RELATION.search(sentence) or _CHECK.search(plain):
        return None
    match = _QUANTITATIVE.search(plain)
    if match:
        return match.group(0).lower()
    match = _LITERAL_BOUND.search(plain)
    if match and _OUTCOME.search(plain) and not _ASSERTED.search(plain):
        return match.group(0).lower()
    return None


# ---------------------------------------------------------------------------
# Mechanical checks: the numbers of a sentence against its words
# ---------------------------------------------------------------------------

#: How far a ratio said in words may be from the values' ratio ("eight times" for
#: 7.2 is fine, for 5.7 it is not): relative.
RATIO_TOLERANCE = 0.15
_VALUE = "VALUE"
_TOKEN = re.compile(_VALUE + r"(\d+)")
_LITERAL = re.compile(r"(?<![\w@.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(\s*%)?(?![\w])")
_GLUE_NAME = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)[^`]*`")
_RATIO_WORDS = {
    "twice": 2.0,
    "half as": 2.0,
    "halves": 2.0,
    "halved": 2.0,
    "halve": 2.0,
    "doubles": 2.0,
    "doubled": 2.0,
    "triples": 3.0,
    "tripled": 3.0,
}
_N_TIMES_CLAIM = re.compile(
    r"\b(?P<n>" + _VALUE + r"\d+|" + "|".join(NUMBER_WORDS) + r")"
    r"\s*(?:times|x|×)\s+(?:as\b|more|less|fewer|higher|lower|larger|smaller|"
    r"faster|slower|bigger|cheaper|longer|shorter|the\b)",
    re.I,
)
_RATIO_WORD = re.compile(r"\b(?:" + "|".join(_RATIO_WORDS) + r")\b", re.I)
_CONNECTOR = re.compile(
    r"^[\s(]*(?:[\w%'-]+\s+){0,3}?(?:instead of|against|vs\.?|versus|"
    r"compared (?:with|to)|than|over)\s+(?:[\w'%-]+\s+){0,3}?$",
    re.I,
)
_LIST_JOIN = re.compile(r"^\s*(?:[\w%-]+\s*)?(?:,|and|or|,\s*and)\s*$", re.I)
# (words, test on a share, what the words need)
_SHARES = [
    (
        r"most of the time|more often than not|in most cases|the (?:vast )?majority",
        lambda v: v > 0.5,
        "a share above 0.5",
    ),
    (
        r"a minority|rarely|seldom",
        lambda v: v < 0.5,
        "a share below 0.5",
    ),
    (
        r"(?:almost|nearly) (?:always|all|every)",
        lambda v: v >= 0.85,
        "a share of 0.85 or more",
    ),
    (
        r"(?:almost|nearly) (?:never|none)",
        lambda v: v <= 0.15,
        "a share of 0.15 or less",
    ),
    (
        r"(?:about|roughly|nearly|almost) half",
        lambda v: 0.35 <= v <= 0.65,
        "a share near 0.5",
    ),
]
_SHARES = [(re.compile(r"\b(?:" + w + r")\b", re.I), t, n) for w, t, n in _SHARES]
_BOUNDS = [  # (pattern with the bound's token, "upper" or "lower")
    (
        r"\b(?:no|none|never)\b[^;:]*?\b(?:more|higher|larger|greater|above|over)"
        r"\s+(?:than\s+)?(?P<b>" + _VALUE + r"\d+)",
        "upper",
    ),
    (
        r"\b(?:all|every|each)\b[^;:]*?\b(?:below|under|less than|lower than|"
        r"smaller than|at most)\s+(?P<b>" + _VALUE + r"\d+)",
        "upper",
    ),
    (
        r"\b(?:no|none|never)\b[^;:]*?\b(?:less|lower|fewer|smaller|below|under)"
        r"\s+(?:than\s+)?(?P<b>" + _VALUE + r"\d+)",
        "lower",
    ),
    (
        r"\b(?:all|every|each)\b[^;:]*?\b(?:above|over|more than|higher than|"
        r"larger than|at least)\s+(?P<b>" + _VALUE + r"\d+)",
        "lower",
    ),
]
_BOUNDS = [(re.compile(p, re.I), kind) for p, kind in _BOUNDS]


@dataclass(frozen=True)
class _Value:
    value: float | None  # None: a glued number whose value is not known
    glued: bool
    decimal: bool  # written with a fraction or a per cent (a share, not a count)


def _tokenize(sentence: str, glued: dict[str, float] | None):
    """The sentence's words with every number replaced by a token ``VALUE<i>``, and
    the values: a glued number's (from ``glued``), or a written one's."""
    values: list[_Value] = []

    def glue(match: re.Match) -> str:
        value = (glued or {}).get(match.group(1).strip())
        values.append(_Value(value, True, True))
        return f" {_VALUE}{len(values) - 1} "

    text = _GLUE_NAME.sub(glue, sentence)
    text = _ROLE.sub(" ", text)
    text = _CODE.sub(" ", text)
    text = _INLINE_MATH.sub(" ", text)
    text = _LINK.sub(r"\1", text).replace("*", "")

    def literal(match: re.Match) -> str:
        number = float(match.group(1).replace(",", "") + (match.group(2) or ""))
        percent, fraction = bool(match.group(3)), bool(match.group(2))
        values.append(
            _Value(number / 100 if percent else number, False, percent or fraction)
        )
        return f"{_VALUE}{len(values) - 1}"

    text = _LITERAL.sub(literal, text)
    return " ".join(text.split()), values


def _pairs(
    text: str, values: list[_Value], skip: set[int]
) -> list[tuple[float, float]]:
    """Pairs of values the sentence compares: ``A <unit> instead of/against/than B``,
    and ``B`` extended by a list (``against B and C``)."""
    tokens = [
        (int(m.group(1)), m.start(), m.end())
        for m in _TOKEN.finditer(text)
        if int(m.group(1)) not in skip
    ]
    pairs = []
    for i in range(len(tokens) - 1):
        a, _, end_a = tokens[i]
        b, start_b, end_b = tokens[i + 1]
        if not _CONNECTOR.match(text[end_a:start_b] + " "):
            continue
        pairs.append((a, b))
        for c, start_c, end_c in tokens[i + 2 :]:
            if not _LIST_JOIN.match(text[end_b:start_c]):
                break
            pairs.append((a, c))
            end_b = end_c
    out = []
    for a, b in pairs:
        va, vb = values[a].value, values[b].value
        if va is not None and vb is not None and va > 0 and vb > 0:
            out.append((va, vb))
    return out


def _ratio_problem(text: str, values: list[_Value]) -> str | None:
    match = _N_TIMES_CLAIM.search(text)
    skip: set[int] = set()
    if match:
        said = match.group("n")
        token = _TOKEN.fullmatch(said)
        if token:
            skip.add(int(token.group(1)))
            claimed = values[int(token.group(1))].value
        else:
            claimed = float(NUMBER_WORDS[said.lower()])
        words = match.group(0)
    else:
        match = _RATIO_WORD.search(text)
        if not match:
            return None
        claimed, words = _RATIO_WORDS[match.group(0).lower()], match.group(0)
    if claimed is None or claimed <= 0:
        return None
    pairs = _pairs(text, values, skip)
    if not pairs:
        return None
    ratios = [max(a, b) / min(a, b) for a, b in pairs]
    if any(abs(r / claimed - 1) <= RATIO_TOLERANCE for r in ratios):
        return None
    shown = ", ".join(f"{r:.3g}" for r in ratios)
    return f"'{_untoken(words, values)}' but the values compared give {shown}"


def _untoken(text: str, values: list[_Value]) -> str:
    def show(m: re.Match) -> str:
        v = values[int(m.group(1))].value
        return "?" if v is None else f"{v:g}"

    return _TOKEN.sub(show, text).lower()


def _share_problem(text: str, values: list[_Value]) -> str | None:
    if any(v.value is None for v in values):
        return None  # a glued number of unknown value may be the share
    shares = [
        v.value
        for v in values
        if v.value is not None and (v.glued or v.decimal) and 0 <= v.value <= 1
    ]
    if not shares:
        return None
    for pattern, test, need in _SHARES:
        match = pattern.search(text)
        if match and not any(test(v) for v in shares):
            shown = ", ".join(f"{v:.3g}" for v in shares)
            return f"'{match.group(0).lower()}' needs {need}; the sentence has {shown}"
    return None


def _bound_problem(text: str, values: list[_Value]) -> str | None:
    for pattern, kind in _BOUNDS:
        match = pattern.search(text)
        if not match:
            continue
        b = int(match.group("b")[len(_VALUE) :])
        bound = values[b].value
        if bound is None:
            continue
        others = [
            v.value
            for i, v in enumerate(values)
            if i != b and v.glued and v.value is not None
        ]
        beyond = [v for v in others if (v > bound if kind == "upper" else v < bound)]
        if beyond:
            return (
                f"'{_untoken(match.group(0), values)}' but the sentence also glues "
                + ", ".join(f"{v:.3g}" for v in beyond)
            )
    return None


def contradictions(nb, glued: dict[str, float] | None = None) -> list[Finding]:
    """Sentences whose numbers contradict their words (see the module's docstring):
    a ratio in words against the ratio of the values compared, a share word against
    the shares, a bound against the glued values beyond it.

    Args:
        nb: an nbformat notebook (version 4).
        glued: the glued numbers' values (:func:`glued_values`); None: only the
            numbers written in the sentences are known.

    Returns:
        One :class:`Finding` per contradicted sentence; its ``word`` says what the
        words claim and what the numbers give.
    """
    findings = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or _objectives(cell.source):
            continue
        for heading, paragraph in _paragraphs(cell.source):
            if heading is not None:
                continue
            for sentence in split_sentences(paragraph):
                if _plain(sentence).strip().endswith("?"):
                    continue
                text, values = _tokenize(sentence, glued)
                for check in (_ratio_problem, _share_problem, _bound_problem):
                    problem = check(text, values)
                    if problem:
                        findings.append(Finding(index, problem, sentence))
    return findings


def glued_values(nb) -> dict[str, float]:
    """The numbers a notebook's executed cells glued (myst-nb's ``glue``): name ->
    value, for those whose plain-text form is a number."""
    out = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if not name:
                continue
            for key, text in output.get("data", {}).items():
                if not key.endswith("text/plain"):
                    continue
                try:
                    out[name] = float(str(text).strip().strip("'\""))
                except ValueError:
                    pass
    return out


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


_SECTION_FOLDER = re.compile(r"^\d{2}_[a-z0-9_]+$")
#: Where ``make test`` writes the executed notebooks (coursetools/build.py).
EXECUTED = Path(__file__).resolve().parents[1] / "_executed"
EXECUTED_KINDS = ("pytorch", "tensorflow", "parity")


def notebook_key(path: Path) -> str:
    """The allow-list's name of a notebook: ``"03_two_tower/02_training"`` for a
    section (``chapters/NN_topic/MM_name.ipynb``), the file's stem otherwise (a book
    page, ``preface``)."""
    path = Path(path)
    if path.suffix == ".ipynb" and _SECTION_FOLDER.match(path.parent.name):
        return f"{path.parent.name}/{path.stem}"
    return path.stem


def executed_copies(path: Path, executed: Path = EXECUTED) -> list[Path]:
    """The executed copies of a section notebook under ``executed`` (one per kind
    that exists: ``<executed>/<kind>/<NN_topic>/<MM_name>.ipynb``)."""
    path = Path(path)
    if not _SECTION_FOLDER.match(path.parent.name):
        return []
    copies = [Path(executed) / k / path.parent.name / path.name for k in EXECUTED_KINDS]
    return [c for c in copies if c.is_file()]


def check_notebook(
    path: Path,
    allowlist: list[Reviewed],
    *,
    glued: dict[str, float] | None = None,
    executed: Path = EXECUTED,
) -> tuple[list[Finding], list[Reviewed]]:
    """The unreviewed claims of one notebook, and the allow-list entries now stale.

    Args:
        path: a section notebook (``chapters/NN_topic/MM_name.ipynb``), a single
            notebook, or a book page in MyST markdown (``.md``).
        allowlist: the reviewed sentences. Those of this notebook
            (:func:`notebook_key`) are used and reported when stale; those keyed by
            the section's chapter folder (``03_two_tower``) are used too, but not
            reported (another section may hold their sentence).
        glued: the glued numbers' values for the mechanical checks; None: those of
            each executed copy under ``executed`` (each framework's in turn), or,
            without one, only the numbers written in the prose.
        executed: the folder of the executed notebooks (``make test``'s).

    Returns:
        (findings not on the allow-list, this notebook's allow-list entries that match
        no flagged sentence any more).
    """
    path = Path(path)
    key = notebook_key(path)
    if path.suffix == ".md":  # a book page: one markdown cell
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_markdown_cell(path.read_text(encoding="utf-8")))
        values: list[dict[str, float] | None] = [glued]
    else:
        nb = nbformat.read(path, as_version=4)
        values = [glued]
        if glued is None:
            copies = executed_copies(path, executed)
            values = [glued_values(nbformat.read(c, as_version=4)) for c in copies] or [
                None
            ]
    findings: list[Finding] = []
    for numbers in values:
        for finding in find_claims(nb, numbers):
            if finding not in findings:
                findings.append(finding)
    own = {e.sentence: e for e in allowlist if e.chapter == key}
    chapter_wide = {
        e.sentence
        for e in allowlist
        if key != path.stem and e.chapter == path.parent.name
    }
    flagged = {f.sentence for f in findings}
    open_findings = [
        f for f in findings if f.sentence not in own and f.sentence not in chapter_wide
    ]
    stale = [e for s, e in own.items() if s not in flagged]
    return open_findings, stale
