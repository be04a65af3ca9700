"""Every chapter's MovieLens-100K section runs when the data is present.

The real archive is not reachable here, so the chapters are executed with
RECSYS_DATA_HOME pointing at a full-size stand-in in the official format
(tests/fake_movielens.py). The else-branch ("how to get the data") is what nbmake runs;
this test runs the other branch.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from fake_movielens import write_fake_movielens
from nbclient import NotebookClient

pytestmark = pytest.mark.notebooks

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))


@pytest.fixture(scope="module")
def movielens_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("movielens")
    write_fake_movielens(home)
    return home


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_movielens_section_runs(path, movielens_home, monkeypatch):
    monkeypatch.setenv("RECSYS_DATA_HOME", str(movielens_home))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    nb = nbformat.read(path, as_version=4)
    assert any(
        "movielens_available()" in c.source for c in nb.cells if c.cell_type == "code"
    ), f"{path.name} has no section guarded by movielens_available()"
    # The kernel inherits the environment: the guarded branch must see the data.
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import recsys_utils as _ru\nassert _ru.movielens_available(), 'the MovieLens branch did not run'"
        )
    )
    NotebookClient(
        nb,
        timeout=None,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
