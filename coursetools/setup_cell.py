"""The set-up cell every notebook starts with: on Colab, install ``recsys_utils``.

A learner who opens a chapter (or a per-framework edition) from the website's Colab
button gets a bare Colab runtime: PyTorch, TensorFlow and the scientific stack are
there, ``recsys_utils`` is not. The first code cell of every notebook therefore
installs the package, with the extras the notebook imports, from the repository
address in ``_config.yml`` (``repository.url`` and ``repository.branch``: the one
place it is written). The version ranges of pyproject.toml admit Colab's own
releases, so pip keeps Colab's PyTorch and TensorFlow. Anywhere else (a local
environment, the book build, CI) the cell does nothing.

The cell is written by this module, never by hand: ``python -m coursetools setup-cell
NOTEBOOKS`` (and ``python -m coursetools clean``) insert or refresh it, idempotently,
just before the notebook's first code cell; the per-framework editions get their own,
with that framework's extras. It is tagged ``remove-cell``, so the website does not
show it (the website runs in the course's environment).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # recsys_utils from this checkout, installed or not
    sys.path.insert(0, str(ROOT))

from recsys_utils._extras import EXTRA_MODULES, MODULE_EXTRA  # noqa: E402

from .pyimports import imported_modules  # noqa: E402

__all__ = [
    "MARKER",
    "TAGS",
    "CORE_MODULES",
    "repository",
    "notebook_extras",
    "unprovided_imports",
    "setup_cell_source",
    "is_setup_cell",
    "ensure_setup_cell",
]

#: The first line of every set-up cell: how the tooling recognises one.
MARKER = "# Set-up on Google Colab: install the course's helper package recsys_utils"
#: The website hides the cell (it runs in the course's environment).
TAGS = ["remove-cell"]
#: Modules a notebook may import without an extra: the package's core dependencies,
#: and what every Jupyter kernel has.
CORE_MODULES = frozenset(
    {
        "recsys_utils",
        "numpy",
        "scipy",
        "pandas",
        "sklearn",
        "matplotlib",
        "tqdm",
        "filelock",
        "IPython",
        "ipykernel",
    }
)


# The cell's code, already formatted as ruff formats it (tests/test_setup_cell.py).
_TEMPLATE = """\
{marker}
# with what this notebook needs; Colab's own PyTorch and TensorFlow are kept.
# Anywhere else this cell does nothing. (Written by `python -m coursetools
# setup-cell`: edit coursetools/setup_cell.py, not the cell.)
import sys

if "google.colab" in sys.modules:
    import subprocess

{requirement}
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", requirement], check=True
    )"""


def repository(config: str | Path = ROOT / "_config.yml") -> tuple[str, str]:
    """The repository's address and branch, from the book's configuration.

    Args:
        config: the Jupyter Book ``_config.yml`` holding ``repository.url`` and
            ``repository.branch``.

    Returns:
        ``(url, branch)``, e.g. ``("https://github.com/owner/name", "main")``.

    Raises:
        ValueError: when the file lacks ``repository.url`` or the address is not
            an ``https://`` address.
    """
    return _repository_in(str(config), Path(config).read_text())


@functools.lru_cache(maxsize=8)
def _repository_in(config: str, text: str) -> tuple[str, str]:
    # Parsed once per content: the site build asks for every notebook, 115 YAML
    # parses a build (2.2 s of 5.7 s under cProfile, which overstates them; a build
    # took 3.1-3.4 s unprofiled). The file is read on every call.
    import yaml

    data = yaml.safe_load(text) or {}
    repo = data.get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch") or "main"
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError(
            f"{config}: repository.url must be the repository's https:// address; "
            f"got {url!r}"
        )
    return url.rstrip("/"), str(branch)


def _notebook_imports(nb) -> set[str]:
    return {
        name
        for cell in nb.cells
        if cell.cell_type == "code" and not is_setup_cell(cell)
        for name in imported_modules(cell.source)
    }


def notebook_extras(nb) -> list[str]:
    """The extras a notebook needs, from the modules its code cells import.

    ``import torch`` and ``from recsys_utils import torch as rt`` need ``torch``;
    ``keras``, ``tensorflow`` and ``recsys_utils.tf`` need ``tensorflow``; and so on
    (:data:`recsys_utils._extras.MODULE_EXTRA`). An existing set-up cell is ignored.

    Args:
        nb: a notebook (nbformat v4).

    Returns:
        The extras, in the order of :data:`recsys_utils._extras.EXTRA_MODULES`.
    """
    needed = set()
    for name in _notebook_imports(nb):
        if name.startswith("recsys_utils.book.ch"):  # a chapter's exported code
            name = name.split(".")[2]
            if name.endswith("_torch"):
                needed.add("torch")
            elif name.endswith("_tf"):
                needed.add("tensorflow")
            continue
        parts = name.split(".")
        for depth in range(len(parts), 0, -1):
            extra = MODULE_EXTRA.get(".".join(parts[:depth]))
            if extra is not None:
                needed.add(extra)
                break
    return [extra for extra in EXTRA_MODULES if extra in needed]


def _written_modules(nb) -> set[str]:
    """Modules the notebook writes itself (``%%writefile name.py`` cells)."""
    written = set()
    for cell in nb.cells:
        first = cell.source.lstrip().split("\n", 1)[0].split()
        if cell.cell_type == "code" and first[:1] == ["%%writefile"] and first[1:]:
            path = first[-1]
            if path.endswith(".py"):
                written.add(path.rsplit("/", 1)[-1][:-3])
    return written


def unprovided_imports(nb) -> list[str]:
    """Top-level modules a notebook imports that neither Python, the package's core
    dependencies, any extra nor the notebook itself (a ``%%writefile`` module)
    provides: the set-up cell would not install them.

    Args:
        nb: a notebook (nbformat v4).

    Returns:
        The sorted top-level module names (empty when the set-up cell suffices).
    """
    provided = set(CORE_MODULES) | set(sys.stdlib_module_names)
    provided |= {m for modules in EXTRA_MODULES.values() for m in modules}
    provided |= _written_modules(nb)
    tops = {name.split(".", 1)[0] for name in _notebook_imports(nb)}
    return sorted(tops - provided)


def setup_cell_source(extras: list[str], url: str, branch: str = "main") -> str:
    """The code of the set-up cell (formatted as ruff formats it).

    Args:
        extras: the extras to install, e.g. ``["torch", "text"]`` (may be empty).
        url: the repository's ``https://`` address.
        branch: the branch to install from.

    Returns:
        The cell's source.

    Raises:
        ValueError: on an unknown extra or an address that is not ``https://``.
    """
    unknown = [e for e in extras if e not in EXTRA_MODULES]
    if unknown:
        raise ValueError(
            f"extras must be among {list(EXTRA_MODULES)}; got unknown {unknown}"
        )
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError(f"url must be an https:// address; got {url!r}")
    package = f"recsys_utils[{','.join(extras)}]" if extras else "recsys_utils"
    joined = f'"{package} @ git+{url}@{branch}"'
    # as ruff writes it: one line when it fits in 88 columns, else one string per line
    if len("    requirement = ") + len(joined) <= 88:
        requirement = f"    requirement = {joined}"
    elif 8 + len(joined) <= 88:
        requirement = f"    requirement = (\n        {joined}\n    )"
    else:
        requirement = (
            f'    requirement = (\n        "{package} @ "\n'
            f'        "git+{url}@{branch}"\n    )'
        )
    return _TEMPLATE.format(marker=MARKER, requirement=requirement)


def is_setup_cell(cell) -> bool:
    """Whether a cell is a set-up cell written by this module (its first line)."""
    return cell.cell_type == "code" and cell.source.startswith(MARKER)


def ensure_setup_cell(
    nb, *, url: str | None = None, branch: str | None = None
) -> nbformat.NotebookNode:
    """Insert or refresh the notebook's set-up cell, just before its first code cell.

    Any set-up cell already there is removed first, so running this twice gives the
    same notebook; the extras follow the notebook's imports at the time of the call.

    Args:
        nb: a notebook (nbformat v4), changed in place.
        url: the repository address (default: ``repository.url`` of _config.yml).
        branch: the branch (default: ``repository.branch`` of _config.yml).

    Returns:
        The same notebook, for chaining.
    """
    if url is None or branch is None:
        config_url, config_branch = repository()
        url = config_url if url is None else url
        branch = config_branch if branch is None else branch
    cells = [cell for cell in nb.cells if not is_setup_cell(cell)]
    nb.cells = cells
    cell = nbformat.v4.new_code_cell(
        setup_cell_source(notebook_extras(nb), url, branch)
    )
    cell.metadata["tags"] = list(TAGS)
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
        cell["id"] = "colab-setup"  # cell ids (nbformat 4.5): a fixed one, idempotent
    else:
        cell.pop("id", None)  # the repository's notebooks are nbformat 4.4, no ids
    first_code = next(
        (i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells)
    )
    cells.insert(first_code, cell)
    return nb
