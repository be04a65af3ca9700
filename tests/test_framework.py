"""The framework switch reads RECSYS_FRAMEWORK, validates it and says what it chose."""

import pytest

from recsys_utils import framework, framework_name
from recsys_utils.framework import ENV_VAR, FRAMEWORKS


def test_default_is_pytorch(monkeypatch, capsys):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert framework() == "pytorch"
    out = capsys.readouterr().out
    assert "PyTorch trains every experiment" in out and f"{ENV_VAR}=tensorflow" in out


def test_empty_variable_means_default(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "  ")
    assert framework(announce=False) == "pytorch"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("tensorflow", "tensorflow"),
        (" TensorFlow ", "tensorflow"),
        ("PYTORCH", "pytorch"),
    ],
)
def test_environment_variable_chooses(monkeypatch, raw, expected):
    monkeypatch.setenv(ENV_VAR, raw)
    assert framework(announce=False) == expected


def test_explicit_choice_wins_over_the_environment(monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, "pytorch")
    assert framework("tensorflow") == "tensorflow"
    assert "TensorFlow cells only" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["jax", "torch", "tf", "mxnet"])
def test_unknown_framework_in_the_environment_names_the_variable(monkeypatch, bad):
    monkeypatch.setenv(ENV_VAR, bad)
    with pytest.raises(
        ValueError, match=f"{ENV_VAR} must be one of pytorch, tensorflow; got '{bad}'"
    ):
        framework()


@pytest.mark.parametrize("bad", ["jax", 3, ""])
def test_unknown_explicit_choice(bad):
    with pytest.raises(ValueError, match="choice must be one of"):
        framework(bad)


def test_names():
    assert [framework_name(f) for f in FRAMEWORKS] == ["PyTorch", "TensorFlow"]
    with pytest.raises(ValueError, match="value must be one of"):
        framework_name("jax")
