"""recsys_utils.convergence: one early-stopping rule, and a loud failure when a run is
still improving at its maximum."""

from __future__ import annotations

import pytest

from recsys_utils.convergence import MAX_EPOCHS_ENV, EarlyStop, epoch_budget


def _run(values, **kwargs):
    stop = EarlyStop(**kwargs)
    for value in values:
        if stop.step(value):
            break
    return stop


def test_stops_after_patience_epochs_without_improvement():
    stop = _run([0.10, 0.15, 0.14, 0.15, 0.13, 0.20], patience=3, max_epochs=100)
    # best 0.15 at epoch 2; epochs 3, 4, 5 do not beat it (0.15 is not > 0.15)
    assert stop.best_epoch == 2 and stop.best == 0.15 and stop.epochs_run == 5
    stop.assert_converged()


def test_min_mode_and_min_delta():
    stop = _run(
        [1.0, 0.95, 0.949, 0.9485, 0.948],
        patience=3,
        max_epochs=50,
        mode="min",
        min_delta=0.002,
    )
    assert stop.best_epoch == 2 and stop.epochs_run == 5


def test_still_improving_at_the_maximum_fails_loudly():
    stop = _run([0.1, 0.2, 0.3], patience=3, max_epochs=3)
    with pytest.raises(AssertionError, match="at the last allowed epoch \\(3\\)"):
        stop.assert_converged()
    capped = _run([0.1, 0.2, 0.3], patience=3, max_epochs=3, capped=True)
    capped.assert_converged()  # a quick run capped on purpose says so elsewhere


def test_budget_reads_the_cap(monkeypatch):
    monkeypatch.delenv(MAX_EPOCHS_ENV, raising=False)
    assert epoch_budget(100) == (100, False)
    monkeypatch.setenv(MAX_EPOCHS_ENV, "4")
    assert epoch_budget(100) == (4, True)
    assert epoch_budget(3) == (3, False)
    monkeypatch.setenv(MAX_EPOCHS_ENV, "four")
    with pytest.raises(ValueError, match="positive integer"):
        epoch_budget(100)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"patience": 0}, "patience"),
        ({"mode": "up"}, "mode"),
        ({"max_epochs": 1.5}, "max_epochs"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EarlyStop(**kwargs)
    with pytest.raises(ValueError, match="validation value"):
        EarlyStop().step(float("nan"))
