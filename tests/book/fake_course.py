"""A tiny course written by the tests: two chapters of section notebooks whose two
frameworks compute different numbers, with captioned figures and tables, a cross
reference, glued numbers, a parity section and gated exercises. It imports no deep
learning framework, so it executes in seconds."""

from __future__ import annotations

from pathlib import Path

import nbformat

from coursetools.notebooks import write_notebook

#: What each framework's cells compute (so a page shows which execution it came from).
SCORE = {"pytorch": 0.125, "tensorflow": 0.875}
#: A line of the worked solution that must never reach a student or a classroom site.
SOLUTION_LINE = "answer_a = 6 * 7  # the worked solution"
EXPLANATION = "Multiply six by seven; the explanation of the worked solution."

IMPORTS = """\
import matplotlib.pyplot as plt
import pandas as pd
from myst_nb import glue

import recsys_utils as ru

FRAMEWORK = ru.framework()"""


def _md(text, **meta):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata.update(meta)
    return cell


def _code(text, tags=(), **meta):
    cell = nbformat.v4.new_code_cell(text)
    if tags:
        cell.metadata["tags"] = list(tags)
    cell.metadata.update(meta)
    return cell


def _figure(caption, name=None, alt="A line rising from left to right"):
    figure = {"caption": caption}
    if name:
        figure["name"] = name
    return _code(
        "fig, ax = plt.subplots(figsize=(2, 2))\n"
        "ax.plot([0, 1], [0, score])\n"
        "ax.set_title(ru.framework_name(FRAMEWORK))\n"
        "plt.show()",
        mystnb={"figure": figure, "image": {"alt": alt}},
    )


def _table(caption):
    return _code(
        'pd.DataFrame({"score": [score]}).style.format(precision=3).set_caption(\n'
        f'    f"{caption} ({{ru.framework_name(FRAMEWORK)}})"\n'
        ")"
    )


def _pair():
    return [
        _code(
            f'score_pt = {SCORE["pytorch"]}\nprint("PyTorch computes", score_pt)',
            tags=["pytorch"],
        ),
        _code(
            f'score_tf = {SCORE["tensorflow"]}\nprint("TensorFlow computes", score_tf)',
            tags=["tensorflow"],
        ),
        _code(
            'score = score_pt if FRAMEWORK == "pytorch" else score_tf\n'
            'glue("score", score, display=False)'
        ),
    ]


def _notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata = {
        "kernelspec": {
            "display_name": "Python 3",
            "language": "python",
            "name": "python3",
        },
        "language_info": {"name": "python"},
    }
    return nb


def _exercise(label, title, solution_line, explanation):
    return [
        _md(f"```{{exercise}} {title}\n:label: {label}\n\nCompute the answer.\n```"),
        _md(f"```{{solution-start}} {label}\n:class: dropdown\n```"),
        _md(explanation),
        _code(solution_line, tags=["solution"]),
        _code(f"print('checked {label}')"),
        _md("```{solution-end}\n```"),
    ]


def write_fake_course(root: Path) -> Path:
    """Write the course under ``root/chapters``; return that folder."""
    chapters = Path(root) / "chapters"
    ch1, ch2 = chapters / "01_toy", chapters / "02_other"
    write_notebook(
        _notebook(
            [
                _md("# 1.1 The toy model\n\nThe score here is {glue:text}`score:.3f`."),
                _code(IMPORTS),
                *_pair(),
                _figure("The toy line.", name="fig-toy-line"),
                _table("Toy scores"),
                _md("{numref}`fig-toy-line` rises to the score."),
            ]
        ),
        ch1 / "01_model.ipynb",
    )
    write_notebook(
        _notebook(
            [
                _md("# 1.2 More\n\nAs {numref}`fig-toy-line` showed, it rises."),
                _code(IMPORTS),
                *_pair(),
                _figure("The same line again."),
                _table("More scores"),
            ]
        ),
        ch1 / "02_more.ipynb",
    )
    write_notebook(
        _notebook(
            [
                _md("# 1.3 Parity\n\nBoth frameworks, one cell."),
                _code(
                    f"gap = abs({SCORE['pytorch']} - {SCORE['tensorflow']})\n"
                    'print("parity gap", gap)',
                    tags=["parity"],
                ),
            ]
        ),
        ch1 / "03_parity.ipynb",
    )
    write_notebook(
        _notebook(
            [
                _md("# 1.4 Exercises"),
                _code("import recsys_utils as ru\n\nFRAMEWORK = ru.framework()"),
                *_exercise("toy-ex-a", "Six sevens", SOLUTION_LINE, EXPLANATION),
                *_exercise(
                    "toy-ex-b",
                    "Another",
                    "answer_b = 2 + 2  # the second worked solution",
                    "Add two and two.",
                ),
            ]
        ),
        ch1 / "04_exercises.ipynb",
    )
    write_notebook(
        _notebook(
            [
                _md("# 2.1 Exercises\n\nChapter 2 counts its own figures."),
                _code(IMPORTS),
                *_pair(),
                _figure("Chapter two's first figure."),
                *_exercise(
                    "other-ex-a",
                    "Three",
                    "answer_c = 1 + 2  # chapter two's worked solution",
                    "One and two.",
                ),
            ]
        ),
        ch2 / "01_exercises.ipynb",
    )
    return chapters
