"""Execute every notebook in a fresh kernel, one at a time; report wall time and memory.

    python benchmarks/run_notebooks.py [--repeat 3] [notebooks ...]   (or: make bench)

Each run starts a new Python process that executes the notebook with nbclient in a new
kernel; the process reports the kernel's peak resident memory (ru_maxrss of its waited-
for children). The table (median, min and max wall time over the repeats, and peak
memory, and whether every run printed the same numbers, timings aside) goes to
benchmarks/notebooks.md. A benchmark, not a test: it never fails on
time.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "notebooks.md"

_RUNNER = r"""
import json, resource, sys, time
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
start = time.perf_counter()
NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
wall = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
texts = []
for cell in nb.cells:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            texts.append(out["text"])
        elif "data" in out and "text/plain" in out["data"]:
            texts.append(out["data"]["text/plain"])
print(json.dumps({"wall": wall, "peak_mib": peak_kib / 1024, "outputs": texts}))
"""


# Timings legitimately change between runs; everything else printed must not.
_TIMING = re.compile(
    r"\d+(\.\d+)?(e-?\d+)?\s*(s|ms|µs|us|seconds|it/s|s/it)\b|\d+(\.\d+)?x\b|×\s*\d+(\.\d+)?"
)


def _fingerprint(outputs: list[str]) -> list[str]:
    lines = []
    for text in outputs:
        if "<Figure size" in text or "object at 0x" in text:
            continue
        lines.extend(_TIMING.sub("<time>", line) for line in text.splitlines())
    return lines


def run_once(path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(path), str(path.parent)],
        capture_output=True,
        text=True,
        cwd=path.parent,
    )
    if proc.returncode != 0:
        return {
            "wall": float("nan"),
            "peak_mib": float("nan"),
            "error": proc.stderr[-2000:],
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    rows = []
    examples: dict[str, list[str]] = {}
    for path in notebooks:
        runs = []
        for r in range(args.repeat):
            result = run_once(path.resolve())
            runs.append(result)
            status = f"{result['wall']:.1f} s" if "error" not in result else "FAILED"
            print(f"{path.name} run {r + 1}/{args.repeat}: {status}", flush=True)
            if "error" in result:
                print(result["error"], file=sys.stderr)
                break
        walls = [x["wall"] for x in runs]
        prints = [_fingerprint(x.get("outputs", [])) for x in runs]
        changed = sorted(
            {b for other in prints[1:] for a, b in zip(prints[0], other) if a != b}
        )
        differing = len(changed) + sum(
            abs(len(other) - len(prints[0])) for other in prints[1:]
        )
        if changed:
            examples[path.name] = changed[:3]
        rows.append(
            {
                "notebook": path.name,
                "median_s": statistics.median(walls),
                "min_s": min(walls),
                "max_s": max(walls),
                "peak_mib": max(x["peak_mib"] for x in runs),
                "runs": len(runs),
                "same_outputs": "n/a (1 run)"
                if len(runs) < 2
                else ("yes" if differing == 0 else f"no ({differing} lines differ)"),
            }
        )
    total = sum(r["median_s"] for r in rows)
    lines = [
        "# Notebook benchmark",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.machine()}, {__import__('os').cpu_count()} CPU cores, Python "
        f"{platform.python_version()}; each notebook executed {args.repeat} time(s) in a "
        "fresh kernel (`make bench`).",
        "",
        "| notebook | median wall (s) | min (s) | max (s) | peak memory (MiB) | same printed numbers every run |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r['notebook']} | {r['median_s']:.1f} | {r['min_s']:.1f} | {r['max_s']:.1f} | {r['peak_mib']:.0f} | {r['same_outputs']} |"
        for r in rows
    ]
    lines += [
        f"| **total** | **{total:.1f}** | | | | |",
        "",
        "Printed outputs are compared between runs with timings masked; figures are not compared.",
        "",
    ]
    if examples:
        lines += [
            "Lines that changed between runs (check they are timings, e.g. a speed table):",
            "",
        ]
        for name, changed in examples.items():
            lines += [f"- {name}: " + "; ".join(f"`{c.strip()}`" for c in changed)]
        lines.append("")
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
