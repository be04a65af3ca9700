"""MovieLens-100K results recorded with their provenance, and shown when the data is
absent.

MovieLens-100K may not be redistributed, so the website (built without it) cannot
compute a MovieLens section. Each MovieLens section therefore writes what it prints
into a :class:`Record` (tables, validation curves, chosen settings, best epochs,
seconds); ``make movielens-results`` runs every MovieLens section with the data, in
both frameworks, and stores each record with its provenance (commit, date, machine,
package versions, a digest of the section's code) in the package, under
``recsys_utils/results/movielens/chNN_<framework>.json``. Numbers may be published;
the data may not.

Without the data, the section calls :func:`show_recorded`: the recorded tables and
curves of its framework, labelled with where and when they were computed. With the
data, it computes its own numbers and shows the recorded ones beside them.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .framework import FRAMEWORKS, framework_name
from .validation import check_int

__all__ = [
    "RECORD_ENV",
    "Record",
    "record_path",
    "load_record",
    "show_recorded",
    "missing_shown",
]

#: ``make movielens-results`` sets it to the folder a section writes its record to.
RECORD_ENV = "RECSYS_RECORD_DIR"
_PACKAGE_FOLDER = ("results", "movielens")


def _file_name(chapter: int, framework: str) -> str:
    chapter = check_int(chapter, "chapter", low=0, high=99)
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}; got {framework!r}")
    return f"ch{chapter:02d}_{framework}.json"


def _plain(value: Any):
    """JSON-able copy of numbers, arrays, lists and dicts (NaN kept as None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise ValueError(
        f"a record holds numbers, strings, lists and dicts; got {type(value).__name__}"
    )


#: What a table cell shows where a value is missing (a change with nothing before it).
MISSING = "–"


def missing_shown(frame: pd.DataFrame, mark: str = MISSING) -> pd.DataFrame:
    """A copy of ``frame`` to display: in each column with a missing value, the
    numbers are written with pandas' ``display.precision`` digits and the missing
    ones as ``mark`` (a page must not print "NaN")."""
    digits = pd.get_option("display.precision")
    shown = frame.copy()
    for column in frame.columns[frame.isna().any().to_numpy()]:
        shown[column] = [
            mark
            if pd.isna(v)
            else (f"{v:.{digits}f}" if isinstance(v, (float, np.floating)) else v)
            for v in frame[column]
        ]
    return shown


class Record:
    """What a MovieLens section prints, kept to be shown where the data is absent.

    Args:
        chapter: the chapter number.
        framework: ``"pytorch"`` or ``"tensorflow"`` (the framework that trained).
        protocol: the protocol's name (``"STRATIFIED"``, ``"U1"``, ...).
    """

    def __init__(self, chapter: int, framework: str, protocol: str):
        self.file_name = _file_name(chapter, framework)
        self.data: dict[str, Any] = {
            "chapter": int(chapter),
            "framework": framework,
            "protocol": str(protocol),
            "tables": {},
            "curves": {},
            "values": {},
        }

    def table(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Keep a results table; returns it ready to display (:func:`missing_shown`).

        The record keeps missing values as missing (``null``)."""
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"table {name!r} must be a DataFrame; got {type(frame)}")
        split = frame.to_dict(orient="split")
        self.data["tables"][str(name)] = _plain(
            {
                "index": [str(i) for i in split["index"]],
                "columns": [str(c) for c in split["columns"]],
                "data": split["data"],
            }
        )
        return missing_shown(frame)

    def curve(self, name: str, values, *, label: str = "validation") -> None:
        """Keep a per-epoch curve (e.g. validation recall@10 of one trial)."""
        self.data["curves"][str(name)] = {"label": label, "values": _plain(values)}

    def value(self, name: str, value) -> None:
        """Keep one number or setting (a chosen hyperparameter, a best epoch)."""
        self.data["values"][str(name)] = _plain(value)

    def save(self) -> Path | None:
        """Write the record to ``$RECSYS_RECORD_DIR`` when set (``make
        movielens-results``); otherwise do nothing. Returns the path written."""
        folder = os.environ.get(RECORD_ENV)
        if not folder:
            return None
        path = Path(folder) / self.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True) + "\n")
        tmp.replace(path)
        return path


def record_path(chapter: int, framework: str):
    """The packaged record's location (an importlib.resources Traversable)."""
    folder = resources.files("recsys_utils").joinpath(*_PACKAGE_FOLDER)
    return folder.joinpath(_file_name(chapter, framework))


def load_record(chapter: int, framework: str) -> dict | None:
    """The recorded results of a chapter's MovieLens section in one framework, or
    ``None`` when none was recorded."""
    path = record_path(chapter, framework)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def table_frame(record: dict, name: str) -> pd.DataFrame:
    """One recorded table as a DataFrame."""
    table = record["tables"][name]
    return pd.DataFrame(table["data"], index=table["index"], columns=table["columns"])


def provenance_line(record: dict) -> str:
    """ "recorded on DATE at COMMIT on MACHINE (...)": where the numbers come from."""
    p = record.get("provenance", {})
    return (
        f"Recorded on {p.get('date', '?')} at commit {p.get('commit', '?')[:10]} on "
        f"{p.get('machine', '?')} ({framework_name(record['framework'])}, "
        f"{record['protocol']} protocol); run this section with MovieLens-100K on disk "
        "to reproduce."
    )


def show_recorded(chapter: int, framework: str, *, plot: bool = True) -> dict | None:
    """Display the recorded tables (and curves) of a MovieLens section.

    Args:
        chapter: the chapter number.
        framework: the framework whose record to show (the section's own).
        plot: draw the recorded validation curves.

    Returns:
        The record, or ``None`` (after saying so) when none exists.
    """
    from IPython.display import Markdown, display

    record = load_record(chapter, framework)
    if record is None:
        display(
            Markdown(
                f"*No recorded MovieLens results for chapter {chapter} in "
                f"{framework_name(framework)} yet (`make movielens-results`).*"
            )
        )
        return None
    display(Markdown(f"*{provenance_line(record)}*"))
    for name in record["tables"]:
        display(Markdown(f"**{name}** (recorded)"))
        display(missing_shown(table_frame(record, name)))
    if plot and record["curves"]:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.4))
        for name, curve in record["curves"].items():
            values = curve["values"]
            ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(next(iter(record["curves"].values()))["label"])
        ax.set_title(
            f"Recorded validation curves ({framework_name(framework)}, MovieLens-100K)"
        )
        ax.legend(fontsize=8)
        plt.show()
    return record
