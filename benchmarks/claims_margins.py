"""The room every asserted claim leaves, for three seeds of the marketplace.

    make claims                                  # PyTorch editions, seeds 0 1 2
    make claims CLAIMS_FRAMEWORKS="pytorch tensorflow"
    python benchmarks/claims_margins.py [--frameworks pytorch] [--seeds 0 1 2]
        [--only 03_two_tower ...] [--out benchmarks/claims_margins.md]

Each framework section's edition (every section but the parity ones; staged as CI
stages it) runs in a fresh kernel once per seed, its ``SEED = 0`` line rewritten to
the seed (benchmarks/harness.py), a chapter's sections in order with one fresh
artifact cache per seed, with ``$RECSYS_CLAIMS_LOG`` set: every
``ru.assert_claim(name, value, at_least=..., at_most=...)`` records its value, bound
and room (how far the value is inside the bound); ``$RECSYS_CLAIMS_MEASURE=1`` makes a
claim that does not hold record its negative room instead of stopping the section, so
every claim after it is measured too. The table
(benchmarks/claims_margins.md) lists, per claim, the room for each seed and flags a
claim whose room is negative for a seed (it does not hold for three seeds) or that a
run did not reach (a cell before it failed: the failure is listed). Plain ``assert``
statements record nothing: only ``ru.assert_claim`` is measured. Exit status 1 when a
claim fails for a seed or a run failed.
"""

from __future__ import annotations

import argparse
import ast
import math
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

from coursetools.pyimports import strip_magics  # noqa: E402

ROOT = harness.ROOT
OUT = ROOT / "benchmarks" / "claims_margins.md"
LABELS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}


def measure(
    sections: list,
    frameworks: list[str],
    seeds: list[int],
    scratch: Path,
    *,
    timeout: int,
) -> list[dict]:
    """One dict per (chapter, framework, seed) run: its sections' claims and
    failures."""
    runs = []
    chapters = harness.chapters_of(sections)
    for secs in chapters.values():
        for fw in frameworks:
            for seed in seeds:
                folder = scratch / "run"
                shutil.rmtree(folder, ignore_errors=True)
                staged = harness.stage_sections(secs, [fw], folder / "stage", seed=seed)
                (folder / "no-data").mkdir(parents=True)
                for section, kind, path, seeded in staged:
                    log = folder / f"{section.number:02d}.jsonl"
                    env = harness.kernel_env(  # threads as the caller has them
                        kind,
                        cache=folder / "cache",
                        no_data=folder / "no-data",
                        log=log,
                        notebook=section.rel,
                        extra={"RECSYS_CLAIMS_MEASURE": "1"},  # record, go on
                    )
                    result = harness.run_notebook(path, env=env, timeout=timeout)
                    claims = [r for r in harness.read_log(log) if r["kind"] == "claim"]
                    print(
                        f"{section.rel} [{fw}, seed {seed}]: "
                        f"{'ok' if result.ok else 'FAILED'}, {result.wall:.1f} s, "
                        f"{len(claims)} claims",
                        flush=True,
                    )
                    for f in result.failures:
                        print(f"    cell {f['cell']}: {f['error']}", flush=True)
                    runs.append(
                        {
                            "notebook": section.rel,
                            "framework": fw,
                            "seed": seed,
                            "seed_varied": seeded > 0,
                            "claims": claims,
                            "failures": result.failures
                            + (
                                [{"cell": None, "error": result.error}]
                                if result.error
                                else []
                            ),
                        }
                    )
    shutil.rmtree(scratch / "run", ignore_errors=True)
    return runs


def table(runs: list[dict], seeds: list[int]) -> list[dict]:
    """One row per (notebook, framework, claim name): the bound, and the smallest
    room each seed left (None: not reached)."""
    rows: dict[tuple, dict] = {}
    for run in runs:
        for c in run["claims"]:
            key = (run["notebook"], run["framework"], c["name"])
            row = rows.setdefault(
                key,
                {
                    "notebook": key[0],
                    "framework": key[1],
                    "name": key[2],
                    "at_least": c.get("at_least"),
                    "at_most": c.get("at_most"),
                    "rooms": {},
                    "values": {},
                },
            )
            seed = run["seed"]
            if seed not in row["rooms"] or c["room"] < row["rooms"][seed]:
                row["rooms"][seed] = c["room"]
                row["values"][seed] = c["value"]
    out = []
    for row in rows.values():
        rooms = [row["rooms"].get(s) for s in seeds]
        row["missing"] = [s for s, r in zip(seeds, rooms) if r is None]
        row["failing"] = [s for s, r in zip(seeds, rooms) if r is not None and r < 0]
        present = [r for r in rooms if r is not None]
        row["smallest"] = min(present) if present else math.nan
        out.append(row)
    return sorted(out, key=lambda r: (r["notebook"], r["framework"], r["name"]))


def plain_comparisons(sections: list) -> list[tuple[str, int, str]]:
    """The ``assert`` statements of the sections' code cells that compare numbers
    (``assert a > b + 0.05``): claims this table cannot measure until they are
    written as ``ru.assert_claim``. ``(section, cell, code)`` each."""
    import nbformat

    out = []
    for section in sections:
        nb = nbformat.read(section.path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            code = strip_magics(cell.source)
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Assert) and any(
                    isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE))
                    for sub in ast.walk(node.test)
                    if isinstance(sub, ast.Compare)
                    for op in sub.ops
                ):
                    text = " ".join(
                        (ast.get_source_segment(code, node.test) or "").split()
                    )
                    out.append((section.rel, index, f"assert {text}"))
    return out


def _num(x) -> str:
    if x is None:
        return "not reached"
    return f"{x:.4g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(
    runs: list[dict],
    seeds: list[int],
    *,
    when: str,
    command: str,
    unmeasured: list[tuple[str, int, str]] = (),
) -> str:
    rows = table(runs, seeds)
    frameworks = sorted({r["framework"] for r in runs})
    notebooks = sorted({r["notebook"] for r in runs})
    with_claims = {r["notebook"] for r in rows}
    unseeded = sorted({r["notebook"] for r in runs if not r["seed_varied"]})
    failed = [r for r in runs if r["failures"]]
    lines = [
        "# Claims: the room each asserted claim leaves, per seed",
        "",
        "Regenerate with `make claims` (benchmarks/claims_margins.py). Measured "
        f"{when} on {harness.machine()}; command: `{command}`.",
        "",
        "Each framework section's "
        + " and ".join(f"{LABELS[f]}" for f in frameworks)
        + " edition ran once per seed ("
        + ", ".join(map(str, seeds))
        + "; the section's `SEED = 0` line rewritten), threads as the command's "
        "environment had them (`make claims`: the course's defaults). The "
        "room of `ru.assert_claim(name, value, at_least=a, at_most=b)` is "
        "`value - a` (or `b - value`; the smaller of the two): negative means the "
        "claim does not hold for that seed. A chapter asserts a bound that holds "
        "for every seed, with the smallest room observed.",
        "",
        "| notebook | framework | claim | bound | "
        + " | ".join(f"room, seed {s}" for s in seeds)
        + " | smallest room | holds for every seed |",
        "|---|---|---|---|" + "---:|" * (len(seeds) + 1) + "---|",
    ]
    for r in rows:
        bound = " and ".join(
            f"{word} {b:.4g}"
            for word, b in (("at least", r["at_least"]), ("at most", r["at_most"]))
            if b is not None
        )
        verdict = (
            f"**no** (seed {', '.join(map(str, r['failing']))})"
            if r["failing"]
            else f"**not reached** (seed {', '.join(map(str, r['missing']))})"
            if r["missing"]
            else "yes"
        )
        rooms = " | ".join(_num(r["rooms"].get(s)) for s in seeds)
        lines.append(
            f"| {r['notebook']} | {LABELS[r['framework']]} | `{_cell(r['name'])}` | "
            f"{bound} | {rooms} | {_num(r['smallest'])} | {verdict} |"
        )
    lines += [
        "",
        f"{len(notebooks)} section(s) ran; {len(with_claims)} assert claims with "
        "`ru.assert_claim`.",
    ]
    if failed:
        lines += ["", "## Runs with a failing cell", ""]
        for run in failed:
            for f in run["failures"]:
                lines.append(
                    f"- {run['notebook']} [{LABELS[run['framework']]}, seed "
                    f"{run['seed']}]: cell {f['cell']}: {_cell(f['error'][:300])}"
                )
    if unseeded:
        lines += [
            "",
            "Sections without a `SEED = 0` line (the seed could not be varied; their "
            "seeds are the same run): " + ", ".join(unseeded) + ".",
        ]
    if unmeasured:
        lines += [
            "",
            "## Comparisons asserted with a plain `assert` (not measured)",
            "",
            "Write each claim as `ru.assert_claim(name, value, at_least=...)` so that "
            "its room is measured here; a check that is not a claim (a shape, a "
            "sanity bound) can stay a plain `assert`.",
            "",
        ]
        lines += [f"- {rel}, cell {cell}: `{code}`" for rel, cell, code in unmeasured]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--frameworks", nargs="+", default=["pytorch"], choices=list(LABELS)
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--only", nargs="+", default=[], help="sections whose path contains one"
    )
    parser.add_argument("--chapters", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--scratch", type=Path, default=ROOT / "_build" / "claims")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    args.scratch = args.scratch.resolve()  # the kernels run in other folders
    sections = [s for s in harness.sections_from(args.chapters) if not s.is_parity]
    if args.only:
        sections = [s for s in sections if any(o in s.rel for o in args.only)]
    if not sections:
        raise SystemExit("no section to run")
    with harness.handle_termination():
        runs = measure(
            sections, args.frameworks, args.seeds, args.scratch, timeout=args.timeout
        )
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = render(
        runs,
        args.seeds,
        when=when,
        command=harness.command_line(),
        unmeasured=plain_comparisons(sections),
    )
    args.out.write_text(text)
    print(text)
    print(f"written to {args.out}")
    bad = any(r["failing"] or r["missing"] for r in table(runs, args.seeds))
    return 1 if bad or any(r["failures"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
