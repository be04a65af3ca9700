"""Tuning on the validation part: a time-boxed grid search, and the baselines' grids.

Every MovieLens section tunes the same way: fit candidates on a protocol's ``fit``
part, measure them on its ``valid`` part (never on ``test``), keep the best, refit on
``train``. :func:`grid_search` runs any objective over a grid within a time budget;
:func:`tune_baselines` is that search for the baselines every chapter reports
(EASE, ItemKNN, UserKNN), one grid per model.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from . import baselines as _baselines
from .validation import check_number

__all__ = ["grid_search", "tune_baselines", "TUNABLE_BASELINES"]

#: the baselines :func:`tune_baselines` knows, by name: the classes of
#: :mod:`recsys_utils.baselines` with hyperparameters worth a grid.
TUNABLE_BASELINES = {
    "EASE": _baselines.EASE,
    "ItemKNN": _baselines.ItemKNN,
    "UserKNN": _baselines.UserKNN,
}


def grid_search(
    param_grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    objective: Callable[[dict], float],
    maximize: bool = True,
    time_budget_s: float = 30.0,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[dict, pd.DataFrame]:
    """Try parameter combinations in order, within a time budget; keep the best.

    The combinations are the product of ``param_grid``'s lists, the first name
    varying slowest (or the given list of dicts, in order). Before each trial after
    the first, the search stops if the time spent plus the longest trial so far
    would exceed ``time_budget_s``; the first trial always runs. The trials frame
    then says so: its ``status`` column reads ``"stopped: time budget"`` on the last
    trial and ``frame.attrs`` holds ``{"stopped_early": True, "tried": n,
    "total": m}``. A trial whose score is not finite (a diverged run) is recorded,
    never chosen. Ties keep the earlier combination.

    Args:
        param_grid: ``{name: [values]}`` or a list of ``{name: value}`` dicts.
        objective: ``objective(params) -> score`` (e.g. a validation metric).
        maximize: ``True`` when higher is better (nDCG), ``False`` otherwise (RMSE).
        time_budget_s: seconds the search may spend, > 0.
        clock: the clock (seconds); tests pass a fake one.

    Returns:
        ``(best_params, trials)``: the best combination as a dict, and a DataFrame
        with one row per trial run: the parameters, ``score``, ``seconds``,
        ``status``.
    """
    if isinstance(param_grid, Mapping):
        if not param_grid:
            raise ValueError("param_grid must not be empty")
        for name, values in param_grid.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise ValueError(
                    f"param_grid[{name!r}] must be a list of values; got {values!r}"
                )
            if len(values) == 0:
                raise ValueError(f"param_grid[{name!r}] must not be empty")
        names = list(param_grid)
        combos = [
            dict(zip(names, values))
            for values in itertools.product(*param_grid.values())
        ]
    elif isinstance(param_grid, Sequence) and not isinstance(param_grid, (str, bytes)):
        combos = [dict(c) for c in param_grid if isinstance(c, Mapping)]
        if not combos or len(combos) != len(param_grid):
            raise ValueError(
                "param_grid must be a dict {name: [values]} or a non-empty list of "
                f"dicts; got {param_grid!r}"
            )
    else:
        raise ValueError(
            "param_grid must be a dict {name: [values]} or a list of dicts; "
            f"got {type(param_grid).__name__}"
        )
    if not callable(objective):
        raise ValueError(f"objective must be callable; got {type(objective).__name__}")
    time_budget_s = check_number(time_budget_s, "time_budget_s", low=0, low_open=True)

    start = clock()
    rows: list[dict] = []
    best, best_score = None, None
    longest = 0.0
    stopped = False
    for i, params in enumerate(combos):
        if i > 0 and (clock() - start) + longest > time_budget_s:
            stopped = True
            break
        t0 = clock()
        score = float(objective(dict(params)))
        seconds = clock() - t0
        longest = max(longest, seconds)
        finite = math.isfinite(score)
        rows.append(
            {
                **params,
                "score": score,
                "seconds": seconds,
                "status": "done" if finite else "score not finite",
            }
        )
        if finite and (
            best_score is None
            or (score > best_score if maximize else score < best_score)
        ):
            best, best_score = dict(params), score
    trials = pd.DataFrame(rows)
    if stopped:
        trials.loc[trials.index[-1], "status"] = "stopped: time budget"
    trials.attrs.update(
        {"stopped_early": stopped, "tried": len(rows), "total": len(combos)}
    )
    if best is None:
        raise ValueError(
            f"no trial gave a finite score (tried {len(rows)} of {len(combos)})"
        )
    return best, trials


def tune_baselines(
    protocol: Any,
    data: Any,
    grids: Mapping[str, Mapping[str, Sequence[Any]]],
    *,
    metric: str | None = None,
    time_budget_s: float = 120.0,
) -> tuple[dict[str, dict], dict[str, pd.DataFrame]]:
    """Choose each baseline's hyperparameters on a protocol's fit / valid parts.

    For every model of ``grids`` (in order), :func:`grid_search` tries each
    combination of its grid: the model is fitted on ``data.csr("fit")`` and
    measured by ``protocol.evaluate(model, data, on="valid")[metric]`` (higher is
    better); the test part is never read. Each model's search has its own time
    budget; when a budget stops a search early, a line says so (the trials frame
    says it too, in ``attrs``). Taught in chapters 3 and 4 ("MovieLens-100K").

    Args:
        protocol: a ranking :class:`recsys_utils.protocols.Protocol` (or
            :data:`recsys_utils.sequential.LEAVE_LAST_OUT`).
        data: the :class:`recsys_utils.splits.ProtocolData` of
            ``protocol.split(...)``.
        grids: ``{model name: {parameter: [values]}}`` with names among
            :data:`TUNABLE_BASELINES`, e.g.
            ``{"EASE": {"reg": [100.0, 300.0]}, "ItemKNN": {"k": [50], "shrinkage":
            [0.0, 10.0]}}``; a parameter with one value is fixed.
        metric: a metric of ``protocol.metrics``; ``None`` = the protocol's first
            (nDCG@10 for STRATIFIED, recall@10 for TEMPORAL).
        time_budget_s: seconds each model's search may spend, > 0.

    Returns:
        ``(best, trials)``: ``{model name: best parameters}`` and ``{model name:
        trials DataFrame of grid_search}``.

    Raises:
        ValueError: a rating protocol, an unknown model or metric, an empty grid,
            data split by another protocol.
    """
    if getattr(protocol, "task", None) != "ranking":
        raise ValueError(
            "protocol must be a ranking protocol (STRATIFIED, TEMPORAL, "
            f"LEAVE_LAST_OUT); got {getattr(protocol, 'name', protocol)!r}"
        )
    if metric is None:
        metric = protocol.metrics[0]
    if metric not in protocol.metrics:
        raise ValueError(
            f"metric must be one of the {protocol.name} protocol's metrics "
            f"{list(protocol.metrics)}; got {metric!r}"
        )
    if not isinstance(grids, Mapping) or not grids:
        raise ValueError(
            "grids must be a non-empty dict {model name: {parameter: [values]}}; "
            f"got {grids!r}"
        )
    unknown = [name for name in grids if name not in TUNABLE_BASELINES]
    if unknown:
        raise ValueError(
            f"grids names models tune_baselines does not know: {unknown}; "
            f"expected names among {list(TUNABLE_BASELINES)}"
        )
    if getattr(data, "protocol", None) != protocol.name:
        raise ValueError(
            f"data must be the ProtocolData of {protocol.name}.split(...); got "
            f"{type(data).__name__} of protocol {getattr(data, 'protocol', None)!r}"
        )
    fit_csr = data.csr("fit")
    best: dict[str, dict] = {}
    trials: dict[str, pd.DataFrame] = {}
    for name, grid in grids.items():
        model_class = TUNABLE_BASELINES[name]

        def objective(params: dict, model_class=model_class) -> float:
            model = model_class(**params).fit(fit_csr)
            return protocol.evaluate(model, data, on="valid")[metric]

        best[name], trials[name] = grid_search(
            grid, objective, maximize=True, time_budget_s=time_budget_s
        )
        if trials[name].attrs["stopped_early"]:
            print(
                f"{name}: the time budget ({time_budget_s:g} s) stopped the search "
                f"after {trials[name].attrs['tried']} of "
                f"{trials[name].attrs['total']} combinations"
            )
    return best, trials
