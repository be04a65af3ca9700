"""Time every chapter in a fresh kernel, in both frameworks: wall time and memory.

    python benchmarks/run_notebooks.py [--repeat 3] [--frameworks pytorch tensorflow]
        [--editions] [--data-home DIR] [--out benchmarks/notebooks.md]
        [--save-outputs DIR] [notebooks ...]
    (or: make bench)

Each run starts a new Python process that executes the chapter with nbclient in a new
kernel, with ``RECSYS_FRAMEWORK`` set to the framework measured (the chapter as written:
that framework trains every experiment, the parity cells train both). The process
reports the kernel's peak resident memory (ru_maxrss of its waited-for children). The
table (median, min and max wall time over the repeats per framework, peak memory, and
whether every run printed the same numbers, timings aside) goes to ``--out``.
``--data-home`` points RECSYS_DATA_HOME at a folder holding ``ml-100k.zip`` (the real
archive, or the tests' stand-in) to time the chapters with their MovieLens sections.
``--editions`` times instead what a learner downloads: each framework's edition of the
chapter (``make editions``: that framework's cells only, no parity cells, the switch
set), run from the chapters' folder as the chapter is.
A benchmark, not a test: it never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "notebooks.md"
LABELS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}

_RUNNER = r"""
import json, resource, sys, time
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
start = time.perf_counter()
NotebookClient(nb, timeout=None, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
wall = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
texts = []
for cell in nb.cells:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            texts.append(out["text"])
        elif "data" in out and "text/plain" in out["data"]:
            texts.append(out["data"]["text/plain"])
from datetime import datetime
cells = []
for i, cell in enumerate(nb.cells):
    t = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" in t and "shell.execute_reply" in t:
        a, b = (datetime.fromisoformat(t[k].replace("Z", "+00:00"))
                for k in ("iopub.execute_input", "shell.execute_reply"))
        head = cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
        cells.append([i, round((b - a).total_seconds(), 2), head])
print(json.dumps({"wall": wall, "peak_mib": peak_kib / 1024, "outputs": texts,
                  "cells": cells}))
"""


# Timings legitimately change between runs; everything else printed must not.
_TIMING = re.compile(
    r"\d+(\.\d+)?(e-?\d+)?\s*(s|ms|µs|us|seconds|it/s|s/it)\b|\d+(\.\d+)?x\b|×\s*\d+(\.\d+)?"
)


def _fingerprint(outputs: list[str]) -> list[str]:
    lines = []
    for text in outputs:
        if "<Figure size" in text or re.search(r" at 0x[0-9a-f]+>", text):
            continue  # a figure, or an object's repr (a table's Styler): an address
        lines.extend(_TIMING.sub("<time>", line) for line in text.splitlines())
    return lines


def run_once(path: Path, env: dict[str, str], cwd: Path | None = None) -> dict:
    """Execute one notebook in a fresh process and kernel with ``env`` added, in
    ``cwd`` (default: the notebook's folder)."""
    cwd = cwd or path.parent
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(path), str(cwd)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
    )
    if proc.returncode != 0:
        return {
            "wall": float("nan"),
            "peak_mib": float("nan"),
            "error": proc.stderr[-2000:],
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same(runs: list[dict]) -> tuple[str, list[str]]:
    prints = [_fingerprint(x.get("outputs", [])) for x in runs]
    changed = sorted(
        {b for other in prints[1:] for a, b in zip(prints[0], other) if a != b}
    )
    differing = len(changed) + sum(abs(len(o) - len(prints[0])) for o in prints[1:])
    if len(runs) < 2:
        return "n/a (1 run)", []
    return ("yes" if differing == 0 else f"no ({differing} lines differ)"), changed[:3]


def write_edition(chapter: Path, framework: str, folder: Path) -> Path:
    """Write ``chapter``'s edition for ``framework`` into ``folder`` as ``make
    editions`` does; its path."""
    sys.path.insert(0, str(ROOT))
    from coursetools.notebooks import Bibliography, write_editions

    bib = Bibliography.read(ROOT / "book" / "references.bib")
    written = write_editions([chapter], folder, bib)
    return next(p for p in written if p.parent.name == framework)


def _run_all(
    notebooks: list[Path], args: argparse.Namespace, env_data: dict, scratch: Path
) -> tuple[list[dict], dict]:
    """Run every notebook (or its editions) ``args.repeat`` times per framework; a
    row of timings per notebook, and examples of lines that changed between runs."""
    rows, examples = [], {}
    for path in notebooks:
        row = {"notebook": path.name}
        for fw in args.frameworks:
            runs = []
            run_path, cwd = path.resolve(), None
            if args.editions:
                run_path = write_edition(run_path, fw, scratch)
                cwd = path.resolve().parent
            for r in range(args.repeat):
                env = {"RECSYS_FRAMEWORK": fw, **env_data}
                result = run_once(run_path, env, cwd)
                runs.append(result)
                status = (
                    f"{result['wall']:.1f} s" if "error" not in result else "FAILED"
                )
                print(
                    f"{path.name} [{fw}] run {r + 1}/{args.repeat}: {status}",
                    flush=True,
                )
                if "error" in result:
                    print(result["error"], file=sys.stderr)
                    break
            if args.save_outputs and "outputs" in runs[-1]:
                args.save_outputs.mkdir(parents=True, exist_ok=True)
                printed = args.save_outputs / f"{path.stem}_{fw}.txt"
                printed.write_text("\n".join(runs[-1]["outputs"]))
                slowest = sorted(runs[-1].get("cells", []), key=lambda c: -c[1])
                (args.save_outputs / f"{path.stem}_{fw}_cells.txt").write_text(
                    "".join(f"{t:8.2f} s  cell {i:3d}  {h}\n" for i, t, h in slowest)
                )
            walls = [x["wall"] for x in runs]
            same, changed = _same(runs)
            if changed:
                examples[f"{path.name} [{fw}]"] = changed
            row[fw] = {
                "median": statistics.median(walls),
                "min": min(walls),
                "max": max(walls),
                "peak": max(x["peak_mib"] for x in runs),
                "same": same,
                "failed": any("error" in x for x in runs),
            }
        rows.append(row)
    return rows, examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--frameworks", nargs="+", default=list(LABELS), choices=list(LABELS)
    )
    parser.add_argument(
        "--data-home",
        type=Path,
        default=None,
        help="RECSYS_DATA_HOME for the runs (a folder with ml-100k.zip)",
    )
    parser.add_argument(
        "--editions",
        action="store_true",
        help="time each framework's edition (what a learner runs), not the chapter",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--save-outputs",
        type=Path,
        default=None,
        help="folder for what each chapter printed and its cells by time (last run)",
    )
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    env_data = (
        {"RECSYS_DATA_HOME": str(args.data_home.resolve())} if args.data_home else {}
    )
    with tempfile.TemporaryDirectory(prefix="recsys-bench-") as scratch:
        rows, examples = _run_all(notebooks, args, env_data, Path(scratch))
    data = (
        "with RECSYS_DATA_HOME holding ml-100k.zip"
        if args.data_home
        else "without MovieLens data"
    )
    lines = [
        "# Notebook benchmark",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.machine()}, {os.cpu_count()} CPU cores, Python "
        f"{platform.python_version()}, {data}; each chapter executed "
        f"{args.repeat} time(s) "
        "per framework in a fresh kernel (`make bench`), "
        + (
            "as each framework's edition (`make editions`: that framework's cells "
            "only, no parity cells; what a learner runs)."
            if args.editions
            else "as written, with RECSYS_FRAMEWORK set to that framework (it trains "
            "every experiment; the parity cells train both)."
        ),
        "",
    ]
    head = (
        "| notebook |"
        + "".join(
            f" {LABELS[fw]} median (s) | {LABELS[fw]} min-max (s) |"
            for fw in args.frameworks
        )
        + " peak memory (MiB) | same printed numbers every run |"
    )
    lines += [head, "|---|" + "---:|---:|" * len(args.frameworks) + "---:|---|"]
    for row in rows:
        cells = "".join(
            " failed (an error, see the log) | |"
            if row[fw]["failed"]
            else f" {row[fw]['median']:.1f} |"
            f" {row[fw]['min']:.1f}-{row[fw]['max']:.1f} |"
            for fw in args.frameworks
        )
        peak = max(row[fw]["peak"] for fw in args.frameworks)
        same = "; ".join(f"{LABELS[fw]}: {row[fw]['same']}" for fw in args.frameworks)
        lines.append(f"| {row['notebook']} |{cells} {peak:.0f} | {same} |")
    totals = "".join(
        f" **{sum(r[fw]['median'] for r in rows if not r[fw]['failed']):.1f}** | |"
        for fw in args.frameworks
    )
    lines += [
        f"| **total** |{totals} | |",
        "",
        "Printed outputs are compared between runs with timings masked; figures are "
        "not compared.",
        "",
    ]
    if examples:
        lines += ["Lines that changed between runs (check they are timings):", ""]
        lines += [
            f"- {name}: " + "; ".join(f"`{c.strip()}`" for c in changed)
            for name, changed in examples.items()
        ]
        lines.append("")
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
