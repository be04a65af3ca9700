"""No race asserted as a fact (issue 23, item 2): every assert on a timing in a
section is a reviewed ratio with a margin of at least 3x (benchmarks/
timing_asserts.yml); the others are printed. `python benchmarks/timing_asserts.py`
lists what this test sees."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import harness  # noqa: E402
import timing_asserts as ta  # noqa: E402


def test_every_timing_assert_of_the_chapters_is_reviewed():
    found = ta.find(harness.sections_from())
    missing, stale = ta.unreviewed(found, ta.read_reviewed())
    report = [f"unreviewed: {f}" for f in missing] + [
        f"stale entry of benchmarks/timing_asserts.yml: chapters/{r.section}: "
        f"{r.source}"
        for r in stale
    ]
    assert not report, (
        "An assert on a timing is a race unless it is a ratio measured within one "
        "process, best of several repeats, with a margin of at least 3x: print the "
        "measurement instead (and say in the text that it depends on the machine), "
        "or review it into benchmarks/timing_asserts.yml with its reason and "
        "margin:\n" + "\n".join(report)
    )


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ('assert hnsw["speedup"] < ivf["speedup"]', ("speedup",)),
        ('assert exact_ms["classroom"] < 1.0', ("ms",)),
        ("assert (\n    t_ivf\n    < t_hnsw_seconds\n)", ("seconds",)),
        ("assert time.perf_counter() - start < 5", ("perf", "time")),
        ("assert build_time_ivf < build_time_hnsw, 'IVF builds faster'", ("time",)),
        ("ru.assert_claim('IVF speed-up over exact', ratio, at_least=10)", ("speed",)),
        ("np.testing.assert_array_less(qps_a, qps_b)", ("qps",)),
        ("assert elapsedTime > 0", ("elapsed", "time")),
        ('assert speed["times the NumPy product"].iloc[0] > 20', ("speed", "times")),
    ],
)
def test_an_assert_on_a_timing_is_found(source, words):
    [(_, found)] = ta.find_in_source(source)
    assert found == words


@pytest.mark.parametrize(
    "source",
    [
        "assert recall > 0.1",
        "assert gap < 1e-6, 'took 3 seconds'",  # the message is not read
        "assert by_k.train_rmse.is_monotonic_decreasing",
        "assert df.timestamp.is_monotonic_increasing",  # a timestamp is no timing
        'print(f"trained in {time.perf_counter() - start:.1f} s")',  # printed: fine
        "speedup = t_exact / t_ivf",
        "%timeit f()\nassert True",
    ],
)
def test_other_code_is_not_a_timing_assert(source):
    assert ta.find_in_source(source) == []


def test_reviewed_entries_excuse_an_assert_and_rot_visibly(tmp_path):
    folder = tmp_path / "chapters" / "07_scaling"
    folder.mkdir(parents=True)
    nb = new_notebook(
        cells=[
            new_markdown_cell("# 7.3 FAISS"),
            new_code_cell(
                "assert ivf['speedup'] >= 10\nassert hnsw['qps'] > ivf['qps']"
            ),
        ]
    )
    nbformat.write(nb, folder / "03_faiss.ipynb")
    found = ta.find(harness.sections_from(tmp_path / "chapters"))
    assert [(f.section, f.cell) for f in found] == [
        ("07_scaling/03_faiss.ipynb", 1)
    ] * 2
    reviewed = tmp_path / "reviewed.yml"
    reviewed.write_text(
        "- section: 07_scaling/03_faiss.ipynb\n"
        "  assert: assert ivf['speedup'] >= 10\n"
        "  reason: best of 5 runs of both searches in one process; measured 76x\n"
        "  margin: 7.6\n"
        "- section: 07_scaling/03_faiss.ipynb\n"
        "  assert: assert hnsw['speedup'] > 2\n"
        "  reason: removed since\n"
        "  margin: 4\n"
    )
    missing, stale = ta.unreviewed(found, ta.read_reviewed(reviewed))
    assert [m.source for m in missing] == ["assert hnsw['qps'] > ivf['qps']"]
    assert [s.source for s in stale] == ["assert hnsw['speedup'] > 2"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- section: a\n  assert: b\n  reason: c\n  margin: 2\n", "below 3"),
        ("- section: a\n  assert: b\n  margin: 4\n", "expected section"),
        ("- section: a\n  assert: b\n  reason: c\n  margin: many\n", "expected"),
        ("section: a\n", "expected a list"),
    ],
)
def test_a_bad_reviewed_entry_is_a_clear_error(tmp_path, entry, message):
    path = tmp_path / "reviewed.yml"
    path.write_text(entry)
    with pytest.raises(ValueError, match=message):
        ta.read_reviewed(path)
