"""pyproject.toml and environment.yml pin the same environment."""

from __future__ import annotations

import re
import tomllib

import yaml
from booktools import ROOT


def _pyproject_pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    return dict(_split(d) for d in deps)


def _conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return dict(_split(d) for d in pip_section if not d.startswith("-e"))


def _split(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", requirement.strip())
    assert match, f"{requirement!r} is not pinned with =="
    return match.group(1).lower().replace("_", "-"), match.group(2)


def test_every_dependency_is_pinned_exactly():
    assert _pyproject_pins()  # _split asserts the == form of each


def test_pyproject_and_environment_yml_agree():
    assert _pyproject_pins() == _conda_pins()


def test_environment_yml_installs_the_package_and_python_311():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section


def test_torch_is_the_cpu_pin():
    # Any other torch request pulls several GB of CUDA packages on the course machines.
    assert _pyproject_pins()["torch"] == "2.13.0"
