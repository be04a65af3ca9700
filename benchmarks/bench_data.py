"""Time make_marketplace at each size and record describe() per size.

Run: .venv/bin/python benchmarks/bench_data.py  (writes benchmarks/data_generation.md)
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

import pandas as pd

from recsys_utils.marketplace import SIZES, make_marketplace

REPEATS = {"tiny": 3, "classroom": 3, "large": 1}


def main() -> None:
    times, stats = {}, {}
    for size in SIZES:
        runs = []
        for _ in range(REPEATS[size]):
            t0 = time.perf_counter()
            m = make_marketplace(seed=0, size=size)
            runs.append(time.perf_counter() - t0)
        times[size] = statistics.median(runs)
        stats[size] = m.describe()
        print(f"{size}: {times[size]:.2f} s (median of {len(runs)})")
        print(stats[size].to_string(), "\n", flush=True)
        del m
    table = pd.DataFrame(stats)
    for col in table:
        table[col] = [
            f"{v:.4g}" if isinstance(v, float) else str(v) for v in table[col]
        ]
    lines = [
        "# Data generation benchmark",
        "",
        f"Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}. Seed 0.",
        "",
        "| size | seconds | runs |",
        "|---|---|---|",
        *[f"| {s} | {times[s]:.2f} | {REPEATS[s]} (median) |" for s in SIZES],
        "",
        "## describe() per size",
        "",
        "| statistic | " + " | ".join(table.columns) + " |",
        "|---|" + "---|" * len(table.columns),
        *[f"| {idx} | " + " | ".join(table.loc[idx]) + " |" for idx in table.index],
        "",
    ]
    out = Path(__file__).with_name("data_generation.md")
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
