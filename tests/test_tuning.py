"""Tuning: the grid search's budget and choices (a fake clock), and the baselines'
grids against a search written out by hand."""

import numpy as np
import pandas as pd
import pytest
from test_protocols import small_ml

from recsys_utils import baselines
from recsys_utils import protocols as P
from recsys_utils import tuning as T
from recsys_utils.sequential import LEAVE_LAST_OUT

# ---------------------------------------------------------------------------
# grid_search
# ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def timed(clock, seconds, score_of):
    def objective(params):
        clock.now += seconds
        return score_of(params)

    return objective


def test_grid_search_stops_when_the_next_trial_would_exceed_the_budget():
    clock = FakeClock()
    grid = {"reg": [1.0, 10.0, 100.0], "dim": [8, 16]}
    best, trials = T.grid_search(
        grid,
        timed(clock, 4.0, lambda p: p["reg"] + p["dim"]),
        time_budget_s=10.0,
        clock=clock,
    )
    # trial 1 at t=0, trial 2 at t=4 (4 + 4 <= 10), trial 3 would end at 12 > 10
    assert len(trials) == 2
    assert trials[["reg", "dim"]].values.tolist() == [[1.0, 8], [1.0, 16]]
    assert trials["seconds"].tolist() == [4.0, 4.0]
    assert trials["status"].tolist() == ["done", "stopped: time budget"]
    assert trials.attrs == {"stopped_early": True, "tried": 2, "total": 6}
    assert best == {"reg": 1.0, "dim": 16}


def test_grid_search_runs_everything_within_budget_and_minimizes():
    clock = FakeClock()
    best, trials = T.grid_search(
        {"reg": [3.0, 1.0, 2.0, 1.0]},
        timed(clock, 1.0, lambda p: p["reg"]),
        maximize=False,
        time_budget_s=100.0,
        clock=clock,
    )
    assert best == {"reg": 1.0}
    assert trials["score"].tolist() == [3.0, 1.0, 2.0, 1.0]
    assert (trials["status"] == "done").all()
    assert trials.attrs["stopped_early"] is False


def test_grid_search_first_trial_always_runs_and_ties_keep_the_first():
    clock = FakeClock()
    best, trials = T.grid_search(
        [{"a": 1}, {"a": 2}],
        timed(clock, 50.0, lambda p: 0.5),
        time_budget_s=1.0,
        clock=clock,
    )
    assert best == {"a": 1} and len(trials) == 1
    best, _ = T.grid_search([{"a": 1}, {"a": 2}], lambda p: 0.5)
    assert best == {"a": 1}


def test_grid_search_never_chooses_a_non_finite_score():
    best, trials = T.grid_search(
        {"lr": [1.0, 0.1]}, lambda p: float("nan") if p["lr"] > 0.5 else 0.3
    )
    assert best == {"lr": 0.1}
    assert trials["status"].tolist() == ["score not finite", "done"]
    with pytest.raises(ValueError, match="no trial gave a finite score"):
        T.grid_search({"lr": [1.0]}, lambda p: float("inf"))


@pytest.mark.parametrize(
    "grid, kwargs, word",
    [
        ({}, {}, "param_grid"),
        ({"reg": []}, {}, "must not be empty"),
        ({"reg": 10.0}, {}, "list of values"),
        ("reg", {}, "param_grid"),
        ([{"a": 1}, 3], {}, "list of\\s+dicts"),
        ({"reg": [1.0]}, {"time_budget_s": 0}, "time_budget_s"),
        ({"reg": [1.0]}, {"objective": 3}, "objective"),
    ],
)
def test_grid_search_rejects_bad_input(grid, kwargs, word):
    kwargs = {"objective": lambda p: 0.0, **kwargs}
    with pytest.raises(ValueError, match=word):
        T.grid_search(grid, **kwargs)


# ---------------------------------------------------------------------------
# tune_baselines
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ml():
    return small_ml(num_users=60, num_items=40, seed=2)


def by_hand(protocol, data, make, grid, metric):
    """The search written out: every combination, fitted on fit, scored on valid;
    the first of the best wins."""
    names = list(grid)
    combos = [{}]
    for name in names:
        combos = [{**c, name: v} for c in combos for v in grid[name]]
    scores = []
    for params in combos:
        model = make(**params).fit(data.csr("fit"))
        scores.append(protocol.evaluate(model.score, data, on="valid")[metric])
    return combos[int(np.argmax(scores))], scores


def test_tune_baselines_chooses_what_a_search_by_hand_chooses(ml):
    data = P.STRATIFIED.split(ml, seed=0)
    grids = {
        "EASE": {"reg": [1.0, 30.0, 300.0]},
        "ItemKNN": {"k": [3, 30], "shrinkage": [0.0, 10.0]},
        "UserKNN": {"k": [5], "shrinkage": [0.0, 50.0]},
    }
    best, trials = T.tune_baselines(P.STRATIFIED, data, grids)
    assert list(best) == list(grids)
    makers = {
        "EASE": baselines.EASE,
        "ItemKNN": baselines.ItemKNN,
        "UserKNN": baselines.UserKNN,
    }
    for name, grid in grids.items():
        params, scores = by_hand(P.STRATIFIED, data, makers[name], grid, "ndcg@10")
        assert best[name] == params, name
        np.testing.assert_allclose(trials[name]["score"], scores, rtol=1e-12)
        assert (trials[name]["status"] == "done").all()
    # the scores differ across the grid: the choice is not a tie broken by order
    assert trials["EASE"]["score"].nunique() > 1


def test_tune_baselines_metric_defaults_to_the_protocols_first(ml):
    data = P.TEMPORAL.split(ml)
    grid = {"EASE": {"reg": [1.0, 1000.0]}}
    best, trials = T.tune_baselines(P.TEMPORAL, data, grid)
    params, scores = by_hand(
        P.TEMPORAL, data, baselines.EASE, grid["EASE"], "recall@10"
    )
    assert best["EASE"] == params
    np.testing.assert_allclose(trials["EASE"]["score"], scores, rtol=1e-12)
    _, scores20 = by_hand(P.TEMPORAL, data, baselines.EASE, grid["EASE"], "ndcg@20")
    _, trials20 = T.tune_baselines(P.TEMPORAL, data, grid, metric="ndcg@20")
    np.testing.assert_allclose(trials20["EASE"]["score"], scores20, rtol=1e-12)


def test_tune_baselines_on_the_next_item_protocol(ml):
    data = LEAVE_LAST_OUT.split(ml)
    best, trials = T.tune_baselines(LEAVE_LAST_OUT, data, {"EASE": {"reg": [10.0]}})
    assert best == {"EASE": {"reg": 10.0}}
    assert isinstance(trials["EASE"], pd.DataFrame) and len(trials["EASE"]) == 1


def test_tune_baselines_says_when_the_budget_cut_a_search(ml, capsys):
    data = P.STRATIFIED.split(ml)
    _, trials = T.tune_baselines(
        P.STRATIFIED, data, {"EASE": {"reg": [1.0, 2.0, 3.0]}}, time_budget_s=1e-9
    )
    assert trials["EASE"].attrs == {"stopped_early": True, "tried": 1, "total": 3}
    assert "EASE: the time budget (1e-09 s) stopped the search after 1 of 3" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "protocol, grids, kwargs, word",
    [
        (P.U1, {"EASE": {"reg": [1.0]}}, {}, "ranking protocol"),
        (P.STRATIFIED, {"SVD": {"k": [1]}}, {}, "SVD"),
        (P.STRATIFIED, {}, {}, "grids"),
        (P.STRATIFIED, {"EASE": {"reg": [1.0]}}, {"metric": "rmse"}, "metric"),
        (P.TEMPORAL, {"EASE": {"reg": [1.0]}}, {}, "ProtocolData of temporal"),
        (P.STRATIFIED, {"EASE": {"reg": []}}, {}, "must not be empty"),
    ],
)
def test_tune_baselines_rejects_bad_input(ml, protocol, grids, kwargs, word):
    data = P.STRATIFIED.split(ml)
    with pytest.raises(ValueError, match=word):
        T.tune_baselines(protocol, data, grids, **kwargs)
