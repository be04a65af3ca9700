"""What a piece of Python code imports, read from its syntax tree.

One parser for the tooling that asks: the set-up cell (which extras a notebook needs),
the MovieLens records (which exported chapter modules an edition's results depend on)
and the tests of the per-framework editions. And one way to skip the IPython lines that
are not Python, :func:`strip_magics`, for every tool that parses a cell (the linter, the
edition writer, the test runner, the benchmarks' parity, claims and timing scans).
"""

from __future__ import annotations

import ast
import functools

__all__ = ["imported_modules", "strip_magics"]


def strip_magics(source: str) -> str:
    """IPython magics and shell escapes (``%``, ``!`` lines) are not Python: blank
    them, keeping the line count so syntax errors and line numbers still point at the
    cell's own lines."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line
        for line in source.splitlines()
    )


@functools.lru_cache(maxsize=4096)
def imported_modules(source: str, *, relative: bool = False) -> frozenset[str]:
    """Dotted names ``source`` imports: ``torch``, ``torch.nn``, ``recsys_utils.tf``;
    ``from a import b`` gives ``a`` and ``a.b``.

    Lines of IPython magics and shell escapes (``%``, ``!``) are skipped; code that does
    not parse imports nothing. Relative imports count only with ``relative=True``, as
    written: ``from .ch03 import x`` gives ``.ch03`` and ``.ch03.x``, ``from . import
    ch03`` gives ``.ch03``. Cached by source: a site build parses each framework's twin
    of a cell.
    """
    try:
        tree = ast.parse(strip_magics(source))
    except SyntaxError:
        return frozenset()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (relative or not node.level):
            base = "." * node.level + (node.module or "")
            if node.module:
                found.add(base)
                base += "."
            found.update(base + alias.name for alias in node.names)
    return frozenset(found)
