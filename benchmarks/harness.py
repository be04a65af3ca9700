"""What the measuring commands share: settings, seeds, a burner, one run of a notebook.

``make parity``, ``make claims``, ``make stress`` and ``make bench``
(benchmarks/parity.py, claims_margins.py, stress.py, run_notebooks.py) all execute
the staged notebooks of the sections that :func:`coursetools.sections.discover` finds
(coursetools/build.py stages them as CI does), each in a fresh process and kernel
through nbmake's runner (:func:`coursetools.build.execute`), under a
:class:`Setting`: the thread counts of each framework, oneDNN, OpenMP and the seed.

* The seed is changed by rewriting the section's ``SEED = 0`` line in the staged copy
  (:func:`with_seed`): the course's convention is that everything random in a section
  derives from it.
* The burner (:class:`Burner`) keeps one core busy: one process spinning, pinned to
  the last CPU, killed when the command ends however it ends (it also exits by
  itself if its parent dies).
* :func:`run_notebook` executes one notebook and returns its wall time, peak memory
  and the cells that failed (index, error, first line of the cell).
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

#: The environment as the command got it, before importing the course's code (which
#: sets defaults such as OMP_WAIT_POLICY): the kernels start from this one.
BASE_ENV = dict(os.environ)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from coursetools.build import kind_env, staged_notebooks  # noqa: E402
from coursetools.notebooks import (  # noqa: E402
    VARIES,
    Bibliography,
    cell_tags,
    write_notebook,
)
from coursetools.record import cpu_model  # noqa: E402
from coursetools.sections import Section, by_chapter, discover  # noqa: E402

__all__ = [
    "ROOT",
    "BASE_ENV",
    "TORCH_THREADS_ENV",
    "Setting",
    "FACTORS",
    "LEARNER",
    "CI",
    "all_settings",
    "pairwise_settings",
    "each_value_settings",
    "with_seed",
    "seed_lines",
    "Burner",
    "RunResult",
    "run_notebook",
    "stage_sections",
    "read_log",
    "machine",
    "sections_from",
    "handle_termination",
]

#: The course's variable for PyTorch's intra-op threads (recsys_utils/torch.py).
TORCH_THREADS_ENV = "RECSYS_TORCH_THREADS"

#: The factors of issue 23, item 1, and their values (None: unset, the default).
FACTORS: dict[str, tuple] = {
    "torch_threads": (None, 1, 2),
    "tf_threads": (None, 1, 2),
    "onednn": (0, 1),
    "omp": (None, 1),
    "seed": (0, 1, 2),
}


@dataclass(frozen=True)
class Setting:
    """One combination of the factors a notebook runs under.

    Attributes:
        torch_threads: PyTorch's intra-op threads (``$RECSYS_TORCH_THREADS``); None:
            the course's default (recsys_utils/torch.py).
        tf_threads: TensorFlow's intra- and inter-op threads
            (``$TF_NUM_INTRAOP_THREADS``, ``$TF_NUM_INTEROP_THREADS``); None: the
            course's default (recsys_utils/tf.py).
        onednn: ``$TF_ENABLE_ONEDNN_OPTS`` (0 or 1); None: TensorFlow's default.
        omp: ``$OMP_NUM_THREADS``; None: unset.
        seed: the value the section's ``SEED = 0`` line is rewritten to.
    """

    torch_threads: int | None = None
    tf_threads: int | None = None
    onednn: int | None = None
    omp: int | None = None
    seed: int = 0

    def env(self) -> dict[str, str | None]:
        """The environment of the kernel: a value, or None for "remove it"."""

        def text(value):
            return None if value is None else str(value)

        return {
            TORCH_THREADS_ENV: text(self.torch_threads),
            "TF_NUM_INTRAOP_THREADS": text(self.tf_threads),
            "TF_NUM_INTEROP_THREADS": text(self.tf_threads),
            "TF_ENABLE_ONEDNN_OPTS": text(self.onednn),
            "OMP_NUM_THREADS": text(self.omp),
        }

    def label(self) -> str:
        """``"torch 1, tf default, oneDNN 0, OMP unset, seed 2"``."""

        def show(value, unset="default"):
            return unset if value is None else str(value)

        return (
            f"torch {show(self.torch_threads)}, tf {show(self.tf_threads)}, "
            f"oneDNN {show(self.onednn)}, OMP {show(self.omp, 'unset')}, "
            f"seed {self.seed}"
        )

    def as_dict(self) -> dict:
        return {
            "torch_threads": self.torch_threads,
            "tf_threads": self.tf_threads,
            "onednn": self.onednn,
            "omp": self.omp,
            "seed": self.seed,
        }


#: The learner's setting (nothing set) and CI's (make test: one thread per kernel).
LEARNER = Setting(onednn=1)
CI = Setting(torch_threads=None, tf_threads=1, onednn=1, omp=1)


def all_settings() -> list[Setting]:
    """The full product of :data:`FACTORS` (108 settings)."""
    names = list(FACTORS)
    return [
        Setting(**dict(zip(names, values)))
        for values in itertools.product(*(FACTORS[n] for n in names))
    ]


def _pairs(setting: Setting) -> set[tuple]:
    values = setting.as_dict()
    names = list(FACTORS)
    return {
        (a, values[a], b, values[b])
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }


def pairwise_settings(required: Iterable[Setting] = (LEARNER, CI)) -> list[Setting]:
    """A small set of settings in which every pair of values of any two factors
    occurs together at least once (a pairwise covering design), starting with
    ``required``.

    Greedy and deterministic: after the required settings, repeatedly add the setting
    of the full product that covers the most pairs not yet covered (the first such,
    in the product's order), until every pair is covered. For the factors of
    :data:`FACTORS` this gives 11 settings instead of 108; each value of each factor
    appears, and so does each combination of any two factors' values.
    """
    candidates = all_settings()
    wanted = set().union(*(_pairs(s) for s in candidates))
    chosen = list(required)
    covered = set().union(*(_pairs(s) for s in chosen)) if chosen else set()
    while covered != wanted:
        best = max(candidates, key=lambda s: len(_pairs(s) - covered))
        chosen.append(best)
        covered |= _pairs(best)
    return chosen


def each_value_settings(required: Iterable[Setting] = (LEARNER, CI)) -> list[Setting]:
    """A smaller design than :func:`pairwise_settings`: every value of every factor
    occurs in at least one run (a 1-wise covering design), starting with
    ``required``; 4 settings for :data:`FACTORS` instead of 11. For a quick
    measurement of a new parity section; the pairwise design is the reference.

    Greedy and deterministic, as :func:`pairwise_settings`.
    """

    def values(setting: Setting) -> set[tuple]:
        return set(setting.as_dict().items())

    candidates = all_settings()
    wanted = set().union(*(values(s) for s in candidates))
    chosen = list(required)
    covered = set().union(*(values(s) for s in chosen)) if chosen else set()
    while covered != wanted:
        best = max(candidates, key=lambda s: len(values(s) - covered))
        chosen.append(best)
        covered |= values(best)
    return chosen


# ---------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------

_SEED_LINE = re.compile(r"^(SEED\s*=\s*)(\d+)(\s*(?:#.*)?)$", re.M)


def seed_lines(nb: nbformat.NotebookNode) -> int:
    """How many top-level ``SEED = <int>`` lines the notebook's code cells hold."""
    return sum(
        len(_SEED_LINE.findall(c.source)) for c in nb.cells if c.cell_type == "code"
    )


def with_seed(nb: nbformat.NotebookNode, seed: int) -> int:
    """Rewrite every top-level ``SEED = <int>`` line of ``nb`` to ``SEED = seed``
    (in place); the number of lines rewritten (0: the section binds no seed)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source, n = _SEED_LINE.subn(
            lambda m: f"{m.group(1)}{seed}{m.group(3)}", cell.source
        )
        count += n
    return count


# ---------------------------------------------------------------------------
# The burner
# ---------------------------------------------------------------------------

_SPIN = r"""
import os, sys
parent = int(sys.argv[1])
try:
    os.sched_setaffinity(0, {int(sys.argv[2])})
except (AttributeError, OSError):
    pass
while True:
    for _ in range(2_000_000):
        pass
    if os.getppid() != parent:  # the command that started it is gone: stop
        break
"""


class Burner:
    """Keep one CPU core busy while the ``with`` block runs.

    One process spins in a Python loop, pinned to the last CPU this process may use
    (``os.sched_setaffinity``), and checks about every 0.1 s that the process that
    started it is still alive (it exits if not). Leaving the block, or an exception,
    or SIGTERM (see :func:`handle_termination`) kills it and waits for it.
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.proc: subprocess.Popen | None = None

    @property
    def cpu(self) -> int:
        try:
            return max(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            return (os.cpu_count() or 1) - 1

    def __enter__(self) -> Burner:
        if self.enabled:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _SPIN, str(os.getpid()), str(self.cpu)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@contextmanager
def handle_termination() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit, so ``with`` blocks (the burner, the
    scratch folders) clean up when the command is stopped."""

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    saved = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


# ---------------------------------------------------------------------------
# Staging and running
# ---------------------------------------------------------------------------


def sections_from(root: Path | None = None) -> list[Section]:
    """The sections under ``root`` (default: the course's ``chapters/``)."""
    return discover(root) if root is not None else discover()


def stage_sections(
    sections: list[Section],
    kinds: Iterable[str],
    target: Path,
    *,
    seed: int | None = None,
) -> list[tuple[Section, str, Path, int]]:
    """Write the staged notebooks of ``sections`` of the given kinds under ``target``
    (``target/<kind>/<rel>``), each with its ``SEED`` line rewritten to ``seed``.

    Returns:
        ``(section, kind, path, seed lines rewritten)`` in reading order.
    """
    kinds = set(kinds)
    bib = Bibliography.read(ROOT / "book" / "references.bib")
    out = []
    for item in staged_notebooks(sections, bib):
        if item.kind not in kinds:
            continue
        nb = item.notebook
        rewritten = with_seed(nb, seed) if seed is not None else seed_lines(nb)
        path = Path(target) / item.rel
        write_notebook(nb, path)
        out.append((item.section, item.kind, path, rewritten))
    return out


@dataclass
class RunResult:
    """One execution of one notebook."""

    wall: float
    peak_mib: float
    failures: list[dict] = field(default_factory=list)
    error: str = ""  # the runner itself failed (no executed notebook)
    outputs: list[str] = field(default_factory=list)
    cpu: float = float("nan")  # the kernel's CPU seconds (user + system)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.error


_RUNNER = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from coursetools.build import execute
start = time.perf_counter()
problems = execute(Path(sys.argv[1]), timeout=int(sys.argv[2]))
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "peak_mib": usage.ru_maxrss / 1024,
                  "cpu": usage.ru_utime + usage.ru_stime, "problems": problems}))
"""


# A number; an address (0x7f...) is matched to be kept: the benchmark drops repr lines.
_NUMBER = re.compile(r"0x[0-9a-f]+|\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")


def _printed(index: int, text: str, varies: bool) -> str:
    """A cell's printed text, each line labelled with the cell's index; every number
    masked, and runs of spaces made one, in a cell tagged ``varies-between-runs``
    (timings, a free port)."""
    lines = text.splitlines()
    if varies:  # a table's columns widen with its numbers: spaces collapsed too
        lines = [
            " ".join(
                _NUMBER.sub(lambda m: m[0] if m[0][:2] == "0x" else "<n>", line).split()
            )
            for line in lines
        ]
    return "\n".join(f"[cell {index}] {line}" for line in lines)


def _failures(path: Path) -> tuple[list[dict], list[str]]:
    """The failed cells of an executed notebook, and what its cells printed (see
    :func:`_printed`)."""
    nb = nbformat.read(path, as_version=4)
    failures, texts = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        varies = VARIES in cell_tags(cell)
        head = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                failures.append(
                    {
                        "cell": index,
                        "error": f"{out.get('ename')}: {out.get('evalue', '')}"[:400],
                        "source": head[:100],
                    }
                )
            elif kind == "stream" and out.get("name") == "stdout":
                texts.append(_printed(index, out.get("text", ""), varies))
            elif "data" in out and "text/plain" in out["data"]:
                texts.append(_printed(index, out["data"]["text/plain"], varies))
        if cell.get("execution_count") is None and cell.source.strip() and failures:
            break
    return failures, texts


def run_notebook(
    path: Path,
    *,
    env: dict[str, str | None] | None = None,
    timeout: int = 900,
) -> RunResult:
    """Execute a staged notebook in place, in a fresh process and kernel.

    Args:
        path: the staged notebook (it is overwritten with its outputs).
        env: variables to set (a value) or remove (None) for the kernel.
        timeout: seconds per cell (nbmake's timeout).

    Returns:
        Wall time (kernel start included), the peak memory of the kernel, the
        failed cells (``cell``, ``error``, ``source``: its first line) and the
        printed outputs.
    """
    path = Path(path).resolve()
    full = {**BASE_ENV, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(path), str(timeout), str(ROOT)],
        capture_output=True,
        text=True,
        cwd=path.parent,
        env=full,
    )
    outer = time.perf_counter() - start
    report = None
    if proc.returncode == 0 and proc.stdout.strip():
        try:
            report = json.loads(proc.stdout.strip().splitlines()[-1])
        except ValueError:
            report = None
    if report is None:
        return RunResult(
            outer, float("nan"), error=(proc.stderr or proc.stdout)[-2000:].strip()
        )
    failures, texts = _failures(path)
    for failure in failures:  # nbmake interrupts a cell that runs out of time
        if failure["error"].startswith("KeyboardInterrupt"):
            failure["error"] = f"timed out (over {timeout} s in the cell)"
    if not failures and report["problems"]:  # e.g. a cell never executed (timeout)
        failures = [
            {"cell": None, "error": p, "source": ""} for p in report["problems"]
        ]
    return RunResult(
        report["wall"], report["peak_mib"], failures, "", texts, report["cpu"]
    )


def kernel_env(
    kind: str,
    *,
    setting: Setting | None = None,
    cache: Path | None = None,
    no_data: Path | None = None,
    data_home: Path | None = None,
    log: Path | None = None,
    notebook: str | None = None,
    extra: dict[str, str | None] | None = None,
) -> dict[str, str | None]:
    """The environment of one staged notebook's kernel: its kind's (no MovieLens
    data unless ``data_home``), the setting's, a cache folder, the claims log."""
    env: dict[str, str | None] = dict(
        kind_env(kind, standin=None, no_data=None if data_home else no_data)
    )
    if data_home is not None:
        env["RECSYS_DATA_HOME"] = str(data_home)
        env["RECSYS_MOVIELENS_HOME"] = None
    if setting is not None:
        env.update(setting.env())
    if cache is not None:
        env["RECSYS_CACHE_DIR"] = str(cache)
    if log is not None:
        env["RECSYS_CLAIMS_LOG"] = str(log)
    if notebook is not None:
        env["RECSYS_NOTEBOOK"] = notebook
    env.update(extra or {})
    return env


def read_log(path: Path) -> list[dict]:
    """The JSON lines ``ru.assert_claim`` / ``ru.assert_parity`` appended to
    ``path`` (a missing file: none)."""
    if not Path(path).is_file():
        return []
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def machine() -> str:
    """One line naming the machine: CPU model, cores, memory, Python."""
    model = cpu_model()
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        memory = ""
    return (
        f"{model}, {os.cpu_count()} CPU cores{memory}, Python "
        f"{platform.python_version()}"
    )


def load_average() -> str:
    """The 1-minute load average now (``"n/a"`` where unknown)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def chapters_of(sections: list[Section]) -> dict[int, list[Section]]:
    """``{chapter: sections}`` (coursetools.sections.by_chapter)."""
    return by_chapter(sections)


def command_line() -> str:
    """The command as typed (for the tables' "regenerate with")."""
    args = [Path(sys.argv[0]).as_posix()] + sys.argv[1:]
    try:
        args[0] = str(Path(args[0]).resolve().relative_to(ROOT))
    except ValueError:
        pass
    return "python " + " ".join(args)


def seeded(setting: Setting, seed: int) -> Setting:
    return replace(setting, seed=seed)
