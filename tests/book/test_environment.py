"""One environment, three ways in: pyproject.toml's ranges, constraints.txt's pins,
the Makefile and environment.yml installing from them, and the README saying so."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import tomllib

import pytest
import yaml
from booktools import ROOT
from packaging.requirements import Requirement

from coursetools.constraints import read_constraints
from coursetools.setup_cell import repository

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PINS = read_constraints(ROOT / "constraints.txt")
MAKEFILE = (ROOT / "Makefile").read_text()
README = (ROOT / "README.md").read_text()
SETUP = (ROOT / "book" / "setup.md").read_text()
ENV = yaml.safe_load((ROOT / "environment.yml").read_text())


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _make_variable(name: str) -> str:
    match = re.search(rf"^{name}\s*[:?]?=\s*(.+)$", MAKEFILE, re.MULTILINE)
    assert match, f"the Makefile sets no {name}"
    return match.group(1).strip()


def _recipe(target: str) -> str:
    """A Makefile target's recipe, its continued lines joined, spaces collapsed."""
    match = re.search(
        rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.MULTILINE
    )
    assert match, f"the Makefile has no recipe for {target}"
    return " ".join(match.group(1).replace("\\\n", " ").split())


def _requirements():
    yield from PROJECT["dependencies"]
    for reqs in PROJECT["optional-dependencies"].values():
        yield from reqs


def _pip_section() -> list[str]:
    return next(d["pip"] for d in ENV["dependencies"] if isinstance(d, dict))


def test_the_package_declares_ranges_and_constraints_pin_them():
    for text in _requirements():
        req = Requirement(text)
        if _norm(req.name) == "recsys-utils":
            continue  # an extra that includes another extra
        assert req.specifier, f"{text!r} has no version range"
        assert not any(s.operator == "==" for s in req.specifier), (
            f"{text!r}: a library declares ranges; pins go to constraints.txt"
        )
        pin = PINS.get(_norm(req.name))
        assert pin is not None, f"constraints.txt pins no {req.name}"
        assert req.specifier.contains(pin, prereleases=True), (
            f"constraints.txt pins {req.name}=={pin}, outside {text!r}"
        )


def test_torch_pin_is_the_build_on_this_machines_disk():
    # pip takes torch 2.13.0's CPU build from this machine's disk; any other version
    # pulls several GB of CUDA packages (see book/setup.md).
    assert PINS["torch"] == "2.13.0"


def test_the_environment_running_the_tests_is_the_pinned_one():
    """What CI tested is what constraints.txt says (`make venv` installs from it)."""
    wrong, missing = [], []
    for name, pin in PINS.items():
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
            continue
        if have.split("+", 1)[0] != pin:
            wrong.append(f"{name} {have} (pinned {pin})")
    assert not wrong and not missing, (
        f"run `make venv`: installed {wrong}, missing {missing}"
    )


def test_makefile_and_environment_yml_install_the_same_thing():
    extras = _make_variable("EXTRAS")
    assert set(extras.split(",")) == set(PROJECT["optional-dependencies"]), (
        "the course environment installs every extra"
    )
    install = _recipe("$(STAMP)")
    assert "$(BIN)/uv pip install" in install, "make venv installs with uv"
    assert '-c constraints.txt -e ".[$(EXTRAS)]"' in install
    assert _pip_section() == ["-c constraints.txt", f"-e .[{extras}]"]


def test_environment_yml_python_is_a_supported_one():
    supported = _make_variable("SUPPORTED_PYTHONS").split()
    pythons = [
        d for d in ENV["dependencies"] if isinstance(d, str) and d.startswith("python=")
    ]
    assert len(pythons) == 1 and pythons[0].split("=", 1)[1] in supported
    classifiers = {
        c.rsplit(" ", 1)[-1]
        for c in PROJECT["classifiers"]
        if c.startswith("Programming Language :: Python :: 3.")
    }
    assert classifiers == set(supported)


def test_readme_conda_route_is_the_same_two_commands():
    name = ENV["name"]
    two = re.findall(r"^make (\w+)\s", README.split("## The two commands")[1], re.M)
    assert two[:2] == ["book", "test"]
    for text in (README, SETUP):
        assert "conda env create -f environment.yml" in text
        assert f"conda activate {name}" in text
    for command in two[:2]:
        assert f"make {command} VENV=$CONDA_PREFIX" in README


@pytest.mark.parametrize("text", [README, SETUP], ids=["README.md", "setup.md"])
def test_pages_give_the_repository_address_from_config(text):
    url, _ = repository()
    assert url in text
    others = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text)) - {url}
    assert not others, f"another repository address: {others}; _config.yml says {url}"


def test_launch_buttons_colab_and_no_binder():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    buttons = config["launch_buttons"]
    assert buttons.get("colab_url") == "https://colab.research.google.com"
    assert "binderhub_url" not in buttons  # book/setup.md says why
    assert "Binder" in SETUP and "2 GB" in SETUP


def test_readme_records_which_pythons_were_executed_and_resolved():
    section = README.split("## Python versions")[1].split("\n## ")[0]
    for version in _make_variable("SUPPORTED_PYTHONS").split():
        assert f"| {version} |" in section


def _which_python(tmp_path, stubs: dict[str, str]) -> subprocess.CompletedProcess:
    """`make which-python` with PATH holding only stub interpreters."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in stubs.items():
        path = bin_dir / name
        path.write_text("#!/bin/sh\n" + script + "\n")
        path.chmod(0o755)
    make = shutil.which("make")
    assert make, "make is not installed"
    (bin_dir / "make").symlink_to(make)  # PATH holds the stubs and make, nothing else
    return subprocess.run(
        [str(bin_dir / "make"), "-s", "which-python"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir)},
    )


def test_makefile_takes_the_newest_python_that_runs(tmp_path):
    broken_shim = 'echo "pyenv: python3.13: command not found" >&2; exit 127'
    proc = _which_python(
        tmp_path,
        {
            "python3.13": broken_shim,
            "python3.12": "echo 3.12",
            "python3.11": "echo 3.11",
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(tmp_path / "bin" / "python3.12")


def test_makefile_says_so_when_no_python_fits(tmp_path):
    proc = _which_python(tmp_path, {"python3.13": "echo 3.10"})  # a liar is refused
    assert proc.returncode != 0
    assert "none of python3.13 3.12 3.11 found" in proc.stderr
