"""The website tooling end to end, on a tiny course the tests write (fake_course.py):
executed once, rendered into two sites, numbered per chapter, each framework's own
numbers on its pages; a failed notebook publishes nothing; a classroom build shows no
solution anywhere.

It runs ``coursetools.site`` as ``make book`` does (execution of what is missing, then
both builds), in a temporary folder, on one worker.
"""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest
from booktools import ROOT, page_outputs
from fake_course import EXPLANATION, SCORE, SOLUTION_LINE, write_fake_course

from coursetools.build import staged_notebooks
from coursetools.notebooks import Bibliography
from coursetools.sections import discover
from coursetools.site import (
    MARKER,
    SiteError,
    check_executed,
    execute_missing,
    render,
)
from coursetools.student import exercises

pytestmark = [pytest.mark.book, pytest.mark.xdist_group("fake-course")]

NUMBER = re.compile(r'<span class="caption-number">(Fig\.|Table|Exercise) ([\d.]+) ')


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The fake course, executed (once) and rendered into ``html``."""
    root = tmp_path_factory.mktemp("course")
    chapters = write_fake_course(root)
    bib = Bibliography.read(ROOT / "book" / "references.bib")
    staged = staged_notebooks(discover(chapters), bib)
    (root / "no-data").mkdir()
    problems = execute_missing(
        staged, root / "_executed", no_data=root / "no-data", jobs=2
    )
    assert not problems, problems
    paths = {
        "chapters": chapters,
        "executed": root / "_executed",
        "html": root / "html",
        "work": root / "site",
        "logs": root / "logs",
    }
    built = render(**paths, root=ROOT)
    print(f"fake course: sites built in {built.seconds}")
    return root, paths, staged


def _page(html, framework, name):
    return (html / framework / f"{name}.html").read_text(encoding="utf-8")


def test_executing_again_runs_nothing(course):
    root, paths, staged = course
    assert check_executed(staged, paths["executed"]) == []
    assert execute_missing(staged, paths["executed"], no_data=root / "no-data") == []


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_each_site_quotes_its_own_frameworks_numbers(course, framework):
    _, paths, _ = course
    other = "tensorflow" if framework == "pytorch" else "pytorch"
    text = _page(paths["html"], framework, "chapters/01_toy/01_model")
    shown = page_outputs(text)
    assert shown.glued == [f"{SCORE[framework]:.3f}"]
    assert f"{SCORE[other]:.3f}" not in shown.glued
    label = {"pytorch": "PyTorch", "tensorflow": "TensorFlow"}
    assert f"{label[framework]} computes {SCORE[framework]}" in shown.stream
    assert not any(label[other] in line for line in shown.stream), shown.stream
    assert shown.tables == [[["", "score"], ["0", f"{SCORE[framework]:.3f}"]]], (
        shown.tables
    )
    assert f"Toy scores ({label[framework]})" in text
    # the parity section is on both sites, the same
    parity = page_outputs(_page(paths["html"], framework, "chapters/01_toy/03_parity"))
    assert parity.stream == ["parity gap 0.75"]


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_numbers_run_per_chapter_across_sections(course, framework):
    _, paths, _ = course
    html = paths["html"]
    found = {
        name: NUMBER.findall(_page(html, framework, name))
        for name in (
            "chapters/01_toy/01_model",
            "chapters/01_toy/02_more",
            "chapters/01_toy/04_exercises",
            "chapters/02_other/01_exercises",
        )
    }
    assert found["chapters/01_toy/01_model"] == [("Fig.", "1.1"), ("Table", "1.1")]
    assert found["chapters/01_toy/02_more"] == [("Fig.", "1.2"), ("Table", "1.2")]
    assert found["chapters/01_toy/04_exercises"] == [
        ("Exercise", "1.1"),
        ("Exercise", "1.2"),
    ]
    assert found["chapters/02_other/01_exercises"] == [
        ("Fig.", "2.1"),
        ("Exercise", "2.1"),
    ]
    # a reference from another section names the figure by its chapter number
    more = _page(html, framework, "chapters/01_toy/02_more")
    assert re.search(r"Fig\. 1\.1</span>", more), "the numref in 1.2"
    # the notebooks print the same exercise numbers
    for section in discover(paths["chapters"]):
        if section.is_exercises:
            nb = nbformat.read(section.path, as_version=4)
            text = _page(html, framework, f"chapters/{section.rel[:-6]}")
            for exercise in exercises(nb, section.chapter):
                assert f'id="{exercise.label}"' in text
                after = text.split(f'id="{exercise.label}"', 1)[1]
                assert NUMBER.search(after).group(2) == exercise.number


def test_the_student_notebook_holds_no_solution(course):
    _, paths, _ = course
    for framework in ("pytorch", "tensorflow"):
        path = paths["html"] / framework / "notebooks/student/01_toy/04_exercises.ipynb"
        text = path.read_text(encoding="utf-8")
        assert SOLUTION_LINE not in text and EXPLANATION not in text
        assert "Exercise 1.1" in text  # numbered as on the site


def test_a_failed_notebook_publishes_nothing_and_names_section_and_cell(course):
    root, paths, staged = course
    html = paths["html"]
    assert (html / MARKER).is_file() and (html / "pytorch" / "index.html").is_file()
    path = paths["executed"] / "tensorflow/01_toy/02_more.ipynb"
    saved = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "score_tf =" in c.source)
    nb.cells[index].outputs.append(
        nbformat.v4.new_output(
            "error", ename="ValueError", evalue="the lesson broke", traceback=[]
        )
    )
    nbformat.write(nb, path)
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "coursetools",
                "site",
                *(f"--{k}={v}" for k, v in paths.items()),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "nothing was published" in proc.stderr
        assert (
            f"section 1.2 (TensorFlow edition): {path}: cell {index} failed: "
            "ValueError: the lesson broke"
        ) in proc.stderr, proc.stderr
        assert not html.exists(), "a failed build left a site that looks finished"
    finally:
        path.write_bytes(saved)
    assert check_executed(staged, paths["executed"]) == []


def test_a_stale_or_missing_notebook_is_named(course, tmp_path):
    root, paths, staged = course
    bib = Bibliography.read(ROOT / "book" / "references.bib")
    source = paths["chapters"] / "01_toy/01_model.ipynb"
    saved = source.read_bytes()
    nb = nbformat.read(source, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A sentence added since."))
    nbformat.write(nb, source)
    missing = paths["executed"] / "pytorch/02_other/01_exercises.ipynb"
    kept = missing.read_bytes()
    missing.unlink()
    try:
        now = staged_notebooks(discover(paths["chapters"]), bib)
        problems = check_executed(now, paths["executed"])
        with pytest.raises(SiteError) as err:
            render(**{**paths, "html": tmp_path / "html"}, root=ROOT)
    finally:
        source.write_bytes(saved)
        missing.write_bytes(kept)
    assert any(
        p.startswith("section 1.1 (PyTorch edition)") and "stale" in p for p in problems
    ), problems
    assert any(
        p.startswith("section 2.1 (PyTorch edition)") and "missing" in p
        for p in problems
    ), problems
    assert "stale" in str(err.value) and not (tmp_path / "html").exists()


def test_a_classroom_build_shows_no_solution_anywhere(course, tmp_path):
    root, paths, _ = course
    html = tmp_path / "classroom"
    render(
        **{**paths, "html": html, "work": tmp_path / "work"}, root=ROOT, classroom=True
    )
    leaks = []
    for path in html.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".js", ".ipynb", ".txt"):
            text = path.read_text(encoding="utf-8", errors="replace")
            for secret in (SOLUTION_LINE, "answer_b = 2 + 2", EXPLANATION):
                if secret in text:
                    leaks.append(f"{path.relative_to(html)}: {secret!r}")
    assert not leaks, leaks
    for framework in ("pytorch", "tensorflow"):
        text = _page(html, framework, "chapters/01_toy/04_exercises")
        assert NUMBER.findall(text) == [("Exercise", "1.1"), ("Exercise", "1.2")]
        assert "Solution to" not in text
        links = re.search(r'<p class="edition-links">(.*?)</p>', text, re.S).group(1)
        assert "notebooks/student/01_toy/04_exercises.ipynb" in links
        assert "student notebook" in links and "with its outputs" not in links
