"""Time each framework's edition of every section, idle and with one busy core.

    make bench                            # REPEAT=3, BURNER=both: idle and loaded
    make bench BURNER=off REPEAT=5        # idle only
    python benchmarks/run_notebooks.py [--repeat 3] [--burner off|on|both]
        [--frameworks pytorch tensorflow] [--only 00_getting_started ...]
        [--data-home DIR] [--env NAME=VALUE ...] [--chapters DIR]
        [--out benchmarks/notebooks.md]

For every section :func:`coursetools.sections.discover` finds (parity sections
aside: they have no edition), each framework's edition is staged as CI stages it
(coursetools/build.py) and executed through nbmake's runner in a fresh process and
kernel (benchmarks/harness.py); a chapter's sections run in order, sharing one fresh
artifact cache (recsys_utils.artifacts), as a learner running the chapter for the
first time. A chapter's time is the sum of its sections' times in one run; the
tables give the median over ``--repeat`` runs (and the min-max) per section and per
chapter. ``--burner on`` keeps one core busy during every run (benchmarks/harness.py,
``Burner``); ``--burner both`` alternates idle and loaded runs of the same chapter
(so that a change in the machine's load affects both alike) and adds the ratio
loaded / idle. ``--env`` sets (``NAME=VALUE``) or removes (``NAME=``) a variable of
the kernels, e.g. ``--env RECSYS_TORCH_THREADS=2`` to time another thread setting.
``--data-home`` points ``RECSYS_DATA_HOME`` at a folder holding ``ml-100k.zip``;
without it the MovieLens sections show their recorded results, as on the website.

The budgets (shared/CHAPTER.md): a section edition under 60 s, a chapter under 90 s,
idle or with one busy core; and a loaded run at most 1.5x the idle one. They are
reported, not asserted: a benchmark never fails on time. The printed outputs of the
runs are compared with timings masked (a number with a unit; every number of a cell
tagged ``varies-between-runs``): a different number is a determinism bug, and the
report lists the lines that differ, with their cell.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

ROOT = harness.ROOT
OUT = ROOT / "benchmarks" / "notebooks.md"
LABELS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}
SECTION_BUDGET, CHAPTER_BUDGET, LOAD_BUDGET = 60.0, 90.0, 1.5
LOADS = {
    "off": "idle (no burner)",
    "on": "with one core kept busy by a spinning process",
    "both": "idle and with one core kept busy by a spinning process, alternately",
}
#: The variables that choose threads; the header says which were set.
THREAD_VARS = (
    harness.TORCH_THREADS_ENV,
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_ENABLE_ONEDNN_OPTS",
)

# Timings legitimately change between runs; everything else printed must not.
_TIMING = re.compile(
    r"\d+(\.\d+)?(e-?\d+)?\s*(s|ms|µs|us|seconds|it/s|s/it)\b|\d+(\.\d+)?x\b"
    r"|×\s*\d+(\.\d+)?"
)


def _fingerprint(outputs: list[str]) -> list[str]:
    """The printed lines of a run with timings and object addresses masked."""
    lines = []
    for text in outputs:
        if "<Figure size" in text or re.search(r" at 0x[0-9a-f]+>", text):
            continue  # a figure, or an object's repr (a table's Styler): an address
        lines.extend(_TIMING.sub("<time>", line) for line in text.splitlines())
    return lines


def busy_note(load_before: str) -> str:
    """A warning when the machine was busy before the benchmark started (a load
    average above 1: other work shared the cores, so the times are rough)."""
    try:
        load = float(load_before)
    except ValueError:
        return ""
    if load <= 1.0:
        return ""
    return (
        f" (other work kept about {load:.0f} process(es) busy on "
        f"{os.cpu_count()} cores before it started: the times are rough)"
    )


def parse_env(items: list[str]) -> dict[str, str | None]:
    """``["A=1", "B="]`` -> ``{"A": "1", "B": None}`` (empty: remove the variable)."""
    env: dict[str, str | None] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SystemExit(
                f"--env takes NAME=VALUE (or NAME= to unset); got {item!r}"
            )
        env[name] = value or None
    return env


def select(sections: list, only: list[str]) -> list:
    """The framework sections whose path under chapters/ contains one of ``only``."""
    chosen = [s for s in sections if not s.is_parity]
    if only:
        chosen = [s for s in chosen if any(o in s.rel for o in only)]
        if not chosen:
            raise SystemExit(f"no section matches {only}")
    return chosen


def run_chapter(
    sections: list,
    framework: str,
    template: Path,
    scratch: Path,
    *,
    burner: bool,
    env: dict,
    data_home: Path | None,
    timeout: int,
) -> list[tuple]:
    """One run of a chapter's editions in one framework: ``(section, RunResult)``."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(template, scratch / "stage")
    (scratch / "no-data").mkdir(parents=True, exist_ok=True)
    out = []
    with harness.Burner(enabled=burner):
        for section in sections:
            path = scratch / "stage" / framework / section.rel
            kernel = harness.kernel_env(
                framework,
                cache=scratch / "cache",
                no_data=scratch / "no-data",
                data_home=data_home,
                extra=env,
            )
            result = harness.run_notebook(path, env=kernel, timeout=timeout)
            out.append((section, result))
    return out


def _stats(values: list[float]) -> dict:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def _show(stats: dict | None) -> str:
    if stats is None:
        return "failed"
    return f"{stats['median']:.1f} ({stats['min']:.1f}-{stats['max']:.1f})"


def _differences(prints: list[list[str]]) -> list[tuple[str, str]]:
    """The printed lines (timings masked) where a later run differs from the first,
    as (first run's line, other run's line); a missing line shows as ""."""
    pairs = []
    for other in prints[1:]:
        first = prints[0]
        for i in range(max(len(first), len(other))):
            a = first[i] if i < len(first) else ""
            b = other[i] if i < len(other) else ""
            if a != b:
                pairs.append((a, b))
    return pairs


def _prints(cells: dict, modes, framework: str) -> list[list[str]]:
    """The printed lines of every run of one section in ``framework``, all modes."""
    return [p for m in modes for p in cells.get((m, framework), {}).get("prints", [])]


def _same(prints: list[list[str]]) -> str:
    if len(prints) < 2:
        return "n/a"
    differing = len(_differences(prints))
    return "yes" if differing == 0 else f"no ({differing} lines differ)"


def summarize(results: dict, modes: list[str], frameworks: list[str]) -> dict:
    """Medians per section and per chapter from ``results[(mode, fw)]``: a list of
    runs, each a list of ``(section, RunResult)``."""
    sections, chapters = {}, {}
    for (mode, fw), runs in results.items():
        per_section: dict[str, list] = {}
        per_chapter: dict[str, list] = {}
        for run in runs:
            total, ok = 0.0, True
            for section, result in run:
                per_section.setdefault(section.rel, []).append(result)
                total += result.wall
                ok = ok and result.ok
            chapter = run[0][0].chapter_dir
            per_chapter.setdefault(chapter, []).append(total if ok else None)
        for rel, rs in per_section.items():
            walls = [r.wall for r in rs if r.ok]
            sections.setdefault(rel, {})[(mode, fw)] = {
                "stats": _stats(walls) if len(walls) == len(rs) else None,
                "peak": max((r.peak_mib for r in rs if r.ok), default=float("nan")),
                "cpu": statistics.median([r.cpu for r in rs]),
                "prints": [_fingerprint(r.outputs) for r in rs if r.ok],
                "failures": [f for r in rs for f in r.failures]
                + [{"cell": None, "error": r.error} for r in rs if r.error],
            }
        for chapter, totals in per_chapter.items():
            chapters.setdefault(chapter, {})[(mode, fw)] = (
                _stats(totals) if None not in totals else None
            )
    return {"sections": sections, "chapters": chapters}


def render(
    summary: dict,
    modes: list[str],
    frameworks: list[str],
    *,
    header: list[str],
) -> str:
    """The markdown of benchmarks/notebooks.md."""

    def head(first: str) -> list[str]:
        names = []
        for fw in frameworks:
            for m in modes:
                names.append(
                    f"{LABELS[fw]} {'idle' if m == 'idle' else 'one busy core'}"
                )
            if len(modes) == 2:
                names.append(f"{LABELS[fw]} loaded / idle")
        return [
            f"| {first} | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
        ]

    def ratio(cells: dict, fw: str) -> str:
        idle, busy = cells.get(("idle", fw)), cells.get(("burner", fw))
        if idle is None or busy is None:
            return "n/a"
        r = busy["median"] / idle["median"]
        return f"{r:.2f}" + (" **over 1.5**" if r > LOAD_BUDGET else "")

    def row(name: str, cells: dict, budget: float) -> str:
        shown = []
        for fw in frameworks:
            for m in modes:
                stats = cells.get((m, fw))
                text = _show(stats)
                if stats is not None and stats["median"] > budget:
                    text += f" **over {budget:g} s**"
                shown.append(text)
            if len(modes) == 2:
                shown.append(ratio(cells, fw))
        return f"| {name} | " + " | ".join(shown) + " |"

    lines = header + ["", "## Chapters (sum of the sections of one run)", ""]
    lines += head("chapter")
    for chapter, cells in sorted(summary["chapters"].items()):
        lines.append(row(chapter, cells, CHAPTER_BUDGET))
    lines += ["", "## Sections", ""]
    lines += head("section")
    for rel, cells in sorted(summary["sections"].items()):
        stats = {k: v["stats"] for k, v in cells.items()}
        lines.append(row(rel, stats, SECTION_BUDGET))
    keys = [(m, fw) for fw in frameworks for m in modes]
    lines += [
        "",
        "Seconds: median (min-max) over the runs, kernel start included.",
        "",
        "| section | peak memory (MiB) | kernel CPU seconds, median ("
        + ", ".join(
            f"{LABELS[fw]} {'idle' if m == 'idle' else 'loaded'}" for m, fw in keys
        )
        + ") | same printed numbers in every run |",
        "|---|---:|---:|---|",
    ]
    for rel, cells in sorted(summary["sections"].items()):
        peak = max((c["peak"] for c in cells.values()), default=float("nan"))
        cpu = " / ".join(
            f"{cells[k]['cpu']:.1f}" if k in cells else "n/a" for k in keys
        )
        same = "; ".join(
            f"{LABELS[fw]}: " + _same(_prints(cells, modes, fw)) for fw in frameworks
        )
        lines.append(f"| {rel} | {peak:.0f} | {cpu} | {same} |")
    shown_lines = 5
    differing = [
        (rel, fw, _differences(prints))
        for rel, cells in sorted(summary["sections"].items())
        for fw in frameworks
        if (prints := _prints(cells, modes, fw))
    ]
    if any(pairs for _, _, pairs in differing):
        lines += [
            "",
            "## Printed lines that differ between runs",
            "",
            f"The first {shown_lines} per section and framework (timings masked), the "
            "first run's line, then the other's: a number here changed between runs.",
            "",
        ]
        for rel, fw, pairs in differing:
            for a, b in pairs[:shown_lines]:
                lines.append(f"- {rel} [{LABELS[fw]}]: `{a.strip()}` / `{b.strip()}`")
    failures = [
        (rel, key, f)
        for rel, cells in sorted(summary["sections"].items())
        for key, c in cells.items()
        for f in c["failures"]
    ]
    if failures:
        lines += ["", "## Failed runs", ""]
        for rel, (mode, fw), f in failures:
            lines.append(
                f"- {rel} [{LABELS[fw]}, {mode}]: cell {f['cell']}: {f['error'][:300]}"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--frameworks", nargs="+", default=list(LABELS), choices=list(LABELS)
    )
    parser.add_argument("--burner", choices=("off", "on", "both"), default="off")
    parser.add_argument(
        "--only", nargs="+", default=[], help="sections whose path contains one"
    )
    parser.add_argument("--chapters", type=Path, default=None)
    parser.add_argument(
        "--data-home",
        type=Path,
        default=None,
        help="RECSYS_DATA_HOME for the runs (a folder with ml-100k.zip)",
    )
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--scratch", type=Path, default=ROOT / "_build" / "bench")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    env = parse_env(args.env)
    data_home = args.data_home.resolve() if args.data_home else None
    sections = select(harness.sections_from(args.chapters), args.only)
    chapters = harness.chapters_of(sections)
    modes = {"off": ["idle"], "on": ["burner"], "both": ["idle", "burner"]}[args.burner]
    template = args.scratch / "template"
    shutil.rmtree(template, ignore_errors=True)
    harness.stage_sections(sections, args.frameworks, template)
    load_before = harness.load_average()
    results: dict = {}
    with harness.handle_termination():
        for r in range(args.repeat):
            for secs in chapters.values():
                for fw in args.frameworks:
                    for mode in modes:
                        run = run_chapter(
                            secs,
                            fw,
                            template,
                            args.scratch / "run",
                            burner=mode == "burner",
                            env=env,
                            data_home=data_home,
                            timeout=args.timeout,
                        )
                        results.setdefault((mode, fw), []).append(run)
                        times = ", ".join(
                            f"{s.number}: {x.wall:.1f}" + ("" if x.ok else " FAILED")
                            for s, x in run
                        )
                        print(
                            f"run {r + 1}/{args.repeat} {secs[0].chapter_dir} "
                            f"[{fw}, {mode}] {sum(x.wall for _, x in run):.1f} s "
                            f"({times})",
                            flush=True,
                        )
    shutil.rmtree(args.scratch / "run", ignore_errors=True)
    base = harness.BASE_ENV
    threads = {k: base[k] for k in THREAD_VARS if base.get(k) and k not in env}
    threads.update({k: v for k, v in env.items() if v is not None})
    unset = [k for k, v in env.items() if v is None]
    setting = (
        ", ".join(f"{k}={v}" for k, v in sorted(threads.items()))
        or "nothing set (the course's defaults, recsys_utils/torch.py and tf.py)"
    ) + (f"; unset: {', '.join(unset)}" if unset else "")
    header = [
        "# Notebook benchmark",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{harness.machine()}; 1-minute load average {load_before} before and "
        f"{harness.load_average()} after{busy_note(load_before)}. Command: "
        f"`{harness.command_line()}` (`make bench`).",
        "",
        f"Each framework's edition of each section (staged as CI stages it) ran "
        f"{args.repeat} time(s) in a fresh kernel through nbmake's runner, a "
        "chapter's sections in order with one fresh artifact cache, "
        + (
            "with RECSYS_DATA_HOME holding ml-100k.zip"
            if data_home
            else "without MovieLens data (the MovieLens sections show the recorded "
            "results)"
        )
        + f"; {LOADS[args.burner]}. Threads: {setting}.",
        "",
        f"Budgets: a section under {SECTION_BUDGET:g} s, a chapter under "
        f"{CHAPTER_BUDGET:g} s, idle or loaded, and loaded / idle at most "
        f"{LOAD_BUDGET:g} (shared/CHAPTER.md, issue 23); marked where exceeded.",
    ]
    text = render(
        summarize(results, modes, args.frameworks),
        modes,
        args.frameworks,
        header=header,
    )
    args.out.write_text(text)
    print(text)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
