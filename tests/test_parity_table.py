"""Every parity check of every parity section is measured in benchmarks/parity.md
with a margin of at least 5 (static: the table and the notebooks are parsed; `make
parity` measures). A new check without a measurement fails here."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import harness  # noqa: E402
import parity  # noqa: E402

TABLE = ROOT / "benchmarks" / "parity.md"


def test_every_parity_check_is_measured_with_a_margin_of_five():
    sections = harness.sections_from()
    assert any(s.is_parity for s in sections)
    problems = parity.table_problems(sections, TABLE.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_the_table_says_how_to_regenerate_it():
    text = TABLE.read_text(encoding="utf-8")
    assert "make parity" in text and "benchmarks/parity.py" in text


# --- the reader and the matcher, on a made-up chapter --------------------------------


def _run(notebook, name, gap, used, atol=1e-6, rtol=0.0, label="torch 1, seed 0"):
    record = {
        "kind": "parity",
        "name": name,
        "gap": gap,
        "atol": atol,
        "rtol": rtol,
        "used": used,
    }
    return {
        "notebook": notebook,
        "label": label,
        "design": "pairwise",
        "seed_varied": True,
        "failures": [],
        "error": "",
        "records": [record],
    }


def test_summary_keeps_the_worst_run_and_its_setting():
    runs = [
        _run("01_x/03_parity.ipynb", "losses", 1e-7, 0.1, label="A"),
        _run("01_x/03_parity.ipynb", "losses", 3e-7, 0.3, label="B"),
        _run("01_x/03_parity.ipynb", "losses", 2e-7, 0.2, label="C"),
    ]
    [row] = parity.summarize(runs)
    assert row["setting"] == "B" and row["gap"] == 3e-7
    assert math.isclose(row["margin"], 1 / 0.3)
    assert row["runs"] == row["of_runs"] == 3
    assert parity.margin_of(0.0) == math.inf and parity.margin_of(math.inf) == 0.0


def test_rendered_table_reads_back():
    runs = [
        _run("01_x/03_parity.ipynb", "losses | epoch", 1e-7, 0.1),
        _run("01_x/03_parity.ipynb", "scores", 4e-7, 0.4, atol=1e-6, rtol=1e-4),
    ]
    text = parity.render(runs, when="now", command="make parity")
    rows = parity.read_table(text)
    assert [(r["notebook"], r["name"]) for r in rows] == [
        ("01_x/03_parity.ipynb", "losses | epoch"),
        ("01_x/03_parity.ipynb", "scores"),
    ]
    assert rows[0]["margin"] == pytest.approx(10.0, rel=1e-2)
    assert rows[1]["margin"] == pytest.approx(2.5, rel=1e-2)
    assert rows[1]["rtol"] == 1e-4
    assert "**below 5**" in text and "Checks with a margin below 5" in text


def _chapter(tmp_path, *calls):
    folder = tmp_path / "chapters" / "01_x"
    folder.mkdir(parents=True)
    nb = new_notebook(
        cells=[
            new_markdown_cell("# 1.3 Parity"),
            new_code_cell("import recsys_utils as ru\n\nSEED = 0"),
            *(new_code_cell(c) for c in calls),
        ]
    )
    nbformat.write(nb, folder / "03_parity.ipynb")
    return harness.sections_from(tmp_path / "chapters")


def _table(*rows):
    runs = [_run("01_x/03_parity.ipynb", name, 1e-7, used) for name, used in rows]
    return parity.render(runs, when="now", command="make parity")


def test_a_measured_check_with_margin_passes(tmp_path):
    sections = _chapter(
        tmp_path, "ru.assert_parity(a, b, atol=1e-6, rtol=0, name='losses')"
    )
    assert parity.table_problems(sections, _table(("losses", 0.1))) == []


def test_a_check_without_a_measurement_fails(tmp_path):
    sections = _chapter(
        tmp_path,
        "ru.assert_parity(a, b, atol=1e-6, rtol=0, name='losses')",
        "for k in KEYS:\n    ru.assert_parity(a[k], b[k], atol=1e-6, rtol=0, "
        "name=f'weights {k}')",
    )
    [problem] = parity.table_problems(sections, _table(("losses", 0.1)))
    assert "not measured" in problem and "name=f'weights {k}'" in problem
    # an f-string matches the names it produced
    table = _table(("losses", 0.1), ("weights user", 0.1), ("weights item", 0.1))
    assert parity.table_problems(sections, table) == []


def test_a_margin_below_five_fails(tmp_path):
    sections = _chapter(tmp_path, "ru.assert_parity(a, b, atol=1e-6, rtol=0)")
    [problem] = parity.table_problems(sections, _table(("parity", 0.25)))
    assert "margin of 4" in problem


def test_a_tolerance_changed_since_the_measurement_fails(tmp_path):
    sections = _chapter(
        tmp_path, "ru.assert_parity(a, b, atol=1e-5, rtol=0, name='losses')"
    )
    [problem] = parity.table_problems(sections, _table(("losses", 0.01)))
    assert "atol=1e-05 in the cell but 1e-06" in problem


def test_a_name_that_cannot_be_matched_fails(tmp_path):
    sections = _chapter(tmp_path, "ru.assert_parity(a, b, atol=TOL, name=label)")
    problems = parity.table_problems(sections, _table(("losses", 0.1)))
    assert "name= must be a string" in problems[0]


def test_a_row_that_no_check_makes_any_more_fails(tmp_path):
    sections = _chapter(
        tmp_path, "ru.assert_parity(a, b, atol=1e-6, rtol=0, name='losses')"
    )
    problems = parity.table_problems(sections, _table(("losses", 0.1), ("old", 0.1)))
    assert len(problems) == 1 and "`old` matches no assert_parity" in problems[0]


def test_measuring_a_notebook_again_keeps_the_other_notebooks_rows():
    old = [
        _run("01_x/03_parity.ipynb", "a", 1e-7, 0.1),
        _run("02_y/03_parity.ipynb", "b", 1e-7, 0.1),
    ]
    new = [_run("01_x/03_parity.ipynb", "c", 1e-7, 0.1)]
    kept = parity.merge(old, new, keep={"01_x/03_parity.ipynb", "02_y/03_parity.ipynb"})
    assert [(r["notebook"], r["records"][0]["name"]) for r in kept] == [
        ("02_y/03_parity.ipynb", "b"),
        ("01_x/03_parity.ipynb", "c"),
    ]
    assert parity.merge(old, new, keep={"01_x/03_parity.ipynb"}) == new


def test_make_parity_measures_a_section_under_its_settings(tmp_path, monkeypatch):
    # a parity section whose gap grows with the seed: seed 2 gives 3e-7 of 1e-6
    _chapter(
        tmp_path,
        "ru.assert_parity([1.0, 2.0], [1.0, 2.0 + 1e-7 * (SEED + 1)], atol=1e-6, "
        "rtol=0, name='toy')",
    )
    monkeypatch.setattr(
        harness, "pairwise_settings", lambda: [harness.Setting(tf_threads=1, seed=2)]
    )
    out = tmp_path / "parity.md"
    status = parity.main(
        [
            "--chapters",
            str(tmp_path / "chapters"),
            "--out",
            str(out),
            "--scratch",
            str(tmp_path / "scratch"),
            "--timeout",
            "120",
        ]
    )
    assert status == 1  # the margin is 3.3, below 5
    [row] = parity.read_table(out.read_text())
    assert row["notebook"] == "01_x/03_parity.ipynb" and row["name"] == "toy"
    assert row["margin"] == pytest.approx(1e-6 / 3e-7, rel=1e-2)  # 3 digits shown
    assert "tf 1" in out.read_text() and (tmp_path / "parity.json").is_file()
