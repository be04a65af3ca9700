"""benchmarks/run_notebooks.py (make bench): what it runs, what it counts as a
changed number, and how it reports medians, budgets and the load ratio."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import harness  # noqa: E402
import run_notebooks as bench  # noqa: E402


def test_fingerprint_masks_timings_and_addresses_but_not_numbers():
    # each string is one output of a cell: a print, then a styled table's repr
    run_a = ["trained in 3.2 s; recall 0.412", "<pandas...Styler at 0x7f1a>"]
    run_b = ["trained in 4.9 s; recall 0.412", "<pandas...Styler at 0x7f2b>"]
    run_c = ["trained in 4.9 s; recall 0.413", "<pandas...Styler at 0x7f2b>"]
    assert bench._fingerprint(run_a) == bench._fingerprint(run_b)
    assert bench._fingerprint(run_a) != bench._fingerprint(run_c)


def test_env_options_set_and_unset():
    assert bench.parse_env(["RECSYS_TORCH_THREADS=2", "OMP_NUM_THREADS="]) == {
        "RECSYS_TORCH_THREADS": "2",
        "OMP_NUM_THREADS": None,
    }
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        bench.parse_env(["no equals sign"])


def test_it_times_every_framework_section_of_the_course_but_no_parity_section():
    sections = harness.sections_from()
    chosen = bench.select(sections, [])
    assert chosen and all(not s.is_parity for s in chosen)
    assert len(chosen) == sum(not s.is_parity for s in sections)
    assert {s.chapter for s in chosen} == {s.chapter for s in sections}
    only = bench.select(sections, ["02_protocol"])
    assert [s.rel for s in only] == ["00_getting_started/02_protocol.ipynb"]
    with pytest.raises(SystemExit, match="no section"):
        bench.select(sections, ["no such section"])


def _section(chapter_dir, number):
    return SimpleNamespace(
        chapter_dir=chapter_dir, rel=f"{chapter_dir}/{number:02d}_s.ipynb"
    )


def _result(wall, ok=True, printed="recall 0.412\n"):
    failures = [] if ok else [{"cell": 3, "error": "ValueError: x", "source": ""}]
    return harness.RunResult(wall, 500.0, failures, "", [printed], cpu=3.0)


def test_summary_takes_the_median_of_chapter_sums_and_flags_the_budgets():
    a, b = _section("01_x", 1), _section("01_x", 2)
    results = {
        ("idle", "pytorch"): [
            [(a, _result(10.0)), (b, _result(50.0))],
            [(a, _result(12.0)), (b, _result(70.0))],  # b over 60 s in this run
            [(a, _result(11.0)), (b, _result(52.0))],
        ],
        ("burner", "pytorch"): [
            [(a, _result(15.0)), (b, _result(90.0))],
            [(a, _result(14.0)), (b, _result(95.0, printed="recall 0.5\n"))],
            [(a, _result(16.0)), (b, _result(91.0, ok=False))],
        ],
    }
    modes, frameworks = ["idle", "burner"], ["pytorch"]
    summary = bench.summarize(results, modes, frameworks)
    chapter = summary["chapters"]["01_x"]
    assert chapter[("idle", "pytorch")]["median"] == 63.0  # sums 60, 82, 63
    assert chapter[("burner", "pytorch")] is None  # a run failed
    section = summary["sections"]["01_x/02_s.ipynb"]
    assert section[("idle", "pytorch")]["stats"]["median"] == 52.0
    text = bench.render(summary, modes, frameworks, header=["# head"])
    assert "| 01_x | 63.0 (60.0-82.0) | failed | n/a |" in text
    row_a = "| 01_x/01_s.ipynb | 11.0 (10.0-12.0) | 15.0 (14.0-16.0) | 1.36 |"
    assert row_a in text
    assert "| 01_x/02_s.ipynb | 52.0 (50.0-70.0) | failed | n/a |" in text
    assert (
        "| 01_x/02_s.ipynb | 500 | 3.0 / 3.0 | PyTorch: no (1 lines differ) |" in text
    )
    assert "- 01_x/02_s.ipynb [PyTorch, burner]: cell 3: ValueError: x" in text
    assert "- 01_x/02_s.ipynb [PyTorch]: `recall 0.412` / `recall 0.5`" in text
    assert "01_x/01_s.ipynb [PyTorch]: `" not in text  # its prints never changed


def _executed(tmp_path, cells):
    nb = nbformat.v4.new_notebook()
    for source, text, tags in cells:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags})
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        cell.execution_count = 1
        nb.cells.append(cell)
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_cell_tagged_varies_between_runs_has_every_number_masked(tmp_path):
    varies = [harness.VARIES]
    run_a = _executed(
        tmp_path,
        [
            ("print(r)", "recall 0.412\n", []),
            ("print(t)", "flat 0.0124 ms/query, 17,762 q\nport 58407\n", varies),
        ],
    )
    _, printed_a = harness._failures(run_a)
    run_b = _executed(
        tmp_path,
        [
            ("print(r)", "recall 0.412\n", []),
            ("print(t)", "flat  0.0120 ms/query, 16,351 q\nport 35997\n", varies),
        ],
    )
    _, printed_b = harness._failures(run_b)
    assert printed_a == printed_b
    assert printed_a[0] == "[cell 0] recall 0.412"  # an untagged cell keeps its numbers
    assert printed_a[1] == "[cell 1] flat <n> ms/query, <n> q\n[cell 1] port <n>"
    run_c = _executed(tmp_path, [("print(r)", "recall 0.413\n", varies[:0])])
    _, printed_c = harness._failures(run_c)
    assert bench._fingerprint(printed_c) != bench._fingerprint(printed_a[:1])
    # the difference is listed with its cell
    pairs = bench._differences([bench._fingerprint(p) for p in (printed_a, printed_c)])
    assert pairs[0] == ("[cell 0] recall 0.412", "[cell 0] recall 0.413")
    assert len(pairs) == 3  # and the two lines run c does not print


def test_a_loaded_run_over_one_and_a_half_times_idle_is_flagged():
    a = _section("01_x", 1)
    results = {
        ("idle", "tensorflow"): [[(a, _result(20.0))]],
        ("burner", "tensorflow"): [[(a, _result(70.0))]],
    }
    text = bench.render(
        bench.summarize(results, ["idle", "burner"], ["tensorflow"]),
        ["idle", "burner"],
        ["tensorflow"],
        header=[],
    )
    assert "| 01_x | 20.0 (20.0-20.0) | 70.0 (70.0-70.0) | 3.50 **over 1.5** |" in text
    assert "70.0 (70.0-70.0) **over 60 s**" in text


def test_a_busy_machine_is_said_to_give_rough_times():
    assert bench.busy_note("0.40") == ""
    assert "the times are rough" in bench.busy_note("10.9")
    assert bench.busy_note("n/a") == ""
