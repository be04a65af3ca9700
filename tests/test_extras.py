"""The package's extras: what each provides, and the message when one is missing."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from recsys_utils._extras import (
    EXTRA_MODULES,
    MODULE_EXTRA,
    extra_needed,
    install_hint,
)

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


def _extra_distributions(extra: str) -> set[str]:
    """Distribution names an extra installs directly (self-references followed)."""
    names = set()
    for req in PROJECT["optional-dependencies"][extra]:
        match = re.fullmatch(r"recsys_utils\[([\w,-]+)\]", req.strip())
        if match:
            for inner in match.group(1).split(","):
                names |= _extra_distributions(inner)
        else:
            names.add(_name(req).replace("_", "-"))
    return names


def test_every_extra_named_in_the_package_exists_in_pyproject():
    assert set(EXTRA_MODULES) <= set(PROJECT["optional-dependencies"])
    assert set(MODULE_EXTRA.values()) <= set(EXTRA_MODULES)


@pytest.mark.parametrize("extra", sorted(EXTRA_MODULES))
def test_each_extra_installs_the_modules_it_claims(extra):
    # Which installed distribution provides each module (independent of _extras.py).
    providers = importlib.metadata.packages_distributions()
    dists = _extra_distributions(extra)
    for module in EXTRA_MODULES[extra]:
        if module not in providers:  # a lean environment (the course's has them all)
            pytest.skip(f"{module} is not installed here")
        provided_by = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        assert provided_by & dists, (
            f"extra [{extra}] claims module {module!r}, provided by {provided_by}, "
            f"but installs {sorted(dists)}"
        )


def test_core_dependencies_hold_no_framework():
    core = {_name(r) for r in PROJECT["dependencies"]}
    assert core == {
        "numpy",
        "scipy",
        "pandas",
        "scikit-learn",
        "matplotlib",
        "tqdm",
        "filelock",
    }


def test_a_missing_module_of_the_extra_is_reworded():
    with pytest.raises(ModuleNotFoundError) as info:
        with extra_needed("torch", "recsys_utils.torch"):
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
    message = str(info.value)
    assert 'pip install "recsys_utils[torch]"' in message
    assert message.startswith(
        "recsys_utils.torch needs PyTorch, from the extra [torch]"
    )
    assert info.value.name == "torch"
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_a_missing_submodule_counts_as_its_package():
    with pytest.raises(ModuleNotFoundError, match=r"\[tensorflow\]"):
        with extra_needed("tensorflow"):
            raise ModuleNotFoundError("no keras.layers", name="keras.layers")


def test_other_errors_pass_unchanged():
    original = ModuleNotFoundError("No module named 'yaml'", name="yaml")
    with pytest.raises(ModuleNotFoundError) as info:
        with extra_needed("torch"):
            raise original
    assert info.value is original  # another module: not this extra's business
    with pytest.raises(ImportError, match="broken build"):
        with extra_needed("torch"):
            raise ImportError("broken build")  # installed but broken: say so
    with extra_needed("faiss"):
        value = 1 + 1  # nothing missing: the block just runs
    assert value == 2


def test_unknown_extra_is_refused():
    with pytest.raises(ValueError, match="extra must be one of"):
        install_hint("jax")
    with pytest.raises(ValueError, match="extra must be one of"):
        with extra_needed("jax"):
            pass


# In a fresh interpreter, a framework set to None in sys.modules cannot be imported:
# that is how the package sees a machine without the extra.
_BLOCK = "import sys\nfor m in {mods!r}: sys.modules[m] = None\n"


def _run(code: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(home)},
        timeout=300,
    )


@pytest.mark.parametrize(
    "blocked, statement, extra",
    [
        (["torch"], "import recsys_utils.torch", "torch"),
        (["tensorflow"], "from recsys_utils import tf", "tensorflow"),
        (["keras"], "import recsys_utils.tf", "tensorflow"),
        (
            ["transformers"],
            "from recsys_utils.text import load_text_encoder; load_text_encoder()",
            "text",
        ),
    ],
)
def test_a_missing_framework_names_its_extra(blocked, statement, extra, tmp_path):
    proc = _run(_BLOCK.format(mods=blocked) + statement, tmp_path)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError: recsys_utils.")
    assert f'pip install "recsys_utils[{extra}]"' in last


def test_import_recsys_utils_needs_no_framework(tmp_path):
    frameworks = ["torch", "tensorflow", "keras", "transformers", "faiss", "myst_nb"]
    code = _BLOCK.format(mods=frameworks) + (
        "import recsys_utils as ru, recsys_utils.text, recsys_utils.retrieval\n"
        "m = ru.make_marketplace(seed=0, size='tiny')\n"
        "print(type(m).__name__, ru.framework_name('pytorch'))\n"
    )
    proc = _run(code, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["Marketplace", "PyTorch"]
