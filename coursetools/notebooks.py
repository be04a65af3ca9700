"""Chapter notebooks: clean them for commit, and write one edition per framework.

A chapter holds both frameworks: cells tagged ``pytorch`` and ``tensorflow`` stand in
adjacent pairs, untagged cells are framework-neutral, and cells tagged ``parity``
(whatever else they are tagged) train both frameworks and compare them. The book
executes the whole chapter. A learner gets one edition per framework, as d2l ships one
notebook per framework (:func:`framework_notebook`):

* the other framework's cells and every ``parity`` cell are removed;
* the switch ``FRAMEWORK = ru.framework()`` becomes ``ru.framework("tensorflow")``;
* a pick line ``x = x_pt if FRAMEWORK == "pytorch" else x_tf`` becomes ``x = x_tf``;
* MyST markup that only the website renders (exercise and solution blocks, citations,
  glued numbers, admonitions) becomes plain Markdown that JupyterLab, Colab and VS Code
  show as written (:func:`myst_to_markdown`), with exercises numbered as on the website.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .pyimports import strip_magics
from .setup_cell import ensure_setup_cell

__all__ = [
    "PYTORCH",
    "TENSORFLOW",
    "PARITY",
    "SOLUTION",
    "VARIES",
    "FRAMEWORK_TAGS",
    "SUFFIX",
    "SWITCH_LINE",
    "clean_notebook",
    "cell_tags",
    "framework_notebook",
    "write_editions",
    "write_notebook",
    "myst_to_markdown",
    "chapter_number",
    "Bibliography",
]

PYTORCH, TENSORFLOW, PARITY, SOLUTION = "pytorch", "tensorflow", "parity", "solution"
FRAMEWORK_TAGS = (PYTORCH, TENSORFLOW)
#: A cell that prints numbers which change from run to run by nature (timings, a free
#: port): the notebook benchmark masks every number it prints (benchmarks/harness.py).
VARIES = "varies-between-runs"
#: Names bound at the top level of a framework's cells end with its suffix.
SUFFIX = {PYTORCH: ("_pt", "PT"), TENSORFLOW: ("_tf", "TF")}
_LABEL = {PYTORCH: "PyTorch", TENSORFLOW: "TensorFlow"}
#: The line that reads the switch; exactly one per chapter.
SWITCH_LINE = "FRAMEWORK = ru.framework()"

#: Cell metadata kept in the repository: tags, and MyST-NB's figure options (alt text,
#: caption) that the website renders.
KEEP_CELL_METADATA = ("tags", "mystnb")
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip outputs, execution counts and all metadata but cell tags.

    Args:
        nb: a notebook (nbformat v4), changed in place.

    Returns:
        The same notebook, for chaining.
    """
    nb.metadata = nbformat.from_dict(NOTEBOOK_METADATA)
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict(
            {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA and v}
        )
        cell.pop("id", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.nbformat, nb.nbformat_minor = 4, 4  # ids are nbformat 4.5: not kept in the repo
    return nb


def cell_tags(cell) -> set[str]:
    """The tags of a cell, as a set."""
    return set(cell.get("metadata", {}).get("tags", []))


def chapter_number(path: str | Path) -> int | None:
    """The chapter number from a file name such as ``03_two_tower.ipynb``.

    Args:
        path: the notebook's path or name.

    Returns:
        The leading integer, or ``None`` when the name does not start with digits.
    """
    match = re.match(r"(\d+)_", Path(path).name)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------
# MyST -> plain Markdown
# ---------------------------------------------------------------------------


def _plain(latex: str) -> str:
    """``Sch{\\"o}nemann`` -> ``Schönemann``: LaTeX accents decoded (latexcodec,
    pybtex's own dependency), grouping braces dropped."""
    import codecs

    import latexcodec  # noqa: F401  (registers the "latex" codec)

    return codecs.decode(latex.encode(), "latex").replace("{", "").replace("}", "")


@dataclass
class Bibliography:
    """Author-year labels of book/references.bib, for citations in plain Markdown.

    Attributes:
        labels: ``{key: "Koren et al. 2009"}``.
    """

    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | Path) -> Bibliography:
        """Parse a BibTeX file with pybtex (the parser sphinxcontrib-bibtex uses).

        Args:
            path: the ``.bib`` file.

        Returns:
            A :class:`Bibliography`.
        """
        from pybtex.database import parse_file

        data = parse_file(str(path))
        labels = {}
        for key, entry in data.entries.items():
            people = entry.persons.get("author", []) or entry.persons.get("editor", [])
            last = [_plain(" ".join(p.last_names)) for p in people]
            who = (
                last[0]
                if len(last) == 1
                else f"{last[0]} and {last[1]}"
                if len(last) == 2
                else f"{last[0]} et al."
                if last
                else entry.fields.get("title", key).strip("{}")
            )
            labels[key] = f"{who} {entry.fields.get('year', 'n.d.')}"
        return cls(labels)

    def cite(self, keys: str) -> str:
        """``"(Koren et al. 2009; Hu et al. 2008)"`` for ``"koren2009matrix,..."``."""
        return (
            "("
            + "; ".join(self.labels.get(k.strip(), k.strip()) for k in keys.split(","))
            + ")"
        )


_FENCE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_OPTION = re.compile(r"^:(\w[\w-]*):[ \t]*(.*)$")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
_ADMONITIONS = (
    "note",
    "tip",
    "important",
    "warning",
    "caution",
    "attention",
    "hint",
    "seealso",
    "admonition",
    "danger",
    "error",
)


def _split_options(body: str) -> tuple[dict[str, str], str]:
    options, lines = {}, body.splitlines()
    while lines and _OPTION.match(lines[0]):
        key, value = _OPTION.match(lines[0]).groups()
        options[key] = value
        lines.pop(0)
    return options, "\n".join(lines).strip("\n")


def _role(match: re.Match, bib: Bibliography | None) -> str:
    role, text = match.group("role"), match.group("text")
    if role in ("cite", "cite:p", "cite:t"):
        return bib.cite(text) if bib is not None else f"({text})"
    if role.startswith("glue"):
        name = text.split(":", 1)[0]
        return f"`{name}` (printed above)"
    if role in ("doc", "ref", "numref", "download", "term"):
        explicit = re.match(r"(.*?)\s*<[^>]*>$", text)
        return explicit.group(1) if explicit else text.rsplit("/", 1)[-1]
    if role == "math":
        return f"${text}$"
    return text


def _blockquote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines())


def myst_to_markdown(
    source: str,
    *,
    chapter: int | None = None,
    counter: list[int] | None = None,
    bib: Bibliography | None = None,
    solutions: bool = True,
) -> str:
    """Rewrite the MyST markup of one markdown cell as plain Markdown.

    Exercise blocks become a bold numbered heading ("**Exercise 3.2** (title)"),
    solution blocks a ``<details>`` element (or nothing with ``solutions=False``),
    admonitions a block quote, citations author-year text, glued numbers the name
    of the value printed above. Maths (``$...$``) is left alone: every front end
    renders it.

    Args:
        source: the cell's Markdown.
        chapter: chapter number used in exercise numbers (``None``: "Exercise 2").
        counter: a one-element list holding the exercises seen so far in the
            notebook; incremented in place so numbering runs across cells.
        bib: author-year labels for ``{cite}``.
        solutions: keep solution blocks (folded) or drop them.

    Returns:
        The cell's plain Markdown.
    """
    counter = counter if counter is not None else [0]

    def fence(match: re.Match) -> str:
        name, arg = match.group("name"), match.group("arg").strip()
        options, body = _split_options(match.group("body"))
        body = myst_to_markdown(
            body, chapter=chapter, counter=counter, bib=bib, solutions=solutions
        )
        if name == "exercise":
            counter[0] += 1
            number = (
                f"{chapter}.{counter[0]}" if chapter is not None else str(counter[0])
            )
            title = f" ({arg})" if arg else ""
            return f"**Exercise {number}**{title}\n\n{body}"
        if name == "solution":
            if not solutions:
                return ""
            return f"<details><summary>Solution</summary>\n\n{body}\n\n</details>"
        if name == "solution-start":
            return "**Solution.**" if solutions else ""
        if name == "solution-end":
            return ""
        if name in _ADMONITIONS:
            title = arg if name == "admonition" else name.capitalize()
            return _blockquote(f"**{title}.** {body}")
        if name in ("math", "equation"):
            return f"$$\n{body}\n$$"
        if name in ("figure", "image"):
            alt = options.get("alt", "figure")
            return f"![{alt}]({arg})\n\n{body}".rstrip()
        if name in ("glue:figure", "glue"):
            return body
        return body  # an unknown directive: keep its content

    out = _FENCE.sub(fence, source)
    out = _ROLE.sub(lambda m: _role(m, bib), out)
    out = re.sub(r"^\(([\w-]+)\)=\s*$\n?", "", out, flags=re.MULTILINE)  # MyST targets
    return out.strip("\n")


# ---------------------------------------------------------------------------
# One edition per framework
# ---------------------------------------------------------------------------


def _is_switch_test(test: ast.expr) -> str | None:
    """``"pytorch"`` for ``FRAMEWORK == "pytorch"`` (the framework the body picks),
    ``None`` when the test is not a comparison of the switch with a framework."""
    if (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "FRAMEWORK"
        and len(test.ops) == 1
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value in FRAMEWORK_TAGS
    ):
        value = test.comparators[0].value
        if isinstance(test.ops[0], ast.Eq):
            return value
        if isinstance(test.ops[0], ast.NotEq):
            return next(f for f in FRAMEWORK_TAGS if f != value)
    return None


def _simplify_picks(source: str, framework: str) -> str:
    """Rewrite every top-level pick statement for one framework.

    ``x = x_pt if FRAMEWORK == "pytorch" else x_tf`` becomes ``x = x_tf`` in the
    TensorFlow edition, however the formatter wrapped it (the statement is found in the
    syntax tree, not by a one-line pattern); a comment on its last line is kept.
    """
    lines = source.splitlines()
    code = strip_magics(source)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return source
    edits = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.IfExp)):
            continue
        picked = _is_switch_test(node.value.test)
        if picked is None:
            continue
        chosen = node.value.body if picked == framework else node.value.orelse
        targets = " = ".join(ast.get_source_segment(code, t) for t in node.targets)
        last = lines[node.end_lineno - 1]
        tail = last[node.end_col_offset :]
        comment = "  #" + tail.split("#", 1)[1] if "#" in tail else ""
        indent = lines[node.lineno - 1][: node.col_offset]
        text = f"{indent}{targets} = {ast.get_source_segment(code, chosen)}{comment}"
        edits.append((node.lineno, node.end_lineno, text.rstrip()))
    for start, end, text in reversed(edits):
        lines[start - 1 : end] = [text]
    return "\n".join(lines)


def framework_notebook(
    nb: nbformat.NotebookNode,
    framework: str,
    *,
    chapter: int | None = None,
    section: str | None = None,
    bib: Bibliography | None = None,
    solutions: bool = True,
    website: str | None = None,
    myst: bool = False,
    header: bool = True,
) -> nbformat.NotebookNode:
    """The edition of a section (or chapter) for one framework.

    Args:
        nb: the section (not changed; a copy is returned).
        framework: ``"pytorch"`` or ``"tensorflow"``.
        chapter: chapter number, for exercise numbers.
        section: the section's label (``"3.2"``), named in the header cell.
        bib: author-year labels for citations.
        solutions: keep solution blocks in Markdown (the student tooling drops them).
        website: the book's address, named in the header cell (or ``None``).
        myst: keep the MyST markup (the website renders it); ``False`` turns it into
            plain Markdown for JupyterLab, Colab and VS Code.
        header: insert the cell that says which edition this is.

    Returns:
        A clean notebook (no outputs) holding this framework's cells only.

    Raises:
        ValueError: on an unknown framework, or when the notebook has no line
            ``FRAMEWORK = ru.framework()`` (or more than one).
    """
    if framework not in FRAMEWORK_TAGS:
        raise ValueError(
            f"framework must be one of {FRAMEWORK_TAGS}; got {framework!r}"
        )
    other = next(f for f in FRAMEWORK_TAGS if f != framework)
    nb = copy.deepcopy(nb)
    switches = [
        c for c in nb.cells if c.cell_type == "code" and SWITCH_LINE in c.source
    ]
    if len(switches) != 1:
        raise ValueError(
            f"a section must hold the line {SWITCH_LINE!r} exactly once; "
            f"found {len(switches)}"
        )
    counter = [0]
    cells = []
    for cell in nb.cells:
        tags = cell_tags(cell)
        if other in tags or PARITY in tags:
            continue
        if cell.cell_type == "code":
            cell.source = cell.source.replace(
                SWITCH_LINE, f'FRAMEWORK = ru.framework("{framework}")'
            )
            cell.source = _simplify_picks(cell.source, framework)
        elif cell.cell_type == "markdown" and not myst:
            cell.source = myst_to_markdown(
                cell.source,
                chapter=chapter,
                counter=counter,
                bib=bib,
                solutions=solutions,
            )
            if not cell.source.strip():
                continue
        cells.append(cell)
    if header:
        where = (
            f" The book, with both frameworks side by side: {website}."
            if website
            else ""
        )
        what = f"section {section}" if section else "the chapter"
        note = nbformat.v4.new_markdown_cell(
            f"*This is the {_LABEL[framework]} edition of {what}: it holds the "
            f"{_LABEL[framework]} code only. "
            "The book shows PyTorch and TensorFlow "
            f"side by side and checks that they compute the same numbers.{where}*"
        )
        title = next(
            (
                i
                for i, c in enumerate(cells)
                if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")
            ),
            None,
        )
        cells.insert(0 if title is None else title + 1, note)
    nb.cells = cells
    # the Colab set-up cell, with this edition's extras (coursetools/setup_cell.py)
    return clean_notebook(ensure_setup_cell(nb))


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write atomically: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)


def write_editions(
    sections, target: Path, bib: Bibliography | None = None
) -> list[Path]:
    """Write every framework section's edition for each framework to
    ``target/<framework>/<NN_topic>/<MM_name>.ipynb`` (plain Markdown: what ``make
    editions`` and the benchmark use); parity sections have no edition. Returns the
    paths written, section by section."""
    written = []
    for section in sections:
        if section.is_parity:
            continue
        source = nbformat.read(section.path, as_version=4)
        for framework in FRAMEWORK_TAGS:
            out = Path(target) / framework / section.rel
            write_notebook(
                framework_notebook(
                    source,
                    framework,
                    chapter=section.chapter,
                    section=section.label,
                    bib=bib,
                ),
                out,
            )
            written.append(out)
    return written
