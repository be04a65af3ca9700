"""constraints.txt from pip's resolution report, and reading it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coursetools.__main__ import main
from coursetools.constraints import (
    HEADER,
    pins_from_report,
    read_constraints,
    render_constraints,
)

ROOT = Path(__file__).resolve().parents[1]


def _report(*pairs):
    return {
        "version": "1",
        "install": [{"metadata": {"name": n, "version": v}} for n, v in pairs],
    }


def test_pins_are_sorted_by_normalized_name_without_local_labels():
    report = _report(
        ("torch", "2.13.0+cpu"),
        ("Jinja2", "3.1.6"),
        ("recsys_utils", "0.1.0"),
        ("jupyterlab_myst", "2.7.0"),
        ("absl-py", "2.5.1"),
    )
    assert pins_from_report(report) == [
        "absl-py==2.5.1",
        "Jinja2==3.1.6",
        "jupyterlab_myst==2.7.0",
        "torch==2.13.0",
    ]


def test_a_report_that_is_not_pips_is_refused():
    with pytest.raises(ValueError, match="installation report"):
        pins_from_report({"packages": []})
    with pytest.raises(ValueError, match="installation report"):
        pins_from_report([])


def test_render_and_read_round_trip(tmp_path):
    path = tmp_path / "constraints.txt"
    path.write_text(render_constraints(["Jinja2==3.1.6", "torch==2.13.0"]))
    assert path.read_text().startswith(HEADER)
    assert read_constraints(path) == {"jinja2": "3.1.6", "torch": "2.13.0"}


def test_read_refuses_anything_but_exact_pins(tmp_path):
    path = tmp_path / "constraints.txt"
    path.write_text("# fine\nnumpy==2.4.6\nscipy>=1.13\n")
    with pytest.raises(ValueError, match="line 3: expected an exact pin"):
        read_constraints(path)


def test_command_line_writes_the_file(tmp_path, capsys):
    report = tmp_path / "report.json"
    report.write_text(json.dumps(_report(("numpy", "2.4.6"), ("scipy", "1.17.1"))))
    out = tmp_path / "constraints.txt"
    assert main(["constraints", str(report), str(out)]) == 0
    assert "wrote 2 pins" in capsys.readouterr().out
    assert read_constraints(out) == {"numpy": "2.4.6", "scipy": "1.17.1"}


def test_the_committed_file_is_what_the_tool_writes():
    pins = read_constraints(ROOT / "constraints.txt")
    text = (ROOT / "constraints.txt").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert text.startswith(HEADER)
    assert len(lines) == len(pins) and "torch" in pins
