"""Run every section under perturbed settings with one core busy; report failing cells.

    make stress                                   # STRESS_SEED=0 STRESS_DRAWS=1
    python benchmarks/stress.py [--draw-seed 0] [--draws 1] [--no-burner]
        [--only 03_two_tower ...] [--out benchmarks/stress.md]

Every framework section's edition in both frameworks, and every parity section, is
staged as CI stages it and executed through nbmake's runner in a fresh kernel
(benchmarks/harness.py) while a burner keeps one core busy the whole time. Each run
gets one setting drawn at random from the factors of issue 23, item 1 (PyTorch
threads 1/2/default, TensorFlow threads 1/2/default, TF_ENABLE_ONEDNN_OPTS 0/1,
OMP_NUM_THREADS unset/1, seed 0/1/2 by rewriting the section's ``SEED = 0`` line):
one draw per chapter and framework (its sections run in order under it, sharing one
fresh artifact cache, as a learner runs them) and one per parity section. The draws
are seeded (``--draw-seed``; a unit's draw depends only on the seed, the draw number
and the unit's name, so adding a chapter changes no other draw); ``--draws N`` runs
each unit under N draws. The full product (108 settings per unit) would take days;
``make parity`` covers every pair of values on the parity sections and ``make
claims`` every seed.

The report (benchmarks/stress.md) lists every run with its setting and time, and
every failing cell: notebook, cell, error. Exit status 1 when a cell failed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

ROOT = harness.ROOT
OUT = ROOT / "benchmarks" / "stress.md"
FRAMEWORKS = ("pytorch", "tensorflow")


def draw(draw_seed: int, number: int, unit: str) -> harness.Setting:
    """The setting of one unit (``"pytorch:03_two_tower"``, ``"parity:03_two_tower/
    03_parity.ipynb"``) in draw ``number``: each factor uniformly at random, from a
    generator seeded by the three."""
    rng = random.Random(f"{draw_seed}:{number}:{unit}")
    return harness.Setting(
        **{name: rng.choice(values) for name, values in harness.FACTORS.items()}
    )


def units(sections: list) -> list[tuple[str, str, list]]:
    """``(unit name, kind, sections)``: each chapter's editions per framework, then
    each parity section on its own."""
    out = []
    for secs in harness.chapters_of(sections).values():
        editions = [s for s in secs if not s.is_parity]
        for fw in FRAMEWORKS:
            if editions:
                out.append((f"{fw}:{editions[0].chapter_dir}", fw, editions))
        for s in secs:
            if s.is_parity:
                out.append((f"parity:{s.rel}", "parity", [s]))
    return out


def run_unit(
    kind: str,
    secs: list,
    setting: harness.Setting,
    scratch: Path,
    *,
    timeout: int,
) -> list[dict]:
    """Run a unit's sections in order under ``setting``; one dict per section."""
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "no-data").mkdir(parents=True)
    staged = harness.stage_sections(secs, [kind], scratch / "stage", seed=setting.seed)
    out = []
    for section, kind_, path, seeded in staged:
        env = harness.kernel_env(
            kind_,
            setting=setting,
            cache=scratch / "cache",
            no_data=scratch / "no-data",
            notebook=section.rel,
        )
        result = harness.run_notebook(path, env=env, timeout=timeout)
        out.append(
            {
                "notebook": section.rel,
                "kind": kind_,
                "setting": setting.label(),
                "seed_varied": seeded > 0,
                "wall": result.wall,
                "failures": result.failures
                + (
                    [{"cell": None, "error": result.error, "source": ""}]
                    if result.error
                    else []
                ),
            }
        )
    return out


def render(runs: list[dict], *, header: list[str]) -> str:
    failing = [(r, f) for r in runs for f in r["failures"]]
    lines = header + [
        "",
        f"{len(runs)} notebook runs, {len(failing)} failing cell(s).",
        "",
    ]
    if failing:
        lines += [
            "## Failing cells",
            "",
            "| notebook | kind | cell | error | first line of the cell | setting |",
            "|---|---|---:|---|---|---|",
        ]
        for r, f in failing:
            error = f["error"].replace("|", "\\|").replace("\n", " ")[:300]
            source = (f.get("source") or "").replace("|", "\\|")
            lines.append(
                f"| {r['notebook']} | {r['kind']} | {f['cell']} | {error} | "
                f"`{source}` | {r['setting']} |"
            )
        lines.append("")
    lines += [
        "## Runs",
        "",
        "| notebook | kind | setting | seconds | result |",
        "|---|---|---|---:|---|",
    ]
    for r in runs:
        result = "ok" if not r["failures"] else f"{len(r['failures'])} failing cell(s)"
        seed = "" if r["seed_varied"] else " (no SEED line)"
        lines.append(
            f"| {r['notebook']} | {r['kind']} | {r['setting']}{seed} | "
            f"{r['wall']:.1f} | {result} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draw-seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=1)
    parser.add_argument("--no-burner", action="store_true")
    parser.add_argument(
        "--only", nargs="+", default=[], help="sections whose path contains one"
    )
    parser.add_argument("--chapters", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--scratch", type=Path, default=ROOT / "_build" / "stress")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    sections = harness.sections_from(args.chapters)
    if args.only:
        sections = [s for s in sections if any(o in s.rel for o in args.only)]
    if not sections:
        raise SystemExit("no section to run")
    load_before = harness.load_average()
    start = time.perf_counter()
    runs = []
    with harness.handle_termination(), harness.Burner(enabled=not args.no_burner):
        for number in range(args.draws):
            for name, kind, secs in units(sections):
                setting = draw(args.draw_seed, number, name)
                print(f"{name} ({setting.label()})", flush=True)
                for r in run_unit(
                    kind, secs, setting, args.scratch / "run", timeout=args.timeout
                ):
                    status = "ok" if not r["failures"] else "FAILED"
                    print(
                        f"    {r['notebook']}: {status}, {r['wall']:.1f} s", flush=True
                    )
                    for f in r["failures"]:
                        print(
                            f"        cell {f['cell']}: {f['error'][:300]}", flush=True
                        )
                    runs.append(r)
    shutil.rmtree(args.scratch / "run", ignore_errors=True)
    minutes = (time.perf_counter() - start) / 60
    header = [
        "# Stress: every section under perturbed settings, one core busy",
        "",
        f"Regenerate with `make stress` (benchmarks/stress.py). Measured "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {harness.machine()} "
        f"in {minutes:.0f} min; 1-minute load average {load_before} before and "
        f"{harness.load_average()} after; command: `{harness.command_line()}`.",
        "",
        "Each chapter's editions (per framework) and each parity section ran under "
        f"{args.draws} setting(s) drawn at random (draw seed {args.draw_seed}) from "
        "PyTorch threads 1/2/default, TensorFlow threads 1/2/default, "
        "TF_ENABLE_ONEDNN_OPTS 0/1, OMP_NUM_THREADS unset/1 and the seed 0/1/2, "
        + (
            "with no burner."
            if args.no_burner
            else "while a spinning process kept one core busy."
        ),
    ]
    text = render(runs, header=header)
    args.out.write_text(text)
    print(text)
    print(f"written to {args.out}")
    return 1 if any(r["failures"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
