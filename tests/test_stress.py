"""benchmarks/stress.py (make stress): the seeded draws, the units it runs, and a
failing cell reported with its notebook, cell and error while a core is busy."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import harness  # noqa: E402
import stress  # noqa: E402


def test_a_draw_depends_only_on_the_seed_the_draw_and_the_unit():
    a = stress.draw(0, 0, "pytorch:03_two_tower")
    assert a == stress.draw(0, 0, "pytorch:03_two_tower")
    units = [f"pytorch:{n:02d}_chapter" for n in range(40)]
    draws = [stress.draw(0, 0, u) for u in units]
    assert len(set(draws)) > 30  # the units get different settings
    for name, values in harness.FACTORS.items():  # every value of every factor
        assert {d.as_dict()[name] for d in draws} == set(values), name
    assert [stress.draw(1, 0, u) for u in units] != draws


def _chapter(root):
    folder = root / "01_toy"
    folder.mkdir(parents=True)
    cells = [
        new_markdown_cell("# 1.1 Toy"),
        new_code_cell(
            "import recsys_utils as ru\n\nSEED = 0\nFRAMEWORK = ru.framework()"
        ),
        new_code_cell("assert SEED != 1, 'fails for seed 1'"),
    ]
    nbformat.write(new_notebook(cells=cells), folder / "01_toy.ipynb")
    cells = [
        new_markdown_cell("# 1.2 Parity"),
        new_code_cell("import recsys_utils as ru\n\nSEED = 0"),
    ]
    nbformat.write(new_notebook(cells=cells), folder / "02_parity.ipynb")
    return harness.sections_from(root)


def test_units_are_each_chapter_per_framework_and_each_parity_section(tmp_path):
    sections = _chapter(tmp_path / "chapters")
    assert [
        (name, kind, [s.number for s in secs])
        for name, kind, secs in stress.units(sections)
    ] == [
        ("pytorch:01_toy", "pytorch", [1]),
        ("tensorflow:01_toy", "tensorflow", [1]),
        ("parity:01_toy/02_parity.ipynb", "parity", [2]),
    ]


def test_a_failing_cell_is_reported_under_load(tmp_path):
    sections = _chapter(tmp_path / "chapters")
    setting = harness.Setting(torch_threads=2, omp=1, seed=1)
    with harness.Burner() as burner:
        runs = stress.run_unit(
            "pytorch", sections[:1], setting, tmp_path / "scratch", timeout=120
        )
        assert burner.running
    [run] = runs
    assert run["notebook"] == "01_toy/01_toy.ipynb" and run["seed_varied"]
    [failure] = run["failures"]
    assert failure["error"] == "AssertionError: fails for seed 1"
    assert failure["source"] == "assert SEED != 1, 'fails for seed 1'"
    text = stress.render(runs, header=["# Stress"])
    assert "1 notebook runs, 1 failing cell(s)." in text
    assert (
        "| 01_toy/01_toy.ipynb | pytorch | 3 | AssertionError: fails for seed 1 | "
        "`assert SEED != 1, 'fails for seed 1'` | torch 2, tf default, oneDNN default, "
        "OMP 1, seed 1 |"
    ) in text
