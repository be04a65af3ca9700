"""Small conveniences for the chapters' notebooks."""

from __future__ import annotations

import inspect

__all__ = ["plain_numpy_scalars", "show_source"]


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


def plain_numpy_scalars(shell=None) -> bool:
    """Show NumPy scalars as plain numbers in a notebook: ``0.25``, not
    ``np.float64(0.25)``.

    NumPy 2 writes a scalar's type into its ``repr``; myst-nb's ``{glue:text}`` formats
    a glued value from that text (``float("np.float64(0.25)")`` fails, and the book
    build warns), and a learner reads ``np.float64(...)`` where a number is meant.
    ``import recsys_utils`` calls this once; it only changes how IPython *displays*
    NumPy floats, integers and booleans (``repr`` and ``print`` are untouched).

    Args:
        shell: the IPython shell; ``None`` uses the running one, if any.

    Returns:
        True when a shell was found and its text formatter updated, else False.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # IPython is not installed: nothing displays
            return False
        shell = get_ipython()
    if shell is None:
        return False
    import numpy as np

    formatter = shell.display_formatter.formatters["text/plain"]
    # IPython looks printers up by the concrete type (each NumPy scalar type defines
    # its own __repr__, found before a printer registered for np.floating)
    kinds = {
        float: (np.float16, np.float32, np.float64, np.longdouble),
        int: (np.int8, np.int16, np.int32, np.int64, np.intc, np.longlong)
        + (np.uint8, np.uint16, np.uint32, np.uint64, np.uintc, np.ulonglong),
        bool: (np.bool_,),
    }
    for plain, types in kinds.items():
        for kind in types:
            formatter.for_type(
                kind, lambda x, p, cycle, plain=plain: p.text(repr(plain(x)))
            )
    return True
