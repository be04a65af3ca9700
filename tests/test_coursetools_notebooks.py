"""One edition per framework, MyST to plain Markdown, and the dual-framework lint."""

from __future__ import annotations

import nbformat
import pytest

from coursetools.lint import lint_notebook
from coursetools.notebooks import (
    Bibliography,
    chapter_number,
    framework_notebook,
    myst_to_markdown,
)


def _code(src, *tags):
    cell = nbformat.v4.new_code_cell(src)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _md(src, *tags):
    cell = nbformat.v4.new_markdown_cell(src)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _chapter():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _md("# Chapter title"),
        _code("import recsys_utils as ru\nFRAMEWORK = ru.framework()"),
        _code(
            "import torch\n\ndef fit_pt(x):\n    return torch.tensor(x).sum().item()",
            "pytorch",
        ),
        _code(
            "import tensorflow as tf\n\n"
            "def fit_tf(x):\n    return float(tf.reduce_sum(x))",
            "tensorflow",
        ),
        _code(
            'fit = fit_pt if FRAMEWORK == "pytorch" else fit_tf  # the switch picks\n'
            "result = fit([1.0, 2.0])"
        ),
        _md("## Parity\nBoth frameworks agree.", "parity"),
        _code("value_pt = fit_pt([1.0])", "pytorch", "parity"),
        _code("value_tf = fit_tf([1.0])", "tensorflow", "parity"),
        _code("assert abs(value_pt - value_tf) < 1e-6", "parity"),
        _md(
            "```{exercise} Sum by hand\n:label: ex-sum\n\n"
            "Add {cite}`koren2009matrix` numbers, "
            "close to {glue:text}`total:.2f`.\n```"
        ),
        _md("```{solution} ex-sum\n:class: dropdown\n\nIt is 3.\n```"),
        _md("```{exercise}\n:label: ex-two\n\nA second one.\n```"),
    ]
    return nb


@pytest.mark.parametrize(
    "framework, keep, drop",
    [
        ("pytorch", "def fit_pt", "def fit_tf"),
        ("tensorflow", "def fit_tf", "def fit_pt"),
    ],
)
def test_edition_keeps_one_framework_and_drops_parity(framework, keep, drop):
    bib = Bibliography({"koren2009matrix": "Koren et al. 2009"})
    nb = framework_notebook(_chapter(), framework, chapter=3, bib=bib)
    text = "\n".join(c.source for c in nb.cells)
    assert keep in text and drop not in text
    assert "Parity" not in text and "value_pt" not in text and "value_tf" not in text
    assert f'FRAMEWORK = ru.framework("{framework}")' in text
    suffix = "_pt" if framework == "pytorch" else "_tf"
    assert f"fit = fit{suffix}  # the switch picks" in text
    assert "**Exercise 3.1** (Sum by hand)" in text and "**Exercise 3.2**" in text
    assert "(Koren et al. 2009)" in text and "`total` (printed above)" in text
    assert "<details><summary>Solution</summary>" in text and "It is 3." in text
    assert "{exercise}" not in text and "{cite}" not in text
    assert nb.cells[0].source == "# Chapter title"
    assert "edition of the chapter" in nb.cells[1].source
    assert all(c.get("outputs", []) == [] for c in nb.cells)


def test_edition_without_solutions_drops_them():
    nb = framework_notebook(_chapter(), "pytorch", chapter=1, solutions=False)
    assert not any("It is 3." in c.source for c in nb.cells)


def test_edition_needs_the_switch_exactly_once():
    nb = _chapter()
    nb.cells[1].source = "import recsys_utils as ru"
    with pytest.raises(ValueError, match="exactly once; found 0"):
        framework_notebook(nb, "pytorch")
    with pytest.raises(ValueError, match="framework must be one of"):
        framework_notebook(_chapter(), "jax")


def test_myst_admonitions_roles_and_targets():
    src = (
        "(my-target)=\n:::{note}\nSee {doc}`the data tour <../book/data>`.\n:::\n"
        "And {math}`x^2`."
    )
    out = myst_to_markdown(src)
    assert out == "> **Note.** See the data tour.\nAnd $x^2$."


def test_chapter_number():
    assert chapter_number("chapters/03_two_tower.ipynb") == 3
    assert chapter_number("preface.md") is None


def test_bibliography_labels(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text(
        "@article{a1, title={T}, "
        "author={Koren, Yehuda and Bell, Robert and Volinsky, Chris}, year={2009}}\n"
        "@article{b2, title={T}, author={Steck, Harald}, year={2019}}\n"
        "@article{c3, title={T}, author={Hu, Yifan and Koren, Yehuda}, year={2008}}\n"
    )
    labels = Bibliography.read(bib).labels
    assert labels == {
        "a1": "Koren et al. 2009",
        "b2": "Steck 2019",
        "c3": "Hu and Koren 2008",
    }


def test_lint_accepts_a_clean_chapter():
    assert lint_notebook(_chapter()) == []


@pytest.mark.parametrize(
    "index, source, tags, message",
    [
        (2, "import torch\nopt = 1", ("pytorch",), "binds 'opt' at top level"),
        (
            2,
            "import torch\nfor step in range(3):\n    pass",
            ("pytorch",),
            "binds 'step'",
        ),
        (
            2,
            "import torch\nx_pt = fit_tf([1.0])",
            ("pytorch",),
            "uses 'fit_tf' of tensorflow",
        ),
        (4, "result = fit_pt([1.0])", (), "names 'fit_pt' outside a pick line"),
        (4, "import torch\nresult = 1", (), "untagged cell imports a framework"),
        (4, "result = torch.ones(3)", (), "calls the framework API 'torch'"),
        (2, "  \n", ("pytorch",), "an empty pytorch cell"),
    ],
)
def test_lint_finds(index, source, tags, message):
    nb = _chapter()
    nb.cells[index] = _code(source, *tags)
    problems = [str(p) for p in lint_notebook(nb)]
    assert any(message in p for p in problems), problems


def test_lint_finds_a_function_reading_a_rebound_global():
    nb = _chapter()
    nb.cells.insert(
        2, _code("data = [1.0]\n\ndef total(scale):\n    return scale * sum(data)")
    )
    nb.cells.append(_code("data = [5.0, 6.0]  # a later section rebinds it"))
    problems = [str(p) for p in lint_notebook(nb)]
    assert any("function total reads the global 'data'" in p for p in problems), (
        problems
    )


def test_lint_needs_the_switch():
    nb = _chapter()
    nb.cells[1] = _code("import recsys_utils as ru")
    assert any("exactly once; found 0" in str(p) for p in lint_notebook(nb))


def test_lint_finds_a_name_only_parity_cells_bind():
    nb = _chapter()
    nb.cells.append(_code("print(value_pt)"))
    problems = [str(p) for p in lint_notebook(nb)]
    assert any(
        "uses 'value_pt'" in p and "only parity cells bind" in p for p in problems
    ), problems


def test_citations_decode_latex_accents(tmp_path):
    bib = tmp_path / "refs.bib"
    bib.write_text(
        '@article{s1966, title={A generalized solution}, author={Sch{\\"o}nemann, '
        "Peter H.}, year={1966}}\n"
    )
    assert Bibliography.read(bib).cite("s1966") == "(Schönemann 1966)"
