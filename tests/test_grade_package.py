"""The package learners install holds no reference answer; its self-checks are the
instructor's references' public examples, up to date.

The references live in instructors/grading (copied into the release's ``instructor/``
folder); recsys_utils/exercises holds what ``python instructors/publish_checks.py``
derives from them: public inputs with their expected outputs, the typical mistakes'
outputs, salted hashes of values.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import recsys_utils
import recsys_utils as ru
from coursetools.grade import load_specs
from recsys_utils.checks import CORRECT, HINT

ROOT = Path(__file__).resolve().parents[1]
GRADING = ROOT / "instructors" / "grading"
SPECS, WRITTEN = load_specs(GRADING)


def _instructor(name: str):
    spec = importlib.util.spec_from_file_location(f"instructor_{name}", GRADING / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _installed_sources() -> dict[str, str]:
    """path -> text of every file of the installed package (as a learner gets it)."""
    spec = importlib.util.find_spec("recsys_utils")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return {
        str(p): p.read_text(errors="replace")
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def _reference_names() -> set[str]:
    """The names of the instructor's reference functions (and of every function of
    the grading modules whose name says reference)."""
    names = {
        spec["reference"].__name__
        for spec in SPECS.values()
        if callable(spec["reference"]) and spec["reference"].__name__ != "<lambda>"
    }
    for path in sorted(GRADING.glob("ch*.py")):
        module = _instructor(path.name)
        names |= {
            name
            for name, obj in vars(module).items()
            if inspect.isfunction(obj) and "reference" in name
        }
    return names


# literal answers of the value exercises, as the old package spelled them
LITERALS = [
    # the references the issue found in the package, by name
    "mixed_negatives_reference",
    "reference_attention_mask",
    "reference_masked_cross_entropy",
    "reference_transition_probabilities",
    "300 / 512",
    "212 / 512",
    "0.5859375",
    "n * (n + 1) // 2",
    "real / padded",
    "3 * weights_gb",
    "[0, 1, 0, 0, 1]",
    "exact.cdf(_K - 1)",
    "2.0 - 2.0 * cos",
]


def _value_literals() -> list[str]:
    out = []
    for spec in SPECS.values():
        if spec["kind"] != "value":
            continue
        ref = spec["reference"]
        value = np.ravel(ref() if callable(ref) else ref).astype(float)
        for x in value:  # short numbers (0.6, 15) would match unrelated code
            out += [t for t in (repr(float(x)), f"{x:.4f}", f"{x:.5g}") if len(t) >= 6]
    return out


def test_the_installed_package_holds_no_reference_answer():
    sources = _installed_sources()
    assert any(p.endswith("exercises/ch03.py") for p in sources)
    names = _reference_names()
    assert {"in_batch_loss_reference", "mixed_negatives_reference"} <= names
    found = [
        (path, word)
        for path, text in sources.items()
        for word in [*names, *LITERALS, *_value_literals()]
        if word in text
    ]
    assert found == []


def test_no_module_of_the_package_exposes_a_reference():
    modules = [recsys_utils.exercises] + [
        importlib.import_module(f"recsys_utils.exercises.{m.name}")
        for m in pkgutil.iter_modules(recsys_utils.exercises.__path__)
    ]
    for module in modules:
        source = inspect.getsource(module)
        # the chapter modules are data only: no function, so no reference
        assert "def " not in source or module is recsys_utils.exercises
        assert not [n for n in dir(module) if "reference" in n.lower()], module


def _publish_checks():
    spec = importlib.util.spec_from_file_location(
        "publish_checks", ROOT / "instructors" / "publish_checks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stored_checks_compare_up_to_the_last_bits_only():
    """publish_checks compares a stored check with its reference's up to the last
    bits of a float (processors differ there), and nothing more."""
    differences = _publish_checks()._tree_differences
    assert differences({"x": [1.0, 0.1 + 0.2]}, {"x": [1.0, 0.3]}, "t", 1e-12, 0) == []
    assert differences({"x": [1.0, 0.3]}, {"x": [1.0, 0.3001]}, "t", 1e-12, 0) == [
        "t.x[1]"
    ]
    assert differences({"x": [1, 2]}, {"x": [1, 3]}, "t", 1e-12, 0) == ["t.x[1]"]
    assert differences({"x": "a"}, {"y": "a"}, "t", 1e-12, 0) == ["t"]
    a = np.array([[1.0, 2.0]])
    assert differences([a], [a * (1 + 1e-13)], "t", 1e-12, 0) == []
    assert differences([a], [a.T], "t", 1e-12, 0) == ["t[0]"]
    assert differences([None], [a], "t", 1e-12, 0) == ["t[0]"]
    nan = np.array([np.nan, 1.0])
    assert differences([nan], [nan.copy()], "t", 1e-12, 0) == []
    assert differences([nan], [nan[::-1]], "t", 1e-12, 0) == ["t[0]"]


def test_stored_inputs_compare_floats_up_to_the_last_bit_and_the_rest_exactly():
    """A public case's float inputs may differ in the last bit between processors
    (one of ch3-ex-reason's recency weights does between an AVX-512 Xeon and the
    machine that stored it); any other change of an input is a difference."""
    module = _publish_checks()
    base = (np.arange(4), np.array([0.8, 0.3, 1 / 3]), [2.0, 1])

    def entry(inputs):
        spec = {"kind": "function", "name": "f", "hints": [], "public_trials": 1}
        spec |= {"rtol": 1e-6, "atol": 0.0, "tensors": False, "framework": None}
        spec |= {"inputs": lambda rng: inputs, "reference": lambda *a: 1.0}
        return module.public_entry("t", spec)

    def differences(inputs):
        return module.entry_differences("t", entry(inputs), entry(base))

    ids, weights, rest = base
    last_bit = np.nextafter(weights, 2.0)
    assert (last_bit != weights).all()
    assert differences((ids, last_bit, rest)) == []
    assert differences((ids, weights * 1.001, rest)) == ["t case 0 inputs.v[1].b64"]
    narrower = differences((ids, weights.astype(np.float32), rest))
    assert "t case 0 inputs.v[1].dtype" in narrower
    assert differences((ids, weights[:2], rest)) != []
    assert differences((ids + 1, weights, rest)) == ["t case 0 inputs.v[0].b64"]
    assert differences((ids, weights, [2.0, 2])) == ["t case 0 inputs.v[2].v[1]"]
    assert differences(list(base)) != []  # a list where a tuple was


def test_publish_checks_check_finds_a_stale_entry_and_writes_nothing(
    tmp_path, monkeypatch, capsys
):
    module = _publish_checks()
    grading, target = tmp_path / "grading", tmp_path / "exercises"
    grading.mkdir()
    target.mkdir()
    (grading / "ch01.py").write_text((GRADING / "ch01.py").read_text())
    stored = (ROOT / "recsys_utils" / "exercises" / "ch01.py").read_text()
    (target / "ch01.py").write_text(stored)
    monkeypatch.setattr(module, "GRADING", grading)
    monkeypatch.setattr(module, "TARGET", target)
    assert module.main(["--check"]) == 0
    label = sorted(module.stored_checks(target / "ch01.py"))[0]
    hint = module.stored_checks(target / "ch01.py")[label]["hints"][0]
    hint = hint[1] if isinstance(hint, list) else hint
    first = hint.split()[0]
    stale = stored.replace(f'"{first} ', f'"{first}{first} ', 1)
    assert stale != stored
    (target / "ch01.py").write_text(stale)
    assert module.main(["--check"]) == 1
    assert f"ch01.py is out of date ({label})" in capsys.readouterr().out
    assert (target / "ch01.py").read_text() == stale


def test_public_checks_are_up_to_date():
    """The package's stored checks are what publish_checks derives from the specs
    (run ``python instructors/publish_checks.py`` when this fails)."""
    module = _publish_checks()
    stored = {}
    for m in pkgutil.iter_modules(recsys_utils.exercises.__path__):
        if m.name.startswith("ch"):
            stored |= importlib.import_module(f"recsys_utils.exercises.{m.name}").CHECKS
    assert sorted(stored) == sorted(SPECS)
    for label, spec in SPECS.items():
        fresh, kept = module.public_entry(label, spec), stored[label]
        assert module.entry_differences(label, fresh, kept) == []
        # the stored form is read back as data, as `publish_checks --check` reads it
        chapter = label.split("-")[0].removeprefix("ch")
        path = ROOT / "recsys_utils" / "exercises" / f"ch{int(chapter):02d}.py"
        assert module.stored_checks(path)[label] == kept


@pytest.mark.parametrize("label", sorted(SPECS))
def test_each_reference_passes_its_self_check_and_each_mistake_gets_a_hint(
    label, capsys
):
    spec = SPECS[label]
    if spec["kind"] == "table" or spec.get("tensors"):
        pytest.skip(
            "checked with the chapter's table or tensors: tests/test_exercises_*"
        )
    ref = spec["reference"]
    answer = ref if spec["kind"] == "function" else (ref() if callable(ref) else ref)
    assert ru.exercises.check(label, answer).status == CORRECT
    for wrong, message in spec["hints"]:
        result = ru.exercises.check(label, wrong)
        assert result.status == HINT, (label, message)
    capsys.readouterr()


@pytest.mark.parametrize("seed", range(10))
def test_references_agree_with_the_package_functions_they_replace(seed):
    """Independent implementations: the instructor's references and the package's
    functions the chapters use agree (each checks the other)."""
    from recsys_utils.mf import mf_objective
    from recsys_utils.sequential import MarkovChain
    from recsys_utils.similarity import cosine_matrix, topk_cosine

    ch01, ch02, ch06 = (_instructor(f"ch0{k}.py") for k in (1, 2, 6))
    rng = np.random.default_rng(seed)
    R, P, Q, b_u, b_i, mu, reg = ch01._loss_hidden(rng)
    zero_u, zero_i = np.zeros_like(b_u), np.zeros_like(b_i)  # without the biases
    assert ch01.observed_loss_reference(
        R, P, Q, zero_u, zero_i, 0.0, reg
    ) == pytest.approx(mf_objective(R, P, Q, reg=reg), rel=1e-12)
    P, Q, k, eps = ch02._cosine_hidden(rng)
    np.testing.assert_allclose(
        ch02._cosines(P, Q, eps), cosine_matrix(P, Q, eps), atol=1e-12
    )
    nonzero = np.linalg.norm(P, axis=1) > 0  # the zero row ties every item
    np.testing.assert_array_equal(
        ch02.cosine_topk_reference(P, Q, k, eps)[nonzero],
        topk_cosine(P[nonzero], Q, k, eps=eps)[0],
    )
    X = (rng.random((6, 5)) < 0.5) * rng.integers(1, 6, (6, 5)).astype(float)
    from recsys_utils.baselines import _center_rows

    np.testing.assert_allclose(
        ch02.center_reference(X, 0.0),  # without the shrinkage
        _center_rows(sp.csr_matrix(X)).toarray(),
        atol=1e-12,
    )
    Q = rng.normal(size=(12, 4))
    np.testing.assert_array_equal(
        ch02.neighbours_reference(Q, 3, [[] for _ in Q]),  # nothing else excluded
        topk_cosine(Q, Q, 3, exclude_self=True)[0],
    )
    sequences, num_items, alpha = ch06._markov_hidden(rng)
    counts = MarkovChain().fit(sequences, num_items).transitions_.toarray()
    rows = counts.sum(axis=1, keepdims=True)
    expected = np.divide(
        counts + alpha,
        rows + alpha * num_items,
        out=np.zeros_like(counts),
        where=rows > 0,
    )
    np.testing.assert_allclose(
        ch06.transition_reference(sequences, num_items, alpha), expected
    )


def test_every_written_exercise_has_points_and_a_rubric():
    assert set(WRITTEN) == {
        "ch1-ex-gradient",
        "ch1-ex-weight-decay",
        "ch3-ex-logq",
        "ch4-ex-one-item",
        "ch6-ex-bag",
        "ch8-ex-tradeoff",
        "ch8-ex-attribution",
        "ch8-ex-hallucinate",
    }
    for entry in WRITTEN.values():
        assert entry["points"] == sum(int(r.split()[0]) for r in entry["rubric"])
