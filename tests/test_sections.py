"""The layout (coursetools/sections.py), the export of taught code to
recsys_utils.book (coursetools/export.py), the artifacts between sections, and the
chapter-level lint (shape, model contract)."""

from __future__ import annotations

import ast

import nbformat
import numpy as np
import pytest

from coursetools.export import exported_cells, render_modules, write_modules
from coursetools.lint import (
    MAX_CELL_LINES,
    MAX_COLUMNS,
    lint_chapter,
    lint_course,
    lint_section,
)
from coursetools.sections import discover
from recsys_utils.artifacts import artifact_key, cached_arrays


def _code(source, *tags):
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _write(path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _section(root, rel, title, *cells, switch=True):
    first = [nbformat.v4.new_markdown_cell(title)]
    if switch:
        first.append(_code("import recsys_utils as ru\n\nFRAMEWORK = ru.framework()"))
    return _write(root / rel, *first, *cells)


MODEL_PT = """import torch
from torch import nn


class TinyPT(nn.Module):
    def __init__(self, weights, config):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(weights["w"]))

    def weights_numpy(self):
        return {"w": self.w.detach().numpy()}


def fit_tiny_pt(weights, data, config, *, seed, progress):
    return weights, None"""
MODEL_TF = """import keras


class TinyTF(keras.Model):
    def __init__(self, weights, config):
        super().__init__()

    def weights_numpy(self):
        return {}


def fit_tiny_tf(weights, data, config, *, seed, progress):
    return weights, None"""
INIT = """import numpy as np


def init_tiny_weights(config, seed):
    return {"w": np.zeros(3)}"""


@pytest.fixture
def chapter(tmp_path):
    root = tmp_path / "chapters"
    _section(
        root,
        "01_tiny/01_model.ipynb",
        "# 1.1 The model",
        _code(INIT, "export"),
        _code(MODEL_PT, "pytorch", "export"),
        _code(MODEL_TF, "tensorflow", "export"),
    )
    _section(
        root,
        "01_tiny/02_parity.ipynb",
        "# 1.2 Parity",
        _code("from recsys_utils.book.ch01_torch import TinyPT", "parity"),
        switch=False,
    )
    _section(root, "01_tiny/03_exercises.ipynb", "# 1.3 Exercises")
    return root


def test_discover_reads_the_layout_in_order(chapter):
    sections = discover(chapter)
    assert [s.rel for s in sections] == [
        "01_tiny/01_model.ipynb",
        "01_tiny/02_parity.ipynb",
        "01_tiny/03_exercises.ipynb",
    ]
    assert [s.label for s in sections] == ["1.1", "1.2", "1.3"]
    assert [s.is_parity for s in sections] == [False, True, False]
    assert sections[-1].is_exercises


@pytest.mark.parametrize(
    "rel, message",
    [
        ("02_x.ipynb", "a chapter is a folder"),
        ("Two/01_a.ipynb", "NN_topic"),
        ("02_two/1_a.ipynb", "MM_name.ipynb"),
    ],
)
def test_discover_names_what_breaks_the_layout(chapter, rel, message):
    _write(chapter / rel)
    with pytest.raises(ValueError, match=message):
        discover(chapter)


def test_export_writes_one_module_per_kind_that_imports_the_neutral_names(
    chapter, tmp_path
):
    cells = exported_cells(chapter)[1]
    modules = render_modules(1, cells)
    assert sorted(modules) == ["ch01", "ch01_tf", "ch01_torch"]
    assert "class TinyPT" in modules["ch01_torch"]
    assert "class TinyTF" not in modules["ch01_torch"]
    ast.parse(modules["ch01_torch"])
    target = tmp_path / "book"
    assert write_modules(chapter, target) == ["ch01", "ch01_tf", "ch01_torch"]
    assert write_modules(chapter, target, check=True) == []  # current
    (target / "ch01.py").write_text("# edited by hand\n")
    assert write_modules(chapter, target, check=True) == ["ch01"]


def test_export_refuses_code_that_runs_on_import(chapter):
    _section(
        chapter,
        "01_tiny/01_model.ipynb",
        "# 1.1 The model",
        _code("train_everything()", "export"),
    )
    with pytest.raises(ValueError, match="definitions only"):
        exported_cells(chapter)


def test_export_refuses_a_solution(chapter):
    _section(
        chapter,
        "01_tiny/01_model.ipynb",
        "# 1.1 The model",
        _code("def answer():\n    return 1", "export", "solution"),
    )
    with pytest.raises(ValueError, match="no exercise solution"):
        exported_cells(chapter)


def test_the_contract_holds_for_a_conforming_chapter(chapter):
    assert lint_chapter(discover(chapter)) == []
    assert lint_course(discover(chapter)) == []


def test_the_contract_names_what_is_wrong(chapter):
    bad_pt = MODEL_PT.replace(
        "def fit_tiny_pt(weights, data, config, *, seed, progress):",
        "def fit_tiny_pt(data, weights, config, seed=0):",
    ).replace("    def weights_numpy(self):", "    def numpy_weights(self):")
    _section(
        chapter,
        "01_tiny/01_model.ipynb",
        "# 1.1 The model",
        _code(INIT.replace("(config, seed)", "(seed, config)"), "export"),
        _code(bad_pt, "pytorch", "export"),
    )
    problems = "\n".join(lint_chapter(discover(chapter)))
    assert "fit_tiny_pt must be (weights, data, config, *, seed, progress" in problems
    assert "TinyPT has no weights_numpy()" in problems
    assert "fit_tiny_pt has no twin fit_tiny_tf" in problems
    assert "init_tiny_weights must be (config, seed)" in problems


def test_a_name_is_defined_in_one_section_only(chapter):
    _section(
        chapter,
        "01_tiny/02_more.ipynb",
        "# 1.2 More",
        _code(INIT),
    )
    (chapter / "01_tiny/02_parity.ipynb").rename(chapter / "01_tiny/04_parity.ipynb")
    (chapter / "01_tiny/03_exercises.ipynb").rename(
        chapter / "01_tiny/05_exercises.ipynb"
    )
    problems = "\n".join(lint_chapter(discover(chapter)))
    assert (
        "init_tiny_weights is already defined in chapters/01_tiny/01_model" in problems
    )


def test_section_limits_and_title(chapter):
    sections = discover(chapter)
    long_cell = "\n".join(f"x{i} = {i}" for i in range(MAX_CELL_LINES + 1))
    nb = nbformat.read(sections[0].path, as_version=4)
    nb.cells[0].source = "# 1.9 Wrong number"
    nb.cells.append(_code(long_cell))
    nb.cells.append(_code("fits = 1  # " + "x" * (MAX_COLUMNS - 12)))
    messages = "\n".join(p.message for p in lint_section(nb, sections[0]))
    assert "'# 1.1 Title'" in messages
    assert f"{MAX_CELL_LINES + 1} lines; a code cell holds at most" in messages
    assert "characters" not in messages  # a line of exactly MAX_COLUMNS fits
    nb.cells.append(_code("wide = 1  # noqa: E501 " + "x" * MAX_COLUMNS))
    messages = "\n".join(p.message for p in lint_section(nb, sections[0]))
    assert f"a code line of {MAX_COLUMNS + 23} characters (wide = 1" in messages


def test_cached_arrays_computes_once_then_loads(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"w": np.arange(3.0), "n": np.int64(4)}

    key = {"framework": "pytorch", "seed": 0}
    first = cached_arrays("weights", compute, key=key, folder=tmp_path)
    second = cached_arrays("weights", compute, key=key, folder=tmp_path)
    assert calls == [1]
    np.testing.assert_array_equal(first["w"], second["w"])
    assert int(second["n"]) == 4
    cached_arrays("weights", compute, key={**key, "seed": 1}, folder=tmp_path)
    assert calls == [1, 1]  # another key: computed again


def test_artifact_key_is_stable_and_order_free():
    assert artifact_key({"a": 1, "b": [1, 2]}) == artifact_key({"b": [1, 2], "a": 1})
    assert artifact_key({"a": 1}) != artifact_key({"a": 2})
    with pytest.raises(ValueError, match="non-empty dict"):
        artifact_key({})
    with pytest.raises(ValueError, match="must be str, numbers"):
        artifact_key({"a": object()})


@pytest.mark.parametrize(
    "name, result, message",
    [
        ("../up", {"a": 1}, "a file name"),
        ("ok", [1, 2], "non-empty dict"),
        ("ok", {"a": np.array([object()])}, "numeric array"),
    ],
)
def test_cached_arrays_rejects_bad_input(tmp_path, name, result, message):
    with pytest.raises(ValueError, match=message):
        cached_arrays(name, lambda: result, key={"k": 1}, folder=tmp_path)


def test_the_repository_is_clean_under_the_linter():
    """Every section, chapter and the course pass `make lint`'s section rules, and the
    generated modules are current (what `make export --check` checks)."""
    sections = discover()
    problems = []
    for section in sections:
        problems += lint_section(nbformat.read(section.path, as_version=4), section)
    from coursetools.sections import by_chapter

    for mine in by_chapter(sections).values():
        problems += lint_chapter(mine)
    problems += lint_course(sections)
    assert not problems, problems
    assert write_modules(check=True) == []
