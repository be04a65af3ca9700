"""The Colab set-up cell: what it installs, where it goes, and that it does nothing
outside Colab."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

from coursetools.__main__ import main
from coursetools.notebooks import framework_notebook
from coursetools.setup_cell import (
    MARKER,
    ensure_setup_cell,
    is_setup_cell,
    notebook_extras,
    repository,
    setup_cell_source,
    unprovided_imports,
)

ROOT = Path(__file__).resolve().parents[1]
URL = "https://github.com/example-owner/example-course"


def _nb(*sources, markdown_first=True):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title")] if markdown_first else []
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


@pytest.mark.parametrize(
    "sources, extras",
    [
        (["import numpy as np\nimport recsys_utils as ru"], []),
        (["import torch.nn.functional as F"], ["torch"]),
        (["from recsys_utils import torch as rt"], ["torch"]),
        (["from recsys_utils import tf as rtf", "import keras"], ["tensorflow"]),
        (["import tensorflow as tf", "import torch"], ["torch", "tensorflow"]),
        (["from recsys_utils.text import encode_texts"], ["text"]),
        (["from sentence_transformers import SentenceTransformer"], ["text"]),
        (["import faiss", "from myst_nb import glue"], ["faiss", "myst-nb"]),
        (["%matplotlib inline\n!pip list\nimport torch"], ["torch"]),  # magics
        (["def f():\n    import tensorflow\n    return 1"], ["tensorflow"]),  # lazy
    ],
)
def test_extras_follow_the_imports(sources, extras):
    assert notebook_extras(_nb(*sources)) == extras


def test_unprovided_imports_are_found():
    nb = _nb("import os, json\nimport numpy\nimport psutil\nfrom yaml import safe_load")
    assert unprovided_imports(nb) == ["psutil", "yaml"]
    assert unprovided_imports(_nb("import sklearn.cluster\nimport IPython")) == []


def test_source_names_the_package_the_extras_and_the_address():
    source = setup_cell_source(["torch", "text"], URL, "dev")
    assert source.startswith(MARKER)
    assert '"recsys_utils[torch,text] @ "' in source
    assert f'"git+{URL}@dev"' in source
    assert f'"recsys_utils @ git+{URL}@main"' in setup_cell_source([], URL)
    with pytest.raises(ValueError, match="unknown"):
        setup_cell_source(["jax"], URL)
    with pytest.raises(ValueError, match="https"):
        setup_cell_source([], "http://example.org/x")


@pytest.mark.parametrize(
    "extras", [[], ["torch"], ["torch", "tensorflow", "text", "faiss", "myst-nb"]]
)
def test_source_is_ruff_clean(tmp_path, extras):
    ruff = Path(sys.executable).parent / "ruff"
    path = tmp_path / "cell.py"
    source = setup_cell_source(extras, URL)
    path.write_text(source + "\n")
    config = ["--config", str(ROOT / "pyproject.toml")]
    fmt = subprocess.run([ruff, "format", "--diff", *config, path], capture_output=True)
    assert fmt.returncode == 0, fmt.stdout.decode() + fmt.stderr.decode()
    check = subprocess.run([ruff, "check", *config, path], capture_output=True)
    assert check.returncode == 0, check.stdout.decode()


def _run_cell(source: str, *, on_colab: bool) -> list:
    """Execute the cell in a fresh interpreter that records subprocess.run's calls."""
    harness = (
        "import json, subprocess, sys, types\n"
        "calls = []\n"
        "subprocess.run = lambda *a, **k: calls.append([a, k])\n"
        + ("sys.modules['google.colab'] = types.ModuleType('google.colab')\n")
        * on_colab
        + f"exec({source!r})\n"
        "print(json.dumps(calls))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", harness], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def test_outside_colab_the_cell_does_nothing():
    assert _run_cell(setup_cell_source(["torch"], URL), on_colab=False) == []


def test_on_colab_the_cell_pip_installs_the_package_from_the_repository():
    calls = _run_cell(setup_cell_source(["tensorflow", "text"], URL), on_colab=True)
    assert len(calls) == 1
    (args,), kwargs = calls[0]
    assert args[:5] == [sys.executable, "-m", "pip", "install", "-q"]
    assert kwargs == {"check": True}
    requirement = Requirement(args[5])
    assert requirement.name == "recsys_utils"
    assert requirement.extras == {"tensorflow", "text"}
    assert requirement.url == f"git+{URL}@main"


def test_insertion_before_the_first_code_cell_and_idempotent():
    nb = _nb("import torch", "x = 1")
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("Some prose."))
    ensure_setup_cell(nb, url=URL, branch="main")
    kinds = [("setup" if is_setup_cell(c) else c.cell_type) for c in nb.cells]
    assert kinds == ["markdown", "markdown", "setup", "code", "code"]
    assert nb.cells[2].metadata == {"tags": ["remove-cell"]}
    first = nbformat.writes(nb)
    assert nbformat.writes(ensure_setup_cell(nb, url=URL, branch="main")) == first


def test_refresh_follows_new_imports_and_keeps_one_cell():
    nb = ensure_setup_cell(_nb("import torch"), url=URL, branch="main")
    nb.cells.append(nbformat.v4.new_code_cell("import keras"))
    nb.cells.insert(0, nbformat.v4.new_code_cell("y = 2"))  # a new first code cell
    ensure_setup_cell(nb, url=URL, branch="main")
    setups = [i for i, c in enumerate(nb.cells) if is_setup_cell(c)]
    assert setups == [0]
    assert "recsys_utils[torch,tensorflow]" in nb.cells[0].source


def test_a_notebook_without_code_gets_the_cell_at_the_end():
    nb = ensure_setup_cell(_nb(), url=URL, branch="main")
    assert [is_setup_cell(c) for c in nb.cells] == [False, True]


def test_repository_comes_from_the_config(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text(f"repository:\n  url: {URL}/\n  branch: dev\n")
    assert repository(config) == (URL, "dev")
    config.write_text("repository:\n  branch: main\n")
    with pytest.raises(ValueError, match="repository.url"):
        repository(config)


def _chapter():
    nb = _nb(
        "import recsys_utils as ru\nFRAMEWORK = ru.framework()",
        "import torch\n\ndef fit_pt(x):\n    return torch.tensor(x).sum().item()",
        "import tensorflow as tf\n\ndef fit_tf(x):\n    return float(tf.reduce_sum(x))",
        'fit = fit_pt if FRAMEWORK == "pytorch" else fit_tf',
    )
    nb.cells[2].metadata["tags"] = ["pytorch"]
    nb.cells[3].metadata["tags"] = ["tensorflow"]
    return nb


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_each_edition_gets_a_set_up_cell_with_its_own_extras(framework):
    chapter = ensure_setup_cell(_chapter(), url=URL, branch="main")
    assert "recsys_utils[torch,tensorflow]" in chapter.cells[1].source
    edition = framework_notebook(chapter, framework)
    setups = [c for c in edition.cells if is_setup_cell(c)]
    assert len(setups) == 1
    extra = "torch" if framework == "pytorch" else "tensorflow"
    url, branch = repository()  # editions are written from the config's address
    assert f'"recsys_utils[{extra}] @ "' in setups[0].source
    assert f"git+{url}@{branch}" in setups[0].source
    first_code = next(c for c in edition.cells if c.cell_type == "code")
    assert is_setup_cell(first_code)


def test_command_line_check_write_and_clean(tmp_path, capsys):
    path = tmp_path / "01_x.ipynb"
    nbformat.write(_nb("import torch"), path)
    before = path.read_text()
    assert main(["setup-cell", "--check", str(path)]) == 1
    assert path.read_text() == before  # --check writes nothing
    assert main(["setup-cell", str(path)]) == 0
    assert main(["setup-cell", "--check", str(path)]) == 0
    assert "set-up cell up to date" in capsys.readouterr().out
    other = tmp_path / "02_y.ipynb"
    nbformat.write(_nb("import keras"), other)
    assert main(["clean", str(other)]) == 0
    cells = nbformat.read(other, as_version=4).cells
    assert sum(is_setup_cell(c) for c in cells) == 1


CHAPTERS = sorted((ROOT / "chapters").glob("*/*.ipynb"))


def test_every_chapter_has_its_current_set_up_cell(tmp_path):
    """The lead runs `python -m coursetools setup-cell chapters/*.ipynb` once; from
    then on every chapter must carry the current cell (extras, address)."""
    marked = [p for p in CHAPTERS if MARKER in p.read_text()]
    if not marked:
        pytest.skip("no chapter has a set-up cell yet: run coursetools setup-cell")
    copies = []
    for path in CHAPTERS:
        copies.append(tmp_path / path.name)
        shutil.copy(path, copies[-1])
    assert main(["setup-cell", "--check", *map(str, copies)]) == 0


def test_a_chapters_exported_code_needs_its_framework():
    nb = _nb(
        "from recsys_utils.book.ch03_torch import TwoTowerPT\n"
        "from recsys_utils.book.ch03_tf import TwoTowerTF\n"
        "from recsys_utils.book.ch03 import CONFIG"
    )
    assert notebook_extras(nb) == ["torch", "tensorflow"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_set_up_cell_installs_everything_a_chapter_imports(path):
    nb = nbformat.read(path, as_version=4)
    assert unprovided_imports(nb) == [], (
        "add the module to an extra (pyproject.toml, recsys_utils/_extras.py)"
    )


def test_a_module_the_notebook_writes_is_provided():
    written = nbformat.v4.new_code_cell("%%writefile worker_pt.py\nimport torch\n")
    nb = _nb("import worker_pt\nimport not_a_module_anywhere")
    nb.cells.insert(0, written)
    assert unprovided_imports(nb) == ["not_a_module_anywhere"]
