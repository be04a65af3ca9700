"""Serve MathJax from the build itself, so the website renders maths with no network.

MathJax 2.7 ships on PyPI inside ``jupyter-server-mathjax``. This extension points
Sphinx's ``mathjax_path`` at a copy under ``_static/mathjax`` and copies the files there
when the HTML build finishes. A classroom behind a firewall, or a reader on a train,
gets typeset equations without a CDN.
"""

from __future__ import annotations

import shutil
from pathlib import Path

MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full"
MATHJAX_DIR = "mathjax"


def _mathjax_source() -> Path:
    try:
        import jupyter_server_mathjax
    except ImportError as err:  # pragma: no cover - the environment pins it
        raise RuntimeError(
            "offline_mathjax needs the package jupyter-server-mathjax "
            "(pinned in pyproject.toml); run `make venv`."
        ) from err
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def _configure(app, config) -> None:
    config.mathjax_path = f"{MATHJAX_DIR}/MathJax.js?config={MATHJAX_CONFIG}"
    # MathJax 2 reads the v2 configuration; Sphinx's math spans use \( \) and \[ \].
    config.mathjax3_config = None
    config.mathjax2_config = {
        "tex2jax": {
            "inlineMath": [["\\(", "\\)"]],
            "displayMath": [["\\[", "\\]"]],
            "processRefs": False,
            "processEnvironments": False,
        },
        "messageStyle": "none",
        "HTML-CSS": {
            "availableFonts": ["STIX-Web"],
            "preferredFont": "STIX-Web",
            "webFont": "STIX-Web",
            "imageFont": None,
        },
        "showMathMenu": False,
    }


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / MATHJAX_DIR
    if not (target / "MathJax.js").exists():
        tmp = target.with_name(MATHJAX_DIR + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(_mathjax_source(), tmp)
        tmp.replace(target)


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("build-finished", _copy)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
