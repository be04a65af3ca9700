"""The per-framework editions of every section: generated and framework-pure.

``make test`` executes every edition through nbmake (tests/test_executed.py reads the
results); these tests check the editions statically: each holds its framework's cells
only, imports only its framework, and names no other framework's objects.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from notebook_runner import FRAMEWORK_SECTIONS, ROOT

from coursetools.notebooks import Bibliography, framework_notebook
from coursetools.pyimports import imported_modules

FRAMEWORK_MODULES = {
    "pytorch": ("torch", "recsys_utils.torch"),
    "tensorflow": ("tensorflow", "keras", "recsys_utils.tf"),
}
OTHER_SUFFIX = {
    "pytorch": re.compile(r"\b\w+(_tf|TF)\b"),
    "tensorflow": re.compile(r"\b\w+(_pt|PT)\b"),
}
BIB = Bibliography.read(ROOT / "book" / "references.bib")


def _edition(section, framework):
    return framework_notebook(
        nbformat.read(section.path, as_version=4),
        framework,
        chapter=section.chapter,
        section=section.label,
        bib=BIB,
    )


def _imported_modules(nb) -> set[str]:
    return {
        name
        for cell in nb.cells
        if cell.cell_type == "code"
        for name in imported_modules(cell.source)
    }


def _is_other(module: str, framework: str) -> bool:
    other = "tensorflow" if framework == "pytorch" else "pytorch"
    if module.startswith("recsys_utils.book."):
        name = module.split(".")[2]
        return name.endswith("_tf" if other == "tensorflow" else "_torch")
    return any(
        module == o or module.startswith(o + ".") for o in FRAMEWORK_MODULES[other]
    )


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("section", FRAMEWORK_SECTIONS, ids=lambda s: s.rel)
def test_edition_imports_only_its_framework(section, framework):
    imported = _imported_modules(_edition(section, framework))
    bad = sorted(m for m in imported if _is_other(m, framework))
    assert not bad, f"the {framework} edition of {section.rel} imports {bad}"


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
@pytest.mark.parametrize("section", FRAMEWORK_SECTIONS, ids=lambda s: s.rel)
def test_edition_names_no_object_of_the_other_framework(section, framework):
    """No `_tf` name in a PyTorch edition, no `_pt` name in a TensorFlow one (a pick
    line the edition writer missed would leave one)."""
    found = []
    for cell in _edition(section, framework).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(
            "" if line.lstrip().startswith(("%", "!", "#")) else line.split("#")[0]
            for line in cell.source.splitlines()
        )
        found += [m.group(0) for m in OTHER_SUFFIX[framework].finditer(code)]
    assert not found, f"the {framework} edition of {section.rel} names {found}"
