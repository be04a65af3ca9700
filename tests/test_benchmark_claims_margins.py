"""benchmarks/claims_margins.py (make claims): each asserted claim's room for each
seed, with the section's SEED line rewritten; a claim that fails for a seed is
flagged."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import claims_margins  # noqa: E402


def _claim(seed, name, room, value=1.0):
    return {
        "kind": "claim",
        "name": name,
        "value": value,
        "at_least": 0.5,
        "at_most": None,
        "room": room,
    }


def _run(seed, *claims, failures=()):
    return {
        "notebook": "01_x/02_training.ipynb",
        "framework": "pytorch",
        "seed": seed,
        "seed_varied": True,
        "claims": list(claims),
        "failures": list(failures),
    }


def test_the_table_flags_a_claim_that_fails_or_is_not_reached_for_a_seed():
    runs = [
        _run(0, _claim(0, "EASE beats popularity", 0.2), _claim(0, "tail", 0.1)),
        _run(1, _claim(1, "EASE beats popularity", -0.01)),
        _run(
            2,
            _claim(2, "EASE beats popularity", 0.05),
            _claim(2, "tail", 0.3),
            failures=[{"cell": 7, "error": "AssertionError: x"}],
        ),
    ]
    rows = claims_margins.table(runs, [0, 1, 2])
    assert [(r["name"], r["failing"], r["missing"], r["smallest"]) for r in rows] == [
        ("EASE beats popularity", [1], [], -0.01),
        ("tail", [], [1], 0.1),
    ]
    text = claims_margins.render(runs, [0, 1, 2], when="now", command="make claims")
    assert (
        "| 01_x/02_training.ipynb | PyTorch | `EASE beats popularity` | at least 0.5 | "
        "0.2 | -0.01 | 0.05 | -0.01 | **no** (seed 1) |"
    ) in text
    assert "| 0.1 | not reached | 0.3 | 0.1 | **not reached** (seed 1) |" in text
    assert (
        "- 01_x/02_training.ipynb [PyTorch, seed 2]: cell 7: AssertionError: x" in text
    )


def test_make_claims_runs_each_seed_with_its_seed_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative --scratch: the kernels run elsewhere
    folder = tmp_path / "chapters" / "01_x"
    folder.mkdir(parents=True)
    cells = [
        new_markdown_cell("# 1.1 Toy"),
        new_code_cell(
            "import recsys_utils as ru\n\nSEED = 0\nFRAMEWORK = ru.framework()"
        ),
        new_code_cell(
            "ru.assert_claim('seed at least one', float(SEED), at_least=1.0)"
        ),
        new_code_cell(  # measured even where the claim above fails
            "ru.assert_claim('seed at most one', float(SEED), at_most=1.0)"
        ),
    ]
    nbformat.write(new_notebook(cells=cells), folder / "01_toy.ipynb")
    out = tmp_path / "claims.md"
    status = claims_margins.main(
        [
            "--chapters",
            str(tmp_path / "chapters"),
            "--seeds",
            "0",
            "2",
            "--out",
            str(out),
            "--scratch",
            "scratch",
        ]
    )
    assert status == 1  # seed 0 fails the claim
    text = out.read_text()
    assert (
        "| 01_x/01_toy.ipynb | PyTorch | `seed at least one` | at least 1 | -1 | 1 | "
        "-1 | **no** (seed 0) |"
    ) in text
    assert (
        "| 01_x/01_toy.ipynb | PyTorch | `seed at most one` | at most 1 | 1 | -1 | "
        "-1 | **no** (seed 2) |"
    ) in text
    assert "AssertionError" not in text  # a failing claim is recorded, not raised


def test_plain_comparison_asserts_are_listed_as_unmeasured(tmp_path):
    folder = tmp_path / "chapters" / "01_x"
    folder.mkdir(parents=True)
    cells = [
        new_markdown_cell("# 1.1 Toy"),
        new_code_cell("assert ease > pop + 0.05\nassert x.shape == (3,)\n%time f()"),
        new_code_cell(
            "ru.assert_claim('EASE beats popularity', ease - pop, at_least=0.05)"
        ),
    ]
    nbformat.write(new_notebook(cells=cells), folder / "01_toy.ipynb")
    sections = claims_margins.harness.sections_from(tmp_path / "chapters")
    assert claims_margins.plain_comparisons(sections) == [
        ("01_x/01_toy.ipynb", 1, "assert ease > pop + 0.05")
    ]
    text = claims_margins.render(
        [],
        [0, 1, 2],
        when="now",
        command="make claims",
        unmeasured=claims_margins.plain_comparisons(sections),
    )
    assert "- 01_x/01_toy.ipynb, cell 1: `assert ease > pop + 0.05`" in text
