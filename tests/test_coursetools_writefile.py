"""The dual-framework lint and %%writefile cells: a cell that writes a worker script
(chapter 7) binds nothing in the kernel, so the kernel's rules do not apply to it."""

import nbformat

from coursetools.lint import lint_notebook


def _code(source, *tags):
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _chapter(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _code("import numpy as np\nimport recsys_utils as ru"),
        _code("FRAMEWORK = ru.framework()"),
        *cells,
    ]
    return nb


WORKER = """%%writefile {WORK_DIR}/worker_pt.py
import numpy as np
import torch

scale = 2.0


def step(x):
    return scale * np.asarray(torch.ones(3)) + x
"""


def test_a_writefile_cell_is_not_kernel_code():
    nb = _chapter(_code(WORKER, "pytorch"), _code("x = np.ones(3)"))
    assert lint_notebook(nb) == []


def test_the_same_code_run_in_the_kernel_is_linted():
    nb = _chapter(_code(WORKER.split("\n", 1)[1], "pytorch"))
    problems = [str(p) for p in lint_notebook(nb)]
    assert any("binds 'scale' at top level" in p for p in problems), problems
    assert any("reads the global 'np'" in p for p in problems), problems
