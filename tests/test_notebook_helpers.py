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


def test_numpy_scalars_display_as_plain_numbers_in_a_shell():
    """myst-nb's {glue:text}`x:.3f` parses the text/plain form: it must be a number."""
    import numpy as np
    from IPython.core.interactiveshell import InteractiveShell

    from recsys_utils.notebook import plain_numpy_scalars

    shell = InteractiveShell.instance()
    try:
        text = shell.display_formatter.formatters["text/plain"]
        assert plain_numpy_scalars(shell) is True
        assert text(np.float64(0.25)) == "0.25"
        assert float(text(np.float32(0.7426104))) == float(np.float32(0.7426104))
        assert text(np.int64(21)) == "21"
        assert text(np.bool_(True)) == "True"
        assert text(np.array([1.5])) == "array([1.5])"  # arrays untouched
    finally:
        InteractiveShell.clear_instance()


def test_plain_numpy_scalars_without_a_shell_does_nothing():
    from recsys_utils.notebook import plain_numpy_scalars

    assert plain_numpy_scalars() is False  # pytest runs no IPython shell
