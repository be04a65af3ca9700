"""The website: one site per framework, rendered from the executed sections.

::

    _build/html/index.html     sends the reader to the framework they chose last
    _build/html/pytorch/       the PyTorch site: PyTorch's editions, with their outputs
    _build/html/tensorflow/    the TensorFlow site: TensorFlow's editions, likewise

Both sites show the parity sections (they train both frameworks) and the pages of
``book/``. Nothing is executed while a site is built: each page is a notebook that
``make test`` (nbmake) or ``make book`` (:func:`execute_missing`) executed once,
``_executed/<kind>/<rel>`` (coursetools/build.py), so every table, figure, printed line
and glued number in the prose of the TensorFlow site comes from the TensorFlow run.

Each site is a Jupyter Book 1 build (Sphinx, ``execute_notebooks: off``, warnings are
errors) of a source tree written here, ``_build/site/<framework>/``:

* ``_config.yml`` and ``_toc.yml``: from the repository's templates of the same names
  (the table of contents gets the chapters from :func:`coursetools.sections.discover`:
  the first section of a chapter is the chapter's page, the others its sections);
* ``book/``: a copy of ``book/`` (pages, bibliography, Sphinx extensions, static files);
* ``chapters/NN_topic/MM_name.ipynb``: the executed notebook of each section (the
  framework's edition, or the parity section);
* ``_extra/notebooks/``: the downloads, copied to ``<site>/notebooks/``: every
  section's learner edition (plain Markdown, with its outputs, the Colab set-up cell
  first) under ``notebooks/chapters/<rel>``, the student notebook of each exercises
  section under ``notebooks/student/<rel>``.

A classroom build (``classroom=True``, ``make book CLASSROOM=1``) removes the worked
solutions from the pages and offers only the student notebook of an exercises section.

Publishing: the site is meant to be deployed as it is built, with ghp-import to the
repository's ``gh-pages`` branch (``ghp-import -n -p -f _build/html``): the Colab
button of a page opens ``<site>/notebooks/chapters/<rel>`` from that branch.

Nothing that looks finished is left behind by a failed build: both sites are built
into a temporary folder and moved into place only when every notebook ran completely
and both builds passed (:func:`render`); the build logs go to ``_build/logs/``, never
into the site.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from recsys_utils.paths import write_atomic

from .build import (
    DIGEST_KEY,
    Staged,
    execute,
    executed_problems,
    kind_env,
    stage,
    staged_notebooks,
)
from .notebooks import (
    FRAMEWORK_TAGS,
    Bibliography,
    framework_notebook,
    myst_to_markdown,
    write_notebook,
)
from .sections import CHAPTERS, Section, by_chapter, discover
from .setup_cell import repository

__all__ = [
    "FRAMEWORKS",
    "LABELS",
    "SiteError",
    "site_items",
    "check_executed",
    "execute_missing",
    "table_of_contents",
    "site_config",
    "learner_edition",
    "hide_solutions",
    "write_source",
    "build_site",
    "render",
    "index_page",
    "pages_url",
]

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = FRAMEWORK_TAGS
LABELS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}
#: Written into every folder this module creates, so that it only ever replaces or
#: removes a folder it wrote itself.
MARKER = ".recsys-site"
#: Where each site keeps its downloads (``<site>/notebooks/...``).
NOTEBOOKS = "notebooks"
#: The branch the published site is deployed to (ghp-import); Colab opens from it.
PAGES_BRANCH = "gh-pages"
#: The key of the template's table of contents that marks where chapters go.
CHAPTERS_KEY = "recsys_chapters"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class SiteError(RuntimeError):
    """The site cannot be built; the message says why and what to do."""


# ---------------------------------------------------------------------------
# What each site shows, and whether it was executed
# ---------------------------------------------------------------------------


def site_items(staged: list[Staged], framework: str) -> list[Staged]:
    """The notebooks a framework's site renders, in reading order: that framework's
    edition of every framework section and every parity section."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}; got {framework!r}")
    return [item for item in staged if item.kind in (framework, "parity")]


def _title(section: Section) -> str:
    nb = nbformat.read(section.path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            return cell.source.lstrip()[2:].split("\n", 1)[0].strip()
    return section.label


def _who(item: Staged) -> str:
    what = "parity section" if item.kind == "parity" else f"{LABELS[item.kind]} edition"
    return f"section {item.section.label} ({what})"


def check_executed(staged: list[Staged], executed: Path) -> list[str]:
    """What keeps the website from being built from ``executed``: every notebook the
    two sites render that is missing, stale (executed from other sources), not run
    to the end, or holds an error.

    Returns:
        One message per problem, naming the section, the notebook and the cell.
    """
    problems = []
    seen = set()
    for framework in FRAMEWORKS:
        for item in site_items(staged, framework):
            if item.rel in seen:
                continue
            seen.add(item.rel)
            digest = item.notebook.metadata[DIGEST_KEY]["digest"]
            for problem in executed_problems(Path(executed) / item.rel, digest):
                problems.append(f"{_who(item)}: {problem}")
    return problems


def _execute_group(paths_kinds, no_data, timeout):
    """Execute one group's notebooks in order (a worker process); return problems."""
    problems = []
    for path, kind, who in paths_kinds:
        env = kind_env(kind, standin=None, no_data=Path(no_data))
        start = time.perf_counter()
        found = execute(Path(path), timeout=timeout, env=env)
        print(
            f"executed {path} in {time.perf_counter() - start:.0f} s"
            + (f": {len(found)} problems" if found else ""),
            flush=True,
        )
        problems += [f"{who}: {p}" for p in found]
    return problems


def execute_missing(
    staged: list[Staged],
    executed: Path,
    *,
    no_data: Path,
    jobs: int = 1,
    timeout: int = 900,
) -> list[str]:
    """Stage and execute the site's notebooks that are missing, stale or failed.

    Notebooks already executed from the current sources are kept (``stage(...,
    keep_fresh=True)``). The sections of one chapter in one framework run in order in
    one process (a later section may load what an earlier one cached); ``jobs``
    groups run at once.

    Args:
        staged: from :func:`coursetools.build.staged_notebooks`.
        executed: the stage folder (``_executed``).
        no_data: the folder the kernels look in for MovieLens-100K (the user's
            ``RECSYS_MOVIELENS_HOME``, or an empty folder: the recorded results).
        jobs: groups executed at once.
        timeout: seconds per cell.

    Returns:
        The problems of the notebooks executed (empty: all ran completely).
    """
    stage(staged, executed, keep_fresh=True)
    groups: dict[tuple[str, int], list] = {}
    for framework in FRAMEWORKS:
        for item in site_items(staged, framework):
            digest = item.notebook.metadata[DIGEST_KEY]["digest"]
            path = Path(executed) / item.rel
            if not executed_problems(path, digest):
                continue
            key = (item.kind, item.section.chapter)
            if (str(path), item.kind, _who(item)) not in groups.get(key, []):
                groups.setdefault(key, []).append((str(path), item.kind, _who(item)))
    if not groups:
        print("every notebook of the website is executed and current")
        return []
    count = sum(len(g) for g in groups.values())
    print(f"executing {count} notebooks ({len(groups)} groups, {jobs} at once)")
    if jobs <= 1:
        return [
            p
            for group in groups.values()
            for p in _execute_group(group, str(no_data), timeout)
        ]
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [
            pool.submit(_execute_group, group, str(no_data), timeout)
            for group in groups.values()
        ]
        return [p for future in futures for p in future.result()]


# ---------------------------------------------------------------------------
# The source tree of one site
# ---------------------------------------------------------------------------


def _docname(section: Section) -> str:
    return f"chapters/{section.chapter_dir}/{section.path.stem}"


def _chapter_entry(sections: list[Section]) -> dict:
    entry = {"file": _docname(sections[0])}
    if len(sections) > 1:
        entry["sections"] = [{"file": _docname(s)} for s in sections[1:]]
    return entry


def _chapter_range(spec) -> tuple[int, float]:
    """``"0"`` -> (0, 0); ``"1-"`` -> (1, inf); ``"1-7"`` -> (1, 7)."""
    text = str(spec).strip()
    try:
        if "-" in text:
            low, high = text.split("-", 1)
            return int(low), float(high) if high.strip() else float("inf")
        return int(text), int(text)
    except ValueError:
        raise SiteError(
            f"_toc.yml: {CHAPTERS_KEY}: {spec!r} is not a chapter range "
            '("0", "1-7" or "1-")'
        ) from None


def table_of_contents(template: dict, sections: list[Section]) -> dict:
    """The site's ``_toc.yml``: the template with each ``recsys_chapters: RANGE``
    entry replaced by the chapters in that range, in order.

    Raises:
        SiteError: a chapter falls in no range, or in two.
    """
    toc = copy.deepcopy(template)
    chapters = by_chapter(sections)
    placed: dict[int, int] = {}
    for part in toc.get("parts", []):
        entries = []
        for entry in part.get("chapters", []):
            if isinstance(entry, dict) and CHAPTERS_KEY in entry:
                low, high = _chapter_range(entry[CHAPTERS_KEY])
                for number, mine in chapters.items():
                    if low <= number <= high:
                        entries.append(_chapter_entry(mine))
                        placed[number] = placed.get(number, 0) + 1
            else:
                entries.append(entry)
        part["chapters"] = entries
    twice = [n for n, times in placed.items() if times > 1]
    nowhere = [n for n in chapters if n not in placed]
    if twice or nowhere:
        raise SiteError(
            f"_toc.yml: every chapter must fall in exactly one {CHAPTERS_KEY} range; "
            f"in none: {nowhere}, in two: {twice}"
        )
    # a part left without an entry (no chapter in its range yet) is dropped
    toc["parts"] = [p for p in toc.get("parts", []) if p.get("chapters")]
    return toc


def pages_url(url: str) -> str:
    """The GitHub Pages address of a ``https://github.com/OWNER/NAME`` repository:
    ``https://OWNER.github.io/NAME/`` (where ghp-import's ``gh-pages`` branch is
    served)."""
    parts = url.rstrip("/").split("/")
    if len(parts) < 5 or parts[2] != "github.com":
        raise SiteError(
            f"repository.url {url!r} is not https://github.com/OWNER/NAME; the site's "
            "address cannot be derived"
        )
    return f"https://{parts[3]}.github.io/{parts[4]}/"


def site_config(
    template: dict, framework: str, sections: list[Section], *, classroom: bool
) -> dict:
    """The site's ``_config.yml``: the repository's template, plus what the site's
    own extensions read (book/_ext/framework_site.py, book/_ext/chapter_numbers.py).
    """
    config = copy.deepcopy(template)
    config["execute"] = {**config.get("execute", {}), "execute_notebooks": "off"}
    repo = config.setdefault("repository", {})
    # The Colab button opens the learner edition from the published site's branch.
    repo["branch"] = PAGES_BRANCH
    repo["path_to_book"] = f"{framework}/{NOTEBOOKS}"
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})
    sphinx["config"].update(
        {
            "recsys_framework": framework,
            "recsys_frameworks": LABELS,
            "recsys_classroom": bool(classroom),
            "recsys_chapter_docs": [
                [_docname(s), s.chapter, s.number] for s in sections
            ],
            "recsys_downloads": _downloads(framework, sections, classroom=classroom),
            "html_extra_path": ["_extra"],
            # the sources hold solutions (and are not what a learner should download)
            "html_copy_source": False,
            "hide_solutions": bool(classroom),
        }
    )
    return config


def _downloads(framework: str, sections: list[Section], *, classroom: bool) -> dict:
    """``{docname: [[menu label, path under the site, description, file name]]}``."""
    label = LABELS[framework]
    out = {}
    for section in sections:
        links = []
        if not (classroom and section.is_exercises):
            what = "both frameworks" if section.is_parity else label
            suffix = "parity" if section.is_parity else framework
            links.append(
                [
                    f".ipynb ({what})",
                    f"{NOTEBOOKS}/{_docname(section)}.ipynb",
                    f"the {what} notebook, with its outputs",
                    f"{section.path.stem}_{suffix}.ipynb",
                ]
            )
        if section.is_graded:
            links.append(
                [
                    ".ipynb (student)",
                    f"{NOTEBOOKS}/student/{section.rel}",
                    f"the student notebook ({label}, solutions left to you)",
                    f"{section.path.stem}_{framework}_student.ipynb",
                ]
            )
        out[_docname(section)] = links
    return out


def _copy_outputs(plain, executed, where: str):
    """Copy the outputs of ``executed``'s code cells into ``plain``'s (same code)."""
    mine = [c for c in plain.cells if c.cell_type == "code"]
    theirs = [c for c in executed.cells if c.cell_type == "code"]
    if [c.source for c in mine] != [c.source for c in theirs]:
        raise SiteError(
            f"{where}: the executed notebook's code differs from the edition written "
            "from the sources now; execute it again (make book)"
        )
    for cell, done in zip(mine, theirs, strict=True):
        cell.outputs = copy.deepcopy(done.get("outputs", []))
        cell.execution_count = done.get("execution_count")


def learner_edition(
    section: Section,
    framework: str,
    executed_nb: nbformat.NotebookNode,
    *,
    bib: Bibliography | None,
    website: str | None,
) -> nbformat.NotebookNode:
    """The notebook a learner downloads from a page: the framework's edition (or the
    parity section) in plain Markdown, the Colab set-up cell first, with the outputs
    of the execution the page shows."""
    if section.is_parity:
        nb = copy.deepcopy(executed_nb)
        counter = [0]
        cells = []
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = myst_to_markdown(
                    cell.source, chapter=section.chapter, counter=counter, bib=bib
                )
                if not cell.source.strip():
                    continue
            cells.append(cell)
        nb.cells = cells
    else:
        source = nbformat.read(section.path, as_version=4)
        nb = framework_notebook(
            source,
            framework,
            chapter=section.chapter,
            section=section.label,
            bib=bib,
            website=website,
        )
        _copy_outputs(nb, executed_nb, f"section {section.label} ({framework})")
    nb.metadata.pop(DIGEST_KEY, None)
    return nb


def _opens(cell, directive: str) -> bool:
    text = cell.source.lstrip()
    return cell.cell_type == "markdown" and any(
        text.startswith(fence + "{" + directive + "}") for fence in ("```", ":::")
    )


def hide_solutions(nb: nbformat.NotebookNode, where: str) -> nbformat.NotebookNode:
    """Remove the worked solutions of an executed exercises section (a classroom
    build): every cell from a ``solution-start`` to its ``solution-end``, and every
    cell tagged ``solution`` (``{solution}`` blocks inside Markdown go by
    sphinx-exercise's ``hide_solutions``).

    Raises:
        SiteError: a gate is not closed, or a ``solution`` cell stands outside one.
    """
    cells, inside = [], False
    for index, cell in enumerate(nb.cells):
        if _opens(cell, "solution-start"):
            inside = True
            continue
        if _opens(cell, "solution-end"):
            if not inside:
                raise SiteError(f"{where}: cell {index}: solution-end without a start")
            inside = False
            continue
        if inside:
            continue
        if "solution" in cell.get("metadata", {}).get("tags", []):
            raise SiteError(
                f"{where}: cell {index} is tagged solution outside a "
                "solution-start/solution-end gate"
            )
        cells.append(cell)
    if inside:
        raise SiteError(f"{where}: a solution-start has no solution-end")
    nb.cells = cells
    return nb


def _prepare_folder(path: Path) -> None:
    """Empty a folder this module wrote (its marker), or create it; refuse others."""
    path = Path(path)
    if path.is_symlink():
        raise SiteError(f"{path} is a symbolic link; refusing to write through it")
    if path.exists():
        if not (path / MARKER).is_file():
            raise SiteError(
                f"{path} exists and was not written by coursetools.site (no {MARKER} "
                "file); move it away or choose another folder"
            )
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / MARKER).write_text("written by python -m coursetools site\n")


def _ours(path: Path) -> bool:
    """Written by this module (its marker), or a Sphinx HTML build (``.buildinfo``:
    what ``make book`` wrote before the two sites)."""
    return (path / MARKER).is_file() or (path / ".buildinfo").is_file()


def _remove_ours(path: Path) -> None:
    path = Path(path)
    if path.is_symlink() or not path.exists():
        return
    if not _ours(path):
        raise SiteError(
            f"{path} was not written by coursetools.site (no {MARKER} file); "
            "leaving it alone"
        )
    shutil.rmtree(path)


def write_source(
    framework: str,
    sections: list[Section],
    staged: list[Staged],
    executed: Path,
    target: Path,
    *,
    classroom: bool = False,
    root: Path = ROOT,
) -> Path:
    """Write the source tree of one site (see the module's docstring).

    Args:
        framework: ``"pytorch"`` or ``"tensorflow"``.
        sections: the course's sections (:func:`coursetools.sections.discover`).
        staged: their staged notebooks (:func:`coursetools.build.staged_notebooks`).
        executed: the folder of executed notebooks (``_executed``).
        target: the folder to write (emptied first if this module wrote it).
        classroom: hide solutions; offer only the student notebook of an exercises
            section.
        root: the repository (templates, ``book/``).

    Returns:
        ``target``.

    Raises:
        SiteError: a notebook the site needs is missing, stale or failed
            (:func:`check_executed`), or the templates are malformed.
    """
    from .student import student_edition

    items = site_items(staged, framework)
    problems = check_executed(items, executed)
    if problems:
        raise SiteError(
            f"the {LABELS[framework]} site cannot be built:\n" + "\n".join(problems)
        )
    target = Path(target)
    _prepare_folder(target)
    shutil.copytree(
        Path(root) / "book",
        target / "book",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    bib = Bibliography.read(Path(root) / "book" / "references.bib")
    url, _ = repository(Path(root) / "_config.yml")
    website = pages_url(url)
    extra = target / "_extra" / NOTEBOOKS
    for item in items:
        section = item.section
        nb = nbformat.read(Path(executed) / item.rel, as_version=4)
        page = copy.deepcopy(nb)
        if classroom and section.is_exercises:
            hide_solutions(page, _who(item))
        write_notebook(page, target / f"{_docname(section)}.ipynb")
        if not (classroom and section.is_exercises):
            edition = learner_edition(section, framework, nb, bib=bib, website=website)
            write_notebook(edition, extra / f"{_docname(section)}.ipynb")
        if section.is_graded:
            source = nbformat.read(section.path, as_version=4)
            student = student_edition(
                source, framework, chapter=section.chapter, bib=bib
            )
            student.metadata.pop(DIGEST_KEY, None)
            write_notebook(student, extra / "student" / section.rel)
            if classroom:  # the Colab button opens the student notebook
                write_notebook(student, extra / f"{_docname(section)}.ipynb")
    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    site_sections = [i.section for i in items]
    (target / "_config.yml").write_text(
        yaml.safe_dump(
            site_config(config, framework, site_sections, classroom=classroom),
            sort_keys=False,
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    (target / "_toc.yml").write_text(
        yaml.safe_dump(
            table_of_contents(toc, site_sections), sort_keys=False, allow_unicode=True
        ),
        encoding="utf-8",
    )
    return target


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------


def _jupyter_book() -> str:
    path = Path(sys.executable).parent / "jupyter-book"
    if not path.exists():
        raise SiteError(f"{path} not found: run `make venv` (the book extra)")
    return str(path)


def _start_build(source: Path, output: Path, log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    handle = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    proc = subprocess.Popen(
        [
            _jupyter_book(),
            "build",
            str(source),
            "--path-output",
            str(output),
            "-W",
            "-n",
            "--keep-going",
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    proc.log_handle = handle
    return proc


def _finish_build(proc: subprocess.Popen, framework: str, log: Path) -> float:
    code = proc.wait()
    proc.log_handle.close()
    if code != 0:
        text = log.read_text(encoding="utf-8", errors="replace")
        lines = [
            line
            for line in text.splitlines()
            if any(w in line for w in ("WARNING", "ERROR", "Error", "Reason:"))
        ]
        raise SiteError(
            f"the {LABELS[framework]} site's build failed (exit {code}); log: {log}\n"
            + "\n".join(lines[-40:] or text.splitlines()[-40:])
        )
    return code


def build_site(source: Path, output: Path, log: Path, framework: str) -> Path:
    """Build one site's HTML from its source tree (:func:`write_source`).

    Returns:
        The HTML folder (``output/_build/html``).

    Raises:
        SiteError: the build failed or printed a warning (the log's last lines).
    """
    proc = _start_build(Path(source), Path(output), Path(log))
    _finish_build(proc, framework, Path(log))
    return Path(output) / "_build" / "html"


def index_page(frameworks=FRAMEWORKS) -> str:
    """``_build/html/index.html``: opens the site of the framework chosen last (the
    same localStorage key as book/_static/framework-site.js), PyTorch by default."""
    default = frameworks[0]
    links = " | ".join(
        f'<a href="{fw}/index.html">{LABELS[fw]}</a>' for fw in frameworks
    )
    known = json.dumps(list(frameworks))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Recommender Systems with Deep Learning</title>
<script>
(function () {{
  var choice = "{default}";
  try {{
    var saved = window.localStorage.getItem("recsys-course-framework");
    if ({known}.indexOf(saved) >= 0) choice = saved;
  }} catch (e) {{}}
  window.location.replace(choice + "/index.html" + window.location.hash);
}})();
</script>
<noscript><meta http-equiv="refresh" content="0; url={default}/index.html"></noscript>
</head>
<body>
<p>Recommender Systems with Deep Learning, in {links}.</p>
</body>
</html>
"""


def _fingerprint(executed: Path, items: list[Staged], root: Path, classroom: bool):
    """A hash of everything a site is built from (to tell a current build)."""
    h = hashlib.sha256()
    h.update(f"classroom={classroom}".encode())
    for item in items:
        h.update(item.rel.encode())
        h.update((Path(executed) / item.rel).read_bytes())
    for path in sorted((Path(root) / "book").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    for name in ("_config.yml", "_toc.yml", "coursetools/site.py"):
        h.update((Path(root) / name).read_bytes())
    return h.hexdigest()


@dataclass
class Built:
    """What :func:`render` built: the HTML folder and each site's build seconds."""

    html: Path
    seconds: dict


def render(
    *,
    frameworks=FRAMEWORKS,
    executed: Path = ROOT / "_executed",
    html: Path = ROOT / "_build" / "html",
    work: Path = ROOT / "_build" / "site",
    logs: Path = ROOT / "_build" / "logs",
    chapters: Path = CHAPTERS,
    classroom: bool = False,
    root: Path = ROOT,
    reuse: bool = False,
) -> Built:
    """Build the sites of ``frameworks`` from the executed notebooks, in parallel, and
    publish them into ``html`` only if every one built.

    With both frameworks, ``html`` is replaced as a whole (built beside it, then
    moved); with one, only ``html/<framework>`` is. On any failure the folder being
    replaced is removed, so no site that looks finished is left, and
    :class:`SiteError` says which section and cell (or which build) failed.

    Args:
        reuse: keep a site already in ``html`` that was built from exactly the same
            inputs (its fingerprint), instead of building it again.
    """
    frameworks = tuple(frameworks)
    bib = Bibliography.read(Path(root) / "book" / "references.bib")
    sections = discover(chapters)
    staged = staged_notebooks(sections, bib)
    html, work, logs = Path(html), Path(work), Path(logs)
    whole = set(frameworks) == set(FRAMEWORKS)
    fingerprints = {}
    for framework in frameworks:
        items = site_items(staged, framework)
        problems = check_executed(items, executed)
        if problems:
            _discard(html, frameworks, whole)
            raise SiteError(
                f"the {LABELS[framework]} site cannot be built:\n" + "\n".join(problems)
            )
        fingerprints[framework] = _fingerprint(executed, items, root, classroom)
    todo = [
        fw
        for fw in frameworks
        if not (
            reuse
            and (html / fw / MARKER).is_file()
            and (html / fw / MARKER).read_text().strip() == fingerprints[fw]
        )
    ]
    if not todo:
        return Built(html, {})
    seconds = {}
    procs = {}
    try:
        for framework in todo:
            write_source(
                framework,
                sections,
                staged,
                executed,
                work / framework,
                classroom=classroom,
                root=root,
            )
            output = work / f"{framework}.out"
            _prepare_folder(output)
            procs[framework] = (
                _start_build(work / framework, output, logs / f"site-{framework}.log"),
                time.perf_counter(),
            )
        failures = []
        for framework, (proc, start) in procs.items():
            try:
                _finish_build(proc, framework, logs / f"site-{framework}.log")
                seconds[framework] = time.perf_counter() - start
            except SiteError as err:
                failures.append(str(err))
        if failures:
            raise SiteError("\n".join(failures))
    except BaseException:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        _discard(html, frameworks, whole)
        raise
    built = {fw: work / f"{fw}.out" / "_build" / "html" for fw in todo}
    for framework, folder in built.items():
        (folder / MARKER).write_text(fingerprints[framework] + "\n")
        _check_published(folder, framework)
    if whole:
        fresh = html.with_name(html.name + ".new")
        _prepare_folder(fresh)
        for framework in FRAMEWORKS:
            source = built.get(framework, html / framework)
            shutil.move(str(source), str(fresh / framework))
        _finish_root(fresh)
        _remove_ours(html)
        fresh.rename(html)
    else:
        # one framework (the tests build each site on its own worker): only its
        # folder is replaced; the other site, built at the same time, is left alone
        if html.is_symlink():
            raise SiteError(f"{html} is a symbolic link; refusing to write through it")
        if (html / ".buildinfo").is_file() and not (html / MARKER).is_file():
            shutil.rmtree(html)  # the single site `make book` wrote before
        html.mkdir(parents=True, exist_ok=True)
        if not (html / MARKER).is_file():
            if not all(_root_entry(p) for p in html.iterdir()):
                raise SiteError(
                    f"{html} was not written by coursetools.site (no {MARKER}); "
                    "leaving it alone"
                )
            (html / MARKER).write_text("written by python -m coursetools site\n")
        for framework, folder in built.items():
            _remove_ours(html / framework)
            shutil.move(str(folder), str(html / framework))
        _finish_root(html)
    return Built(html, seconds)


def _root_entry(path: Path) -> bool:
    """An entry of the HTML root this module writes (the other worker's site, built
    at the same time, may already be there)."""
    if path.name in (MARKER, "index.html", ".nojekyll"):
        return True
    return path.name in FRAMEWORKS and (path / MARKER).is_file()


def _finish_root(html: Path) -> None:
    # replaced, never rewritten in place: the tests build the two sites on two
    # workers at once, and one may read the root page while the other writes it
    _replace(html / "index.html", index_page())
    _replace(html / ".nojekyll", "")  # GitHub Pages: serve _static/, _images/


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in one step (a reader sees the old file or the
    new one)."""
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


def _discard(html: Path, frameworks, whole: bool) -> None:
    """A build failed: remove what would look like a finished site (only what this
    module wrote; anything else is left, and the error in flight is the one raised).
    """
    for path in [html] if whole else [html / fw for fw in frameworks]:
        try:
            _remove_ours(path)
        except SiteError as err:
            print(f"note: {err}", file=sys.stderr)


def _check_published(folder: Path, framework: str) -> None:
    """What must never be published: execution reports, build logs, sources."""
    bad = [
        p.relative_to(folder)
        for pattern in ("reports", "*.log", "_sources", ".doctrees")
        for p in folder.glob(pattern)
    ]
    if bad:
        raise SiteError(f"the {LABELS[framework]} site holds {bad}; not publishing it")


# ---------------------------------------------------------------------------
# Command line (python -m coursetools site)
# ---------------------------------------------------------------------------


def main(args) -> int:
    """``python -m coursetools site``: see ``--help``."""
    root = Path(args.root)
    frameworks = tuple(args.framework or FRAMEWORKS)
    try:
        if args.execute:
            bib = Bibliography.read(root / "book" / "references.bib")
            staged = staged_notebooks(discover(args.chapters), bib)
            no_data = args.no_data
            if no_data is None:
                no_data = Path(args.work).parent / "no-data"
                no_data.mkdir(parents=True, exist_ok=True)
            execute_missing(
                staged,
                args.executed,
                no_data=Path(no_data),
                jobs=args.jobs,
                timeout=args.timeout,
            )
        built = render(
            frameworks=frameworks,
            executed=args.executed,
            html=args.html,
            work=args.work,
            logs=args.logs,
            chapters=args.chapters,
            classroom=args.classroom,
            root=root,
        )
    except SiteError as err:
        print(f"make book failed; nothing was published.\n{err}", file=sys.stderr)
        return 1
    for framework, seconds in built.seconds.items():
        print(f"built the {LABELS[framework]} site in {seconds:.0f} s")
    what = " (classroom: solutions hidden)" if args.classroom else ""
    print(f"The website is at {Path(args.html) / 'index.html'}{what}")
    return 0


def add_arguments(parser) -> None:
    """The ``site`` subcommand's options."""
    parser.add_argument(
        "--executed", type=Path, default=ROOT / "_executed", help="(_executed)"
    )
    parser.add_argument(
        "--html", type=Path, default=ROOT / "_build" / "html", help="(_build/html)"
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=ROOT / "_build" / "site",
        help="the sites' source trees (_build/site)",
    )
    parser.add_argument(
        "--logs", type=Path, default=ROOT / "_build" / "logs", help="(_build/logs)"
    )
    parser.add_argument("--chapters", type=Path, default=CHAPTERS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--framework",
        action="append",
        choices=FRAMEWORKS,
        help="build only this framework's site (repeatable; default both)",
    )
    parser.add_argument(
        "--execute",
        action="store_true",
        help="first execute the notebooks that are missing, stale or failed",
    )
    parser.add_argument(
        "--no-data",
        type=Path,
        default=None,
        help="where the kernels look for MovieLens-100K (default: an empty folder)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="groups executed at once")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument(
        "--classroom",
        action="store_true",
        help="hide the solutions; offer only student notebooks of exercises",
    )
