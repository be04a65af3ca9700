"""Find asserts on timings in the chapters: a race is printed, never asserted.

    python benchmarks/timing_asserts.py          # lists them; exit 1 if unreviewed

The course's rule (issue 23, item 2; CONTRIBUTING.md "Claims"): a chapter may assert
a speed claim only as a ratio measured within one process, best of several repeats,
with a margin of at least 3x over its bound (IVF at least 10x faster than exact
search, measured at 76x); two methods within 3x of each other are printed with the
measurement, never asserted. This module finds, statically, every ``assert``
statement and every call of a function named ``assert...`` (``ru.assert_claim``,
``np.testing.assert_array_less``, ...) in the code cells of every section whose
expression mentions a timing word (:data:`TIMING_WORDS`, matched against the words of
its identifiers, attributes and strings: ``exact_ms``, ``speedup``,
``time.perf_counter``, ``"IVF speed-up"``; an assert's message is not read). Each
must be listed, with the reviewer's reason and the measured margin, in
benchmarks/timing_asserts.yml; tests/test_timing_asserts.py fails otherwise, and on
an entry that matches no assert any more.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from coursetools.pyimports import strip_magics  # noqa: E402

REVIEWED = ROOT / "benchmarks" / "timing_asserts.yml"
#: The smallest margin a reviewed speed assert may have (its ratio over its bound).
MIN_MARGIN = 3.0

#: Words that make an expression about time (compared with the lower-cased words of
#: identifiers split at underscores, digits and case changes, and of strings).
TIMING_WORDS = frozenset(
    """
    speed speeds speedup speedups faster slower quicker qps fps rps throughput
    latency latencies time times timing timings timed timer timeit elapsed
    duration durations runtime runtimes walltime wall clock perf
    second seconds sec secs ms msec millisecond milliseconds us usec
    microsecond microseconds ns nanosecond nanoseconds minute minutes
    """.split()
)


@dataclass(frozen=True)
class TimingAssert:
    """One assert whose expression mentions timings.

    Attributes:
        section: the section's path under chapters/ (``"07_scaling/03_faiss.ipynb"``).
        cell: the code cell's index in the notebook.
        source: the assert's code, whitespace collapsed (its message left out).
        words: the timing words found.
    """

    section: str
    cell: int
    source: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"chapters/{self.section}, cell {self.cell}: {self.source}  "
            f"[{', '.join(self.words)}]"
        )


def words_of(text: str) -> list[str]:
    """``"exact_ms"`` -> ``["exact", "ms"]``; ``"perfCounter"`` -> ``["perf",
    "counter"]``; ``"IVF speed-up"`` -> ``["ivf", "speed", "up"]``."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return [w.lower() for w in re.split(r"[^A-Za-z]+", spaced) if w]


def _mentions(node: ast.AST) -> list[str]:
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found += words_of(sub.id)
        elif isinstance(sub, ast.Attribute):
            found += words_of(sub.attr)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            found += words_of(sub.value)
        elif isinstance(sub, ast.keyword) and sub.arg:
            found += words_of(sub.arg)
    return sorted({w for w in found if w in TIMING_WORDS})


def _called(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return getattr(func, "id", "")


def find_in_source(source: str) -> list[tuple[str, tuple[str, ...]]]:
    """The timing asserts of one cell: ``(code, words)`` each."""
    code = strip_magics(source)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            words = _mentions(node.test)
            segment = ast.get_source_segment(code, node.test) or ""
            text = f"assert {segment}"
        elif isinstance(node, ast.Call) and _called(node).startswith("assert"):
            words = _mentions(node)
            text = ast.get_source_segment(code, node) or ""
        else:
            continue
        if words:
            found.append((" ".join(text.split()), tuple(words)))
    return found


def find(sections: list) -> list[TimingAssert]:
    """Every timing assert in the code cells of ``sections``."""
    out = []
    for section in sections:
        nb = nbformat.read(section.path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            for source, words in find_in_source(cell.source):
                out.append(TimingAssert(section.rel, index, source, words))
    return out


@dataclass(frozen=True)
class Reviewed:
    """An assert a person reviewed as a fair speed claim.

    Attributes:
        section: the section's path under chapters/.
        source: the assert's code exactly as :class:`TimingAssert` shows it.
        reason: what is measured and how (a ratio within one process, best of N).
        margin: the measured ratio over the asserted bound (at least 3).
    """

    section: str
    source: str
    reason: str
    margin: float


def read_reviewed(path: Path = REVIEWED) -> list[Reviewed]:
    """The reviewed list (a missing file: empty).

    Raises:
        ValueError: an entry is not a mapping with a non-empty ``section``,
            ``assert`` and ``reason`` and a ``margin`` number of at least 3.
    """
    if not Path(path).is_file():
        return []
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a list of entries, got {type(data)}")
    out = []
    for number, entry in enumerate(data):
        ok = isinstance(entry, dict) and all(
            isinstance(entry.get(k), str) and entry[k].strip()
            for k in ("section", "assert", "reason")
        )
        margin = entry.get("margin") if isinstance(entry, dict) else None
        if not ok or isinstance(margin, bool) or not isinstance(margin, (int, float)):
            raise ValueError(
                f"{path}, entry {number}: expected section, assert and reason (non-"
                f"empty strings) and margin (a number); got {entry!r}"
            )
        if margin < MIN_MARGIN:
            raise ValueError(
                f"{path}, entry {number}: margin {margin} is below {MIN_MARGIN:g}: a "
                "speed comparison within 3x is printed, never asserted"
            )
        out.append(
            Reviewed(
                entry["section"],
                " ".join(entry["assert"].split()),
                entry["reason"],
                float(margin),
            )
        )
    return out


def unreviewed(
    found: list[TimingAssert], reviewed: list[Reviewed]
) -> tuple[list[TimingAssert], list[Reviewed]]:
    """(timing asserts not on the list, entries that match no assert any more)."""
    keys = {(r.section, r.source) for r in reviewed}
    seen = {(f.section, f.source) for f in found}
    return (
        [f for f in found if (f.section, f.source) not in keys],
        [r for r in reviewed if (r.section, r.source) not in seen],
    )


def main() -> int:
    from coursetools.sections import discover

    found = find(discover())
    missing, stale = unreviewed(found, read_reviewed())
    for f in found:
        print(("UNREVIEWED " if f in missing else "reviewed   ") + str(f))
    for r in stale:
        print(f"STALE entry (matches no assert): chapters/{r.section}: {r.source}")
    print(f"{len(found)} timing asserts, {len(missing)} unreviewed, {len(stale)} stale")
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
