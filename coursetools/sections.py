"""The course's layout: chapters are folders of section notebooks.

::

    chapters/03_two_tower/01_towers.ipynb       section 3.1 (both frameworks)
    chapters/03_two_tower/02_training.ipynb     section 3.2
    chapters/03_two_tower/03_parity.ipynb       section 3.3: trains both, compares
    chapters/03_two_tower/04_movielens.ipynb    section 3.4
    chapters/03_two_tower/05_exercises.ipynb    section 3.5 (every exercise)

A folder is ``NN_topic`` (``NN`` the chapter number), a section ``MM_name.ipynb``
(``MM`` its number in the chapter). Every section runs on its own from a fresh kernel.
Two kinds:

* a **framework section** holds framework-neutral cells and adjacent pairs of cells
  tagged ``pytorch`` / ``tensorflow``; it has one edition per framework, and the
  website shows each framework's edition with that framework's own outputs;
* a **parity section** (``MM_parity.ipynb``) trains both frameworks from the same
  weights on the same batches and compares them; it imports both twins from the
  chapter's exported code (:mod:`coursetools.export`), runs once, and both
  framework's websites show it.

Everything that walks the chapters (editions, student notebooks, the release, the
linter, the tests, the benchmark, the website) finds them with :func:`discover`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ROOT",
    "CHAPTERS",
    "Section",
    "discover",
    "by_chapter",
    "chapter_folders",
    "section_of",
]

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"

_CHAPTER = re.compile(r"^(?P<number>\d{2})_(?P<slug>[a-z0-9_]+)$")
_SECTION = re.compile(r"^(?P<number>\d{2})_(?P<slug>[a-z0-9_]+)\.ipynb$")
PARITY_SLUG = "parity"
EXERCISES_SLUG = "exercises"
MOVIELENS_SLUG = "movielens"


#: Chapters whose exercises section holds questions without graded checks yet, with
#: the reason: no student notebook is made for them and the graded-exercise tests skip
#: them. Every other chapter's exercises section is graded.
UNGRADED_CHAPTERS: dict[int, str] = {}


@dataclass(frozen=True)
class Section:
    """One section notebook.

    Attributes:
        path: the notebook's path.
        chapter: the chapter number (``3`` for ``03_two_tower``).
        number: the section's number in its chapter (``2`` for ``02_training``).
        chapter_dir: the chapter folder's name (``"03_two_tower"``).
        slug: the section's name without its number (``"training"``).
    """

    path: Path
    chapter: int
    number: int
    chapter_dir: str
    slug: str

    @property
    def rel(self) -> str:
        """``"03_two_tower/02_training.ipynb"``: the path under ``chapters/``, the
        same under every folder of editions, executed notebooks and the website."""
        return f"{self.chapter_dir}/{self.path.name}"

    @property
    def label(self) -> str:
        """``"3.2"``."""
        return f"{self.chapter}.{self.number}"

    @property
    def is_parity(self) -> bool:
        """Trains both frameworks and compares them (one execution, no editions)."""
        return self.slug == PARITY_SLUG

    @property
    def is_exercises(self) -> bool:
        """Holds the chapter's exercises (the one section students change)."""
        return self.slug == EXERCISES_SLUG

    @property
    def is_graded(self) -> bool:
        """An exercises section with graded checks (a student notebook is made)."""
        return self.is_exercises and self.chapter not in UNGRADED_CHAPTERS

    @property
    def is_movielens(self) -> bool:
        """Runs the chapter's pipeline on MovieLens-100K when the data is present."""
        return self.slug == MOVIELENS_SLUG


def chapter_folders(root: Path = CHAPTERS) -> list[Path]:
    """The chapter folders under ``root``, by chapter number.

    Raises:
        ValueError: a folder or notebook under ``root`` does not follow the layout
            (named, with what was expected).
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"the chapters folder {root} does not exist")
    folders = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.suffix == ".ipynb":
            raise ValueError(
                f"{entry}: a chapter is a folder of section notebooks "
                "(chapters/NN_topic/MM_name.ipynb), not a single notebook"
            )
        if not entry.is_dir():
            continue
        if not _CHAPTER.match(entry.name):
            raise ValueError(
                f"{entry}: a chapter folder is named NN_topic (two digits, then "
                "lower-case letters, digits and underscores)"
            )
        folders.append(entry)
    numbers = [int(f.name[:2]) for f in folders]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"two chapter folders share a number in {root}: {folders}")
    return folders


def discover(root: Path = CHAPTERS) -> list[Section]:
    """Every section under ``root``, in reading order (chapter, then section).

    Args:
        root: the chapters folder (``chapters/`` of the repository by default).

    Returns:
        The sections.

    Raises:
        ValueError: a name does not follow the layout, two sections of a chapter share
            a number, or a chapter has no section.
    """
    sections = []
    for folder in chapter_folders(root):
        chapter = int(folder.name[:2])
        found = []
        for path in sorted(folder.glob("*.ipynb")):
            match = _SECTION.match(path.name)
            if not match:
                raise ValueError(
                    f"{path}: a section notebook is named MM_name.ipynb (two digits, "
                    "then lower-case letters, digits and underscores)"
                )
            found.append(
                Section(
                    path=path,
                    chapter=chapter,
                    number=int(match["number"]),
                    chapter_dir=folder.name,
                    slug=match["slug"],
                )
            )
        if not found:
            raise ValueError(f"{folder}: a chapter folder holds no section notebook")
        numbers = [s.number for s in found]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"{folder}: two sections share a number: {numbers}")
        sections.extend(found)
    return sections


def by_chapter(sections: list[Section]) -> dict[int, list[Section]]:
    """``{chapter number: its sections in order}``."""
    out: dict[int, list[Section]] = {}
    for section in sections:
        out.setdefault(section.chapter, []).append(section)
    return out


def section_of(path: str | Path, root: Path = CHAPTERS) -> Section:
    """The :class:`Section` of a notebook path under ``root``.

    Raises:
        ValueError: the path is not a section notebook under ``root``.
    """
    path = Path(path).resolve()
    for section in discover(root):
        if section.path.resolve() == path:
            return section
    raise ValueError(f"{path} is not a section notebook under {root}")
