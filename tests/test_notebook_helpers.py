"""recsys_utils.notebook.show_source."""

import pytest

from recsys_utils.notebook import show_source


def _example(x):
    """An example."""
    return x + 1


def test_show_source_returns_the_exact_source():
    code = show_source(_example)
    assert code.data.startswith("def _example(x):")
    assert "return x + 1" in code.data


def test_show_source_rejects_builtins():
    with pytest.raises(ValueError, match="obj"):
        show_source(len)
