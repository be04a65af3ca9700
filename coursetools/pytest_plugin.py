"""pytest plugin for running the staged notebooks through nbmake.

``pytest -p coursetools.pytest_plugin --nbmake --overwrite _executed`` (what ``make
test`` runs) executes every staged notebook (coursetools/build.py) with nbmake, and
this plugin adds what the course needs on top:

* each notebook's kernel starts with its kind's environment (the website's editions
  without MovieLens data, the ``standin-*`` ones with the tests' stand-in; see
  :func:`coursetools.build.kind_env`): ``--movielens-standin DIR`` and
  ``--no-data DIR`` name the two folders;
* the sections of one chapter in one framework run on one pytest-xdist worker, in
  order (``--dist loadgroup``), so a later section finds what an earlier one cached
  (recsys_utils.artifacts) instead of computing it again;
* the groups are listed longest first (by :data:`_WEIGHT`), so two workers finish
  close together. pytest-xdist (3.8) then sorts the groups by their number of
  notebooks (its ``--loadscope-reorder`` default, stable), so this order decides only
  among groups of the same size;
* each kernel is killed once its notebook has run, instead of being asked to shut
  down and waited for (:func:`coursetools.build.kernels_exit_at_once`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .build import environment, kernels_exit_at_once, kind_env

#: Rough seconds of each kind, to list the long groups first (order only; nothing is
#: asserted about time).
_WEIGHT = {"parity": 3, "pytorch": 2, "tensorflow": 2, "standin": 1, "student": 0}


def pytest_addoption(parser):
    group = parser.getgroup("coursetools", "the course's staged notebooks")
    group.addoption(
        "--movielens-standin",
        type=Path,
        default=None,
        help="folder holding the MovieLens-100K stand-in (for standin-* notebooks)",
    )
    group.addoption(
        "--no-data",
        type=Path,
        default=None,
        help="an empty folder: the website's editions look for MovieLens there",
    )


def pytest_configure(config):
    if config.getoption("nbmake", False):  # only when this run executes notebooks
        kernels_exit_at_once()


def _kind(item) -> tuple[str, str] | None:
    """(kind, chapter folder) of a staged notebook item, else None."""
    if not getattr(item, "nbmake", False):
        return None
    parts = Path(item.fspath).parts
    if len(parts) < 3:
        return None
    return parts[-3], parts[-2]


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    groups: dict[str, list] = {}
    rest = []
    for item in items:
        found = _kind(item)
        if found is None:
            rest.append(item)
            continue
        kind, chapter = found
        framework = kind.split("-")[-1]  # student-pytorch runs after pytorch
        name = f"{framework}:{chapter}"
        item.add_marker(pytest.mark.xdist_group(name))
        groups.setdefault(name, []).append(item)

    def weight(name):
        return sum(_WEIGHT.get(_kind(i)[0].split("-")[0], 1) for i in groups[name])

    ordered = []
    for name in sorted(groups, key=weight, reverse=True):
        # within a group: editions before the student and stand-in runs, by section
        ordered.extend(
            sorted(
                groups[name],
                key=lambda i: ("-" in _kind(i)[0], Path(i.fspath).name),
            )
        )
    items[:] = ordered + rest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    found = _kind(item)
    if found is None:
        yield
        return
    env = kind_env(
        found[0],
        standin=item.config.getoption("movielens_standin"),
        no_data=item.config.getoption("no_data"),
    )
    with environment(env):  # the kernel nbmake starts inherits them
        yield
