"""The one reader of what code imports (coursetools/pyimports.py)."""

from __future__ import annotations

import pytest

from coursetools.pyimports import imported_modules, strip_magics

CODE = """\
%load_ext autoreload
!pip list
import torch.nn as nn, numpy
from recsys_utils.book import ch03_torch as code_pt
from recsys_utils.book.ch04 import (split, evaluate)
from .ch05 import fuse
from . import ch06
from ..other import x
"""


def test_absolute_imports_skip_magics_and_relative_ones():
    assert imported_modules(CODE) == {
        "torch.nn",
        "numpy",
        "recsys_utils.book",
        "recsys_utils.book.ch03_torch",
        "recsys_utils.book.ch04",
        "recsys_utils.book.ch04.split",
        "recsys_utils.book.ch04.evaluate",
    }


def test_relative_imports_are_kept_as_written_when_asked():
    relative = imported_modules(CODE, relative=True) - imported_modules(CODE)
    assert relative == {".ch05", ".ch05.fuse", ".ch06", "..other", "..other.x"}


@pytest.mark.parametrize("source", ["def (:", "import"])
def test_code_that_does_not_parse_imports_nothing(source):
    assert imported_modules(source, relative=True) == frozenset()


def test_strip_magics_blanks_ipython_lines_and_keeps_line_numbers():
    source = "%time x = 1\n  !ls\ny = 2  # 100% sure\nz = '!'"
    assert strip_magics(source) == "\n\ny = 2  # 100% sure\nz = '!'"
    assert len(strip_magics(CODE).splitlines()) == len(CODE.splitlines())
