"""Train to validated convergence: one early-stopping rule for every model compared.

A deep model is compared with anything only after it has stopped improving on the
protocol's validation part. Every chapter uses this rule, in both frameworks (the
PyTorch loop calls :meth:`EarlyStop.step` after each epoch; a Keras callback does the
same), and every variant of a comparison uses the same one:

* evaluate on validation after every epoch (higher is better: a recall, an nDCG; or
  lower, an RMSE, with ``mode="min"``);
* stop after ``patience`` epochs without an improvement of more than ``min_delta``;
* a generous maximum (100 epochs); reaching it while still improving is not
  convergence: :meth:`EarlyStop.assert_converged` fails loudly.

The tests' MovieLens stand-in and quick checks cap the maximum with
``$RECSYS_MAX_EPOCHS`` (:func:`epoch_budget`); a capped run is said to be capped, and
only an uncapped run is held to convergence.
"""

from __future__ import annotations

import os

import numpy as np

from .validation import check_int, check_number

__all__ = ["MAX_EPOCHS_ENV", "epoch_budget", "EarlyStop"]

MAX_EPOCHS_ENV = "RECSYS_MAX_EPOCHS"


def epoch_budget(max_epochs: int = 100) -> tuple[int, bool]:
    """The maximum number of epochs, and whether ``$RECSYS_MAX_EPOCHS`` capped it.

    Args:
        max_epochs: the maximum a real run allows (generous: the early stop ends it).

    Returns:
        ``(epochs, capped)``: ``min(max_epochs, $RECSYS_MAX_EPOCHS)`` and ``True`` when
        the variable lowered it.

    Raises:
        ValueError: ``max_epochs`` or the variable is not a positive integer.
    """
    max_epochs = check_int(max_epochs, "max_epochs", low=1)
    raw = os.environ.get(MAX_EPOCHS_ENV, "").strip()
    if not raw:
        return max_epochs, False
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"${MAX_EPOCHS_ENV} must be a positive integer; got {raw!r}")
    cap = int(raw)
    return (cap, True) if cap < max_epochs else (max_epochs, False)


class EarlyStop:
    """Early stopping on a validation metric, with its curve.

    Args:
        patience: epochs without improvement before stopping (at least 3 in the book).
        max_epochs: the maximum (see :func:`epoch_budget`).
        mode: ``"max"`` (a recall, an nDCG) or ``"min"`` (an RMSE, a loss).
        min_delta: an improvement smaller than this does not count.
        capped: the maximum was lowered for a quick run (then reaching it is allowed).

    Example::

        stop = EarlyStop(patience=3, max_epochs=100)
        for epoch in range(1, stop.max_epochs + 1):
            train_one_epoch()
            if stop.step(validate()):
                break
        stop.assert_converged()
        best_epochs = stop.best_epoch   # refit on train for this many epochs
    """

    def __init__(
        self,
        patience: int = 3,
        max_epochs: int = 100,
        *,
        mode: str = "max",
        min_delta: float = 0.0,
        capped: bool = False,
    ):
        self.patience = check_int(patience, "patience", low=1)
        self.max_epochs = check_int(max_epochs, "max_epochs", low=1)
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min'; got {mode!r}")
        self.mode = mode
        self.min_delta = check_number(min_delta, "min_delta", low=0)
        self.capped = bool(capped)
        self.curve: list[float] = []
        self.best_epoch = 0
        self.best = None

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def step(self, value: float) -> bool:
        """Record one epoch's validation value; ``True`` when training should stop.

        Raises:
            ValueError: the value is not a finite number (a diverged run says so).
        """
        value = check_number(value, "validation value")
        self.curve.append(value)
        if self._better(value):
            self.best, self.best_epoch = value, len(self.curve)
        waited = len(self.curve) - self.best_epoch
        return waited >= self.patience or len(self.curve) >= self.max_epochs

    @property
    def epochs_run(self) -> int:
        return len(self.curve)

    def assert_converged(self) -> None:
        """Fail loudly when the best epoch is the last one allowed (still improving).

        A capped quick run (``capped=True``) is exempt; the message says the cap.

        Raises:
            AssertionError: the run reached ``max_epochs`` and its best epoch is the
                last one, or no epoch was recorded.
        """
        if not self.curve:
            raise AssertionError("no validation value was recorded")
        if self.capped:
            return
        if self.best_epoch >= self.max_epochs:
            raise AssertionError(
                f"not converged: the best validation value ({self.best:.4g}) is at the "
                f"last allowed epoch ({self.max_epochs}); raise max_epochs"
            )

    def summary(self) -> dict:
        """``{"best_epoch", "best", "epochs_run", "max_epochs", "capped", "curve"}``."""
        return {
            "best_epoch": self.best_epoch,
            "best": self.best,
            "epochs_run": self.epochs_run,
            "max_epochs": self.max_epochs,
            "capped": self.capped,
            "curve": list(np.round(self.curve, 6)),
        }
