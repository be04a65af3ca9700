"""benchmarks/sasrec_batch_size.py: one early-stopped SASRec fit per batch size, on
the MovieLens stand-in (the real archive is not here), and its clear stop without
data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import sasrec_batch_size as bench  # noqa: E402

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def split(movielens_standin):
    from recsys_utils import sequential as sq
    from recsys_utils.movielens import load_movielens_100k

    ml = load_movielens_100k(movielens_standin, download=False)
    return sq.LEAVE_LAST_OUT.split(ml)


def test_each_batch_size_trains_its_own_run(split):
    data = bench.training_data(split, max_len=8)
    runs = [bench.trial(data, "pytorch", b, max_epochs=1) for b in (32, 256)]
    for t, batch in zip(runs, (32, 256)):
        assert t.batch_size == batch and t.seconds > 0
        assert len(t.curve) == t.epochs_run == 1
        assert t.best == max(t.curve) == t.curve[t.best_epoch - 1]
    assert runs[0].curve != runs[1].curve  # the batch size reached the fit
    text = bench.report(runs, seed=0, max_len=8, machine="a CPU", when="today")
    assert "| PyTorch | 32 |" in text and "| PyTorch | 256 |" in text
    assert "max_len 8" in text and "on a CPU" in text
    per_epoch = [t.seconds / t.epochs_run for t in runs]
    assert f"at batch 256 ÷ at batch 32: {per_epoch[1] / per_epoch[0]:.2f}." in text


def test_an_unknown_framework_is_named():
    with pytest.raises(ValueError, match="pytorch or tensorflow; got 'jax'"):
        bench.fit_function("jax")


def test_without_the_data_it_stops_and_says_where_it_looked(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("RECSYS_DATA_HOME", str(tmp_path / "nothing"))
    out = tmp_path / "report.md"
    with pytest.raises(SystemExit) as stop:
        bench.main(["--frameworks", "pytorch", "--out", str(out)])
    assert stop.value.code == 2
    assert str(tmp_path / "nothing") in capsys.readouterr().err
    assert not out.exists()


def test_it_writes_the_table(movielens_standin, tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_DATA_HOME", str(movielens_standin))
    out = tmp_path / "report.md"
    args = ["--frameworks", "pytorch", "--batch-sizes", "512", "--max-epochs", "1"]
    bench.main([*args, "--max-len", "8", "--out", str(out)])
    rows = [line for line in out.read_text().splitlines() if line.startswith("| Py")]
    assert len(rows) == 1 and rows[0].startswith("| PyTorch | 512 | ")
    assert rows[0].split("|")[4].strip() == "1"  # epochs run: the cap of 1
