"""Small conveniences for the chapters' notebooks."""

from __future__ import annotations

import inspect

__all__ = ["show_source"]


def show_source(obj):
    """Show the source of a function or class from the package, highlighted.

    A model that later chapters reuse lives in ``recsys_utils`` (one copy); the chapter
    that teaches it displays that very source with this function, so what the reader
    sees is what runs.

    Args:
        obj: a function, class or method defined in Python source.

    Returns:
        ``IPython.display.Code`` that renders as highlighted Python in a notebook and
        in the book.

    Raises:
        ValueError: when ``obj`` has no Python source (a builtin, a C extension).
    """
    from IPython.display import Code

    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as err:
        raise ValueError(
            f"obj must be a Python function or class with source; got {obj!r}"
        ) from err
    return Code(source, language="python")
