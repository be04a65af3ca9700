"""The recorded MovieLens results (recsys_utils/results/movielens/): one per MovieLens
section and framework, with provenance, matching the section's current code; and, with
the real archive on disk, a fresh run agrees with its record."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import coursetools.record
from coursetools.record import RESULTS, book_modules, code_digest, record_sections
from coursetools.sections import discover
from recsys_utils.recorded import Record, load_record, provenance_line, table_frame

MOVIELENS = [s for s in discover() if s.is_movielens]
PAIRS = [(s, f) for s in MOVIELENS for f in ("pytorch", "tensorflow")]


@pytest.mark.parametrize(
    "section, framework", PAIRS, ids=lambda x: getattr(x, "rel", x)
)
def test_every_movielens_section_has_a_current_record(section, framework):
    record = load_record(section.chapter, framework)
    assert record is not None, (
        f"no record for chapters/{section.rel} ({framework}): run make "
        "movielens-results with the archive"
    )
    assert record["chapter"] == section.chapter and record["framework"] == framework
    assert record["section"] == f"chapters/{section.rel}"
    assert record["tables"], "a record holds at least one table"
    for name in record["tables"]:
        assert not table_frame(record, name).empty, name
    p = record["provenance"]
    assert {"commit", "date", "machine", "versions", "seconds"} <= set(p)
    assert len(p["commit"]) == 40 and p["seconds"] > 0
    assert not p["uncommitted_changes"], "recorded from uncommitted chapter sources"
    assert record["code_digest"] == code_digest(section, framework), (
        f"chapters/{section.rel} changed since its {framework} record: run make "
        "movielens-results with the archive"
    )
    assert "Recorded on" in provenance_line(record)


def test_a_digest_covers_the_exported_code_its_edition_imports(tmp_path, monkeypatch):
    # A copy of recsys_utils/book, so the test can change a module and see which
    # framework's digest moves: a TensorFlow-only change leaves the PyTorch record
    # current, a change to the shared module stales both.
    book = tmp_path / "book"
    shutil.copytree(coursetools.record._BOOK, book)
    monkeypatch.setattr(coursetools.record, "_BOOK", book)
    section = next(s for s in MOVIELENS if s.chapter == 3)
    names = {
        f: [m.name for m in book_modules(f"from recsys_utils.book.ch03{f} import x")]
        for f in ("_torch", "_tf")
    }
    assert names == {
        "_torch": ["ch03.py", "ch03_torch.py"],
        "_tf": ["ch03.py", "ch03_tf.py"],
    }
    # each cell is parsed on its own: one that is not Python hides no other's imports
    cells = ("%%bash\nls (", "from recsys_utils.book import ch03_tf as code")
    assert [m.name for m in book_modules(*cells)] == ["ch03.py", "ch03_tf.py"]
    before = {f: code_digest(section, f) for f in ("pytorch", "tensorflow")}
    with (book / "ch03_tf.py").open("a") as module:
        module.write("# a change to the TensorFlow code only\n")
    after = {f: code_digest(section, f) for f in ("pytorch", "tensorflow")}
    assert after["pytorch"] == before["pytorch"]
    assert after["tensorflow"] != before["tensorflow"]
    with (book / "ch03.py").open("a") as module:
        module.write("# a change to the code both frameworks import\n")
    assert all(code_digest(section, f) != after[f] for f in after)


def test_a_record_keeps_tables_curves_and_values(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_RECORD_DIR", str(tmp_path))
    record = Record(chapter=3, framework="tensorflow", protocol="STRATIFIED")
    frame = pd.DataFrame({"ndcg@10": [0.4, float("nan")]}, index=["EASE", "two-tower"])
    shown = record.table("results", frame)
    digits = pd.get_option("display.precision")
    assert shown["ndcg@10"].tolist() == [f"{0.4:.{digits}f}", "–"]
    assert frame["ndcg@10"].isna().sum() == 1, "the caller's frame is left as it was"
    record.curve("two-tower", [0.1, 0.2])
    record.value("best_epoch", 7)
    path = record.save()
    data = json.loads(Path(path).read_text())
    assert path.name == "ch03_tensorflow.json"
    assert data["tables"]["results"]["data"] == [[0.4], [None]]
    assert data["curves"]["two-tower"]["values"] == [0.1, 0.2]
    assert data["values"] == {"best_epoch": 7}
    with pytest.raises(ValueError, match="DataFrame"):
        record.table("bad", [1, 2])
    with pytest.raises(ValueError, match="framework"):
        Record(chapter=3, framework="jax", protocol="x")


def test_without_record_dir_nothing_is_written(monkeypatch):
    monkeypatch.delenv("RECSYS_RECORD_DIR", raising=False)
    assert Record(chapter=0, framework="pytorch", protocol="x").save() is None


def test_recording_needs_the_archive(tmp_path):
    with pytest.raises(ValueError, match="no ml-100k.zip"):
        record_sections(tmp_path)


ARCHIVE = Path(os.environ.get("RECSYS_DATA_HOME", "~/.cache/recsys_utils")).expanduser()


@pytest.mark.skipif(
    not (ARCHIVE / "ml-100k.zip").is_file(),
    reason="needs the MovieLens-100K archive in $RECSYS_DATA_HOME",
)
def test_a_fresh_run_agrees_with_its_record(tmp_path):
    """Chapter 0's section (deterministic baselines) rerun on the real data gives its
    recorded table to 1e-9."""
    record_sections(ARCHIVE, chapters=[0], frameworks=("pytorch",), target=tmp_path)
    fresh = json.loads((tmp_path / "ch00_pytorch.json").read_text())
    stored = load_record(0, "pytorch")
    for name in stored["tables"]:
        pd.testing.assert_frame_equal(
            table_frame(fresh, name), table_frame(stored, name), rtol=1e-9
        )
    assert RESULTS.exists()
