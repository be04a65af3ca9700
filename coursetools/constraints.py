"""The course's lock: constraints.txt, written from pip's resolution report.

``recsys_utils`` declares version ranges (pyproject.toml), as a library does; the
course's environment pins every distribution it installs in ``constraints.txt``, which
the Makefile and environment.yml pass to pip with ``-c``. ``make constraints`` asks
pip to resolve the package with all the course's extras under the current pins
(``pip install --dry-run --report``) and rewrites the file from the report: a pin
deleted by hand is re-resolved to the newest release the ranges allow, a new
dependency gets its pin, a dependency no longer needed loses it.

Command line: ``python -m coursetools constraints REPORT.json constraints.txt``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = [
    "HEADER",
    "pins_from_report",
    "render_constraints",
    "read_constraints",
    "write_constraints",
]

HEADER = """\
# The exact versions the course is built and tested with: every distribution that
# `pip install -e ".[torch,tensorflow,text,faiss,myst-nb,book,lab,test]"` installs.
# The Makefile and environment.yml install with `-c constraints.txt`; pyproject.toml
# declares the ranges. Written by `make constraints` (coursetools/constraints.py) from
# pip's resolution report on Linux x86_64; delete a line and run it to upgrade that pin.
# Resolved for Python 3.11, 3.12 and 3.13 (tests/test_install.py, README.md).
# torch==2.13.0: on Linux, PyPI's wheel of this version is the CUDA build (book/setup.md
# says how to get the CPU build instead).
"""

_NAME = re.compile(r"[-_.]+")


def _normalize(name: str) -> str:
    return _NAME.sub("-", name).lower()


def pins_from_report(report: dict, *, exclude: tuple[str, ...] = ("recsys-utils",)):
    """The ``name==version`` pins of everything a pip installation report installs.

    Local version labels (``2.13.0+cpu``) are dropped: they name one machine's build,
    and ``==2.13.0`` accepts any build of the version.

    Args:
        report: the JSON object pip writes with ``pip install --dry-run --report``.
        exclude: normalized names to leave out (the course's own package).

    Returns:
        A list of ``"name==version"`` strings sorted by normalized name.

    Raises:
        ValueError: when ``report`` has no ``install`` list (not a pip report).
    """
    if not isinstance(report, dict) or not isinstance(report.get("install"), list):
        raise ValueError(
            "report must be pip's installation report (a dict with an 'install' "
            f"list); got {type(report).__name__}"
        )
    pins = {}
    for item in report["install"]:
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        if _normalize(name) in exclude:
            continue
        pins[_normalize(name)] = f"{name}=={version.split('+', 1)[0]}"
    return [pins[key] for key in sorted(pins)]


def render_constraints(pins: list[str]) -> str:
    """The text of constraints.txt.

    Args:
        pins: ``"name==version"`` strings, in the order to write them.

    Returns:
        The header, then one pin per line.
    """
    return HEADER + "".join(f"{pin}\n" for pin in pins)


def read_constraints(path: str | Path) -> dict[str, str]:
    """The pins of a constraints file.

    Args:
        path: a constraints file: ``name==version`` lines, comments, blank lines.

    Returns:
        ``{normalized name: version}``.

    Raises:
        ValueError: on a line that is not an exact ``==`` pin.
    """
    pins = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_.\-]*)==([^\s;=]+)", line)
        if match is None:
            raise ValueError(
                f"{path}, line {number}: expected an exact pin name==version; "
                f"got {line!r}"
            )
        pins[_normalize(match.group(1))] = match.group(2)
    return pins


def write_constraints(report_path: str | Path, out: str | Path) -> int:
    """Rewrite a constraints file from a pip report (``make constraints``).

    Args:
        report_path: the JSON file of ``pip install --dry-run --report``.
        out: the constraints file to write.

    Returns:
        The number of pins written.
    """
    pins = pins_from_report(json.loads(Path(report_path).read_text()))
    Path(out).write_text(render_constraints(pins))
    return len(pins)
