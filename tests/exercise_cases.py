"""What the chapters' exercise tests share: the instructor's grading modules, the
solution cells of an exercises section, and whether a spec's typical mistakes fail its
hidden cases."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import nbformat
import numpy as np

import recsys_utils as ru

GRADING = Path(__file__).resolve().parents[1] / "instructors" / "grading"


def instructor(name: str) -> ModuleType:
    """A module of instructors/grading, ``chNN`` (the references stay with the
    instructor: the package never imports them)."""
    path = GRADING / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"instructor_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def solution_source(chapter: Path, label: str, framework: str | None = None) -> str:
    """The code of the ``solution`` cells between a label's solution-start and -end
    markers (only the ``framework``-tagged ones when given)."""
    inside, sources = False, []
    for cell in nbformat.read(chapter, as_version=4).cells:
        if cell.cell_type == "markdown" and "{solution-start}" in cell.source:
            inside = label in cell.source
        elif cell.cell_type == "markdown" and "{solution-end}" in cell.source:
            inside = False
        elif inside and cell.cell_type == "code":
            tags = set(cell.metadata.get("tags", []))
            if "solution" in tags and (framework is None or framework in tags):
                sources.append(cell.source)
    assert sources, f"no solution cell for {label} ({framework or 'any framework'})"
    return "\n".join(sources)


def uncaught_mistakes(
    label: str, exercise: dict, seeds: Iterable[int] = range(20)
) -> list[tuple[int, str]]:
    """``(grading seed, hint)`` of each typical mistake that passes every hidden case
    the grader draws with that seed: a mistake the grade would not catch."""
    from coursetools.grade import _check_spec, hidden_inputs

    spec = _check_spec(label, exercise)
    missed = []
    for seed in seeds:
        cases = hidden_inputs(spec, label, seed)
        expected = [ru.checks.to_array(spec["reference"](*c)) for c in cases]
        for wrong, message in spec["hints"]:
            if not any(
                _differs(wrong, case, exp, spec)
                for case, exp in zip(cases, expected, strict=True)
            ):
                missed.append((seed, message))
    return missed


def _differs(wrong, case, expected, spec) -> bool:
    try:
        out = ru.checks.to_array(wrong(*case))
    except (ValueError, TypeError, IndexError):
        return True
    return out.shape != expected.shape or not np.allclose(
        out, expected, rtol=spec["rtol"], atol=spec["atol"], equal_nan=True
    )


def stub(*args):
    """An answer not attempted: what a student's notebook holds before they write."""
    raise NotImplementedError("your code here")


def outcome(capsys, label: str, answer, **context) -> tuple[str, str]:
    """The check's status for ``answer`` and the line it printed."""
    result = ru.exercises.check(label, answer, **context)
    assert result.exercise == label
    return result.status, capsys.readouterr().out
