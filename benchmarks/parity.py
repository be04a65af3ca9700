"""Measure every parity check's gap under threads, oneDNN, OpenMP and seeds.

    make parity                      # every parity section discover() finds
    make parity PARITY_NOTEBOOKS="chapters/03_two_tower/03_parity.ipynb"
    python benchmarks/parity.py [notebooks ...] [--design pairwise|full]
        [--out benchmarks/parity.md] [--timeout 900]

Each parity section (``MM_parity.ipynb``) is staged as CI stages it and executed
through nbmake's runner, in a fresh kernel, once per setting of the factors of issue
23 (benchmarks/harness.py, ``FACTORS``): PyTorch threads 1, 2 and the default
(``$RECSYS_TORCH_THREADS``), TensorFlow threads 1, 2 and the default
(``$TF_NUM_INTRAOP_THREADS`` and ``$TF_NUM_INTEROP_THREADS``),
``TF_ENABLE_ONEDNN_OPTS`` 0 and 1, ``OMP_NUM_THREADS`` unset and 1, seeds 0, 1 and 2
(the section's ``SEED = 0`` line rewritten). The settings are a pairwise covering
design (``--design pairwise``, the default: every pair of values of any two factors
occurs in at least one run, CI's setting and the learner's among them; 12 runs per
section instead of 108) or the full product (``--design full``).

Every run has ``$RECSYS_CLAIMS_LOG`` set, so each ``ru.assert_parity`` call records
its gap, and ``$RECSYS_PARITY_MEASURE=1``, so a gap beyond the tolerance is recorded
instead of raised and the run sees every check. The table (benchmarks/parity.md) has,
per check (notebook, name): the worst gap relative to the tolerance over all runs,
the setting that produced it, the tolerance and the margin, tolerance / worst gap
(``1 / max(|a - b| / (atol + rtol |b|))``), which must be at least 5. The raw
measurements go to benchmarks/parity.json; measuring some notebooks again replaces
their rows and keeps the others'. Exit status 1 when a margin is below 5, a check was
not measured in every run, or a run failed.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import json
import math
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

from coursetools.pyimports import strip_magics  # noqa: E402

ROOT = harness.ROOT
OUT = ROOT / "benchmarks" / "parity.md"
MIN_MARGIN = 5.0
COMMAND = "make parity"


def _select(paths: list[Path], root: Path | None) -> list:
    sections = [s for s in harness.sections_from(root) if s.is_parity]
    if not paths:
        return sections
    wanted = {Path(p).resolve() for p in paths}
    chosen = [s for s in sections if s.path.resolve() in wanted]
    missing = wanted - {s.path.resolve() for s in chosen}
    if missing:
        raise SystemExit(
            "not a parity section (chapters/NN_topic/MM_parity.ipynb): "
            + ", ".join(str(p) for p in sorted(missing))
        )
    return chosen


def measure(
    sections: list,
    settings: list[harness.Setting],
    scratch: Path,
    *,
    timeout: int,
    design: str = "pairwise",
    jobs: int = 1,
) -> list[dict]:
    """Run every parity section under every setting; one dict per run."""
    no_data = scratch / "no-data"
    no_data.mkdir(parents=True, exist_ok=True)
    plan = [
        (number, section, index, setting)
        for number, section in enumerate(sections)
        for index, setting in enumerate(settings)
    ]
    total = len(plan)
    done = []

    def one(job):
        number, section, index, setting = job
        folder = scratch / f"s{number:02d}-run{index:03d}"
        shutil.rmtree(folder, ignore_errors=True)
        [(_, kind, path, seeded)] = harness.stage_sections(
            [section], ["parity"], folder / "stage", seed=setting.seed
        )
        log = folder / "claims.jsonl"
        env = harness.kernel_env(
            kind,
            setting=setting,
            cache=folder / "cache",
            no_data=no_data,
            log=log,
            notebook=section.rel,
            extra={"RECSYS_PARITY_MEASURE": "1"},
        )
        result = harness.run_notebook(path, env=env, timeout=timeout)
        records = [r for r in harness.read_log(log) if r["kind"] == "parity"]
        done.append(job)
        status = "ok" if result.ok else "FAILED"
        print(
            f"[{len(done)}/{total}] {section.rel} ({setting.label()}): {status}, "
            f"{result.wall:.1f} s, {len(records)} checks recorded",
            flush=True,
        )
        for failure in result.failures:
            print(f"    cell {failure['cell']}: {failure['error']}", flush=True)
        if result.error:
            print(f"    {result.error[-600:]}", flush=True)
        return {
            "notebook": section.rel,
            "setting": setting.as_dict(),
            "label": setting.label(),
            "design": design,
            "seed_varied": seeded > 0,
            "wall": result.wall,
            "failures": result.failures,
            "error": result.error[-600:],
            "records": records,
        }

    # The gaps depend on the threads each kernel is given, not on the load: kernels
    # may run side by side (jobs > 1); the wall times recorded are then rough.
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs = list(pool.map(one, plan))
    return runs


def margin_of(used: float) -> float:
    """Tolerance / gap from ``used`` (gap / tolerance; 0: no gap at all)."""
    if used == 0:
        return math.inf
    if not math.isfinite(used):
        return 0.0
    return 1.0 / used


def summarize(runs: list[dict]) -> list[dict]:
    """One row per check (notebook, name): the run with the largest gap relative to
    its tolerance, that gap, the tolerance and the margin."""
    rows: dict[tuple[str, str], dict] = {}
    runs_of: dict[str, int] = {}
    for run in runs:
        runs_of[run["notebook"]] = runs_of.get(run["notebook"], 0) + 1
        seen = set()
        for rec in run["records"]:
            key = (run["notebook"], rec["name"])
            used = rec["used"] if rec["used"] is not None else math.inf
            row = rows.setdefault(
                key,
                {
                    "notebook": key[0],
                    "name": key[1],
                    "used": -1.0,
                    "runs": 0,
                    "tolerances": set(),
                },
            )
            row["tolerances"].add((rec["atol"], rec["rtol"]))
            if key not in seen:
                row["runs"] += 1
                seen.add(key)
            if used > row["used"]:
                row.update(
                    used=used,
                    gap=rec["gap"],
                    atol=rec["atol"],
                    rtol=rec["rtol"],
                    setting=run["label"],
                )
    out = []
    for row in rows.values():
        row["margin"] = margin_of(row["used"])
        row["of_runs"] = runs_of[row["notebook"]]
        row["varies"] = len(row.pop("tolerances")) > 1
        out.append(row)
    return sorted(out, key=lambda r: (r["notebook"], r["name"]))


def _number(x: float) -> str:
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return "inf"
    return f"{x:.3g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(runs: list[dict], *, when: str, command: str) -> str:
    """The markdown of benchmarks/parity.md."""
    rows = summarize(runs)
    designs = {r.get("design", "pairwise") for r in runs}
    notebooks = sorted({r["notebook"] for r in runs})
    low = [r for r in rows if r["margin"] < MIN_MARGIN]
    partial = [r for r in rows if r["runs"] < r["of_runs"]]
    failed = [r for r in runs if r["failures"] or r["error"]]
    unseeded = sorted({r["notebook"] for r in runs if not r["seed_varied"]})
    lines = [
        "# Parity: the measured gaps and their tolerances",
        "",
        f"Regenerate with `{COMMAND}` (benchmarks/parity.py; one notebook: "
        f"`{COMMAND} PARITY_NOTEBOOKS=chapters/<chapter>/<MM>_parity.ipynb`). "
        f"Measured {when} on {harness.machine()}; last command: `{command}`.",
        "",
        "Each parity section ran in a fresh kernel once per setting of PyTorch "
        "threads (1, 2, default), TensorFlow threads (1, 2, default), "
        "TF_ENABLE_ONEDNN_OPTS (0, 1), OMP_NUM_THREADS (unset, 1) and the seed "
        "(0, 1, 2; the section's `SEED = 0` line rewritten), "
        + (
            "as a pairwise covering design: every pair of values of any two factors "
            "occurs in at least one run, CI's setting (`make test`: one thread per "
            "kernel) and the learner's (nothing set) among them."
            if designs == {"pairwise"}
            else "the full product of these values."
            if designs == {"full"}
            else "as a pairwise covering design (every pair of values of any two "
            "factors in at least one run) or, for the sections whose `runs` column "
            "says 4, a quicker design in which every value of every factor occurs in "
            "at least one run, CI's setting and the learner's among them (the "
            "`design` field of benchmarks/parity.json says which)."
        )
        + " The margin is tolerance / worst gap, "
        "`1 / max(|a - b| / (atol + rtol * |b|))` over every element and every run; "
        f"it must be at least {MIN_MARGIN:g} (tests/test_parity_table.py checks "
        "that every `assert_parity` of every parity section is in this table with "
        "such a margin).",
        "",
        "| notebook | check | worst gap | setting of the worst gap | atol | rtol | "
        "margin | runs |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        flag = "" if r["margin"] >= MIN_MARGIN else " **below 5**"
        tol_note = " (varies)" if r["varies"] else ""
        lines.append(
            f"| {r['notebook']} | `{_cell(r['name'])}` | {_number(r['gap'])} | "
            f"{r['setting']} | {_number(r['atol'])}{tol_note} | {_number(r['rtol'])} "
            f"| {_number(r['margin'])}{flag} | {r['runs']}/{r['of_runs']} |"
        )
    lines += ["", "## Runs", ""]
    lines.append(
        f"{len(runs)} runs of {len(notebooks)} parity section(s); "
        f"{len(failed)} with a failing cell."
    )
    lines.append("")
    for run in failed:
        for f in run["failures"] or [{"cell": None, "error": run["error"]}]:
            lines.append(
                f"- {run['notebook']} ({run['label']}): cell {f['cell']}: "
                f"{_cell(f['error'][:300])}"
            )
    if failed:
        lines.append("")
    if low:
        lines.append(
            f"Checks with a margin below {MIN_MARGIN:g}: "
            + ", ".join(f"{r['notebook']} `{r['name']}`" for r in low)
            + ". Set the tolerance to at least 5x the worst gap (with a one-line "
            "reason in the cell), or compare what the lesson needs."
        )
        lines.append("")
    if partial:
        lines.append(
            "Checks not recorded in every run (a cell failed before them, or they "
            "run conditionally): "
            + ", ".join(
                f"{r['notebook']} `{r['name']}` ({r['runs']}/{r['of_runs']})"
                for r in partial
            )
        )
        lines.append("")
    if unseeded:
        lines.append(
            "Sections without a `SEED = 0` line (the seed could not be varied; the "
            "seed column is then only a label): " + ", ".join(unseeded) + "."
        )
        lines.append("")
    return "\n".join(lines)


def merge(previous: list[dict], new: list[dict], keep: set[str]) -> list[dict]:
    """The previous runs of the notebooks in ``keep`` that were not measured again,
    then the new runs."""
    measured = {r["notebook"] for r in new}
    return [
        r for r in previous if r["notebook"] in keep and r["notebook"] not in measured
    ] + new


# ---------------------------------------------------------------------------
# Reading the table back, and the checks the parity sections make (for the test)
# ---------------------------------------------------------------------------

_ROW = re.compile(
    r"^\| (?P<notebook>[^|]+?) \| `(?P<name>(?:[^`\\]|\\.)*)` \| (?P<gap>[^|]+?) \| "
    r"(?P<setting>[^|]+?) \| (?P<atol>[^|]+?) \| (?P<rtol>[^|]+?) \| "
    r"(?P<margin>[^|]+?) \| (?P<runs>[^|]+?) \|$"
)


def _float(text: str) -> float:
    text = text.split()[0]
    return math.inf if text == "inf" else float(text)


def read_table(text: str) -> list[dict]:
    """The rows of benchmarks/parity.md: notebook, name, atol, rtol, margin."""
    rows = []
    for line in text.splitlines():
        match = _ROW.match(line.strip())
        if match:
            rows.append(
                {
                    "notebook": match["notebook"],
                    "name": match["name"].replace("\\|", "|"),
                    "atol": _float(match["atol"]),
                    "rtol": _float(match["rtol"]),
                    "margin": _float(match["margin"]),
                }
            )
    return rows


#: ru.assert_parity's defaults (recsys_utils/claims.py).
DEFAULTS = {"atol": 1e-5, "rtol": 1e-4, "name": "parity"}


def _literal(node: ast.expr | None):
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def _name_pattern(node: ast.expr | None) -> re.Pattern | None:
    """The check's name as a pattern: a literal exactly, an f-string with ``.+``
    for each replacement field; None for anything else."""
    if node is None:
        return re.compile(re.escape(DEFAULTS["name"]))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.compile(re.escape(node.value))
    if isinstance(node, ast.JoinedStr):
        parts = [
            re.escape(v.value) if isinstance(v, ast.Constant) else ".+"
            for v in node.values
        ]
        return re.compile("".join(parts))
    return None


def parity_calls(nb) -> list[dict]:
    """Every ``assert_parity(...)`` call in a notebook's code cells: its cell, line,
    name pattern (None: not a literal or f-string) and literal tolerances (None: an
    expression the table cannot be compared with)."""
    calls = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        code = strip_magics(cell.source)
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else getattr(func, "id", None)
            )
            if called != "assert_parity":
                continue
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            tolerances = {}
            for key in ("atol", "rtol"):
                tolerances[key] = DEFAULTS[key] if key not in kw else _literal(kw[key])
            calls.append(
                {
                    "cell": index,
                    "line": node.lineno,
                    "source": ast.get_source_segment(code, node) or "",
                    "pattern": _name_pattern(kw.get("name")),
                    **tolerances,
                }
            )
    return calls


def table_problems(sections: list, table_text: str) -> list[str]:
    """What the table misses: a parity check of a section with no row, or with a
    margin below 5, or measured with another literal tolerance than the cell's now;
    a row that no check of its notebook matches any more."""
    import nbformat

    rows = read_table(table_text)
    problems = []
    used = set()
    for section in sections:
        if not section.is_parity:
            continue
        nb = nbformat.read(section.path, as_version=4)
        for call in parity_calls(nb):
            where = f"chapters/{section.rel}, cell {call['cell']}: {call['source']}"
            if call["pattern"] is None:
                problems.append(
                    f"{where}: name= must be a string or an f-string, so that "
                    "benchmarks/parity.md can be matched with it"
                )
                continue
            mine = [
                (i, r)
                for i, r in enumerate(rows)
                if r["notebook"] == section.rel and call["pattern"].fullmatch(r["name"])
            ]
            if not mine:
                problems.append(
                    f"{where}: not measured in benchmarks/parity.md; run "
                    f"`make parity PARITY_NOTEBOOKS=chapters/{section.rel}`"
                )
                continue
            for i, row in mine:
                used.add(i)
                if row["margin"] < MIN_MARGIN:
                    problems.append(
                        f"{where}: check {row['name']!r} has a margin of "
                        f"{row['margin']:.3g} in benchmarks/parity.md (at least "
                        f"{MIN_MARGIN:g}): widen the tolerance to 5x the worst gap, "
                        "with its reason, and measure again"
                    )
                for key in ("atol", "rtol"):
                    value = call[key]
                    if value is not None and not math.isclose(
                        value, row[key], rel_tol=1e-6, abs_tol=0.0
                    ):
                        problems.append(
                            f"{where}: {key}={value:g} in the cell but {row[key]:g} "
                            f"in benchmarks/parity.md for {row['name']!r}: measure "
                            "again (`make parity`)"
                        )
    parity_rels = {s.rel for s in sections if s.is_parity}
    for i, row in enumerate(rows):
        if i not in used:
            problems.append(
                f"benchmarks/parity.md: the row {row['notebook']} `{row['name']}` "
                "matches no assert_parity of "
                + (
                    "that section"
                    if row["notebook"] in parity_rels
                    else "any parity section"
                )
                + " any more: run `make parity`"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument(
        "--design", choices=("pairwise", "each", "full"), default="pairwise"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="kernels side by side (the gaps do not "
        "depend on the load; the recorded wall times do)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--chapters", type=Path, default=None, help="the chapters folder"
    )
    parser.add_argument("--scratch", type=Path, default=ROOT / "_build" / "parity")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    sections = _select(args.notebooks, args.chapters)
    settings = {
        "pairwise": harness.pairwise_settings,
        "each": harness.each_value_settings,
        "full": harness.all_settings,
    }[args.design]()
    print(
        f"{len(sections)} parity section(s) x {len(settings)} settings ({args.design})",
        flush=True,
    )
    with harness.handle_termination():
        runs = measure(
            sections,
            settings,
            args.scratch,
            timeout=args.timeout,
            design=args.design,
            jobs=args.jobs,
        )
    raw = args.out.with_suffix(".json")
    previous = json.loads(raw.read_text())["runs"] if raw.is_file() else []
    current = {s.rel for s in harness.sections_from(args.chapters) if s.is_parity}
    runs = merge(previous, runs, current)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = harness.command_line()
    raw.write_text(json.dumps({"design": args.design, "runs": runs}, indent=1) + "\n")
    text = render(runs, when=when, command=command)
    args.out.write_text(text + "\n")
    print(text)
    print(f"written to {args.out} and {raw}")
    rows = summarize(runs)
    bad = (
        any(r["margin"] < MIN_MARGIN for r in rows)
        or any(r["runs"] < r["of_runs"] for r in rows)
        or any(r["failures"] or r["error"] for r in runs)
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
