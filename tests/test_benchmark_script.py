"""benchmarks/run_notebooks.py: what it times and what it counts as a changed number."""

import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "00_getting_started.ipynb"


def _bench():
    spec = importlib.util.spec_from_file_location(
        "run_notebooks", ROOT / "benchmarks" / "run_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fingerprint_masks_timings_and_addresses_but_not_numbers():
    bench = _bench()
    # each string is one output of a cell: a print, then a styled table's repr
    run_a = ["trained in 3.2 s; recall 0.412", "<pandas...Styler at 0x7f1a>"]
    run_b = ["trained in 4.9 s; recall 0.412", "<pandas...Styler at 0x7f2b>"]
    run_c = ["trained in 4.9 s; recall 0.413", "<pandas...Styler at 0x7f2b>"]
    assert bench._fingerprint(run_a) == bench._fingerprint(run_b)
    assert bench._fingerprint(run_a) != bench._fingerprint(run_c)


def test_edition_holds_the_frameworks_cells_and_no_parity_cell(tmp_path):
    bench = _bench()
    chapter = nbformat.read(CHAPTER, as_version=4).cells
    for framework, other in (("pytorch", "tensorflow"), ("tensorflow", "pytorch")):
        path = bench.write_edition(CHAPTER, framework, tmp_path)
        assert tmp_path in path.parents and path.parent.name == framework
        sources = {c.source for c in nbformat.read(path, as_version=4).cells}
        tagged = {
            tag: [c.source for c in chapter if tag in c.metadata.get("tags", [])]
            for tag in (framework, other, "parity")
        }
        assert tagged[framework] and tagged[other] and tagged["parity"]
        assert all(s in sources for s in tagged[framework]), framework
        assert not any(s in sources for s in tagged[other] + tagged["parity"])
