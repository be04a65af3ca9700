"""Does a larger batch make chapter 6's MovieLens SASRec train faster?

    python benchmarks/sasrec_batch_size.py [--frameworks pytorch tensorflow]
        [--batch-sizes 16 32 64] [--seed 0] [--max-epochs 100] [--max-len 50]
        [--out benchmarks/sasrec_batch_size.md]

Needs MovieLens-100K (``$RECSYS_DATA_HOME``, see book/setup.md); without it the
command stops with a message that says where it looked. For each framework and batch
size it trains section 6.5's converged configuration (max_len 50, every window of a
user's history, the other settings SASRecConfig's defaults) on the leave-last-out
protocol's ``fit`` part, stopping by the section's rule (``EarlyStop(patience=3)``
on validation recall@10), and writes a table: seconds, epochs run, seconds per epoch,
best epoch and best validation recall@10. One process runs every trial, one after the
other, on the framework's default of one thread (benchmarks/threads.md).

Section 6.5's trials train the full softmax over the 1,682 movies at every position,
so an epoch's work grows with the number of rows, not with the number of batches: the
table shows whether the per-epoch time falls as the batch grows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import recsys_utils as ru  # noqa: E402
from recsys_utils import sequential as sq  # noqa: E402
from recsys_utils.book.ch06 import (  # noqa: E402
    SASRecConfig,
    init_sasrec_weights,
    next_item_data,
)
from recsys_utils.convergence import EarlyStop  # noqa: E402

OUT = ROOT / "benchmarks" / "sasrec_batch_size.md"
FRAMEWORKS = ("pytorch", "tensorflow")


@dataclass(frozen=True)
class Trial:
    framework: str
    batch_size: int
    seconds: float  # the fit, validation included; not the data preparation
    epochs_run: int
    best_epoch: int
    best: float  # validation recall@10 at the best epoch
    curve: tuple[float, ...]


def fit_function(framework):
    if framework == "pytorch":
        from recsys_utils.book.ch06_torch import fit_sasrec_pt

        return fit_sasrec_pt
    if framework == "tensorflow":
        from recsys_utils.book.ch06_tf import fit_sasrec_tf

        return fit_sasrec_tf
    raise ValueError(f"framework must be pytorch or tensorflow; got {framework!r}")


def training_data(split, max_len=50):
    """Every window of the ``fit`` part, with the validation the stop reads: the same
    for every trial, so built once."""
    return next_item_data(
        split.fit, split.valid, split.num_users, split.num_items, max_len, "all"
    )


def trial(data, framework, batch_size, *, seed=0, max_epochs=100):
    """One early-stopped fit of section 6.5's converged configuration on ``data``."""
    fit = fit_function(framework)
    config = SASRecConfig(
        num_items=data.pad_id,  # the padding id is num_items
        max_len=data.inputs.shape[1],
        batch_size=batch_size,
        rows="all",
    )
    stop = EarlyStop(patience=3, max_epochs=max_epochs)
    began = time.perf_counter()
    weights = init_sasrec_weights(config, seed=seed)
    fit(weights, data, config, seed=seed, progress=False, stop=stop)
    seconds = time.perf_counter() - began
    return Trial(
        framework,
        batch_size,
        seconds,
        stop.epochs_run,
        stop.best_epoch,
        float(stop.best),
        tuple(float(c) for c in stop.curve),
    )


def report(trials, *, seed, max_len, machine, when):
    lines = [
        "# Chapter 6, MovieLens: SASRec's batch size and its training time",
        "",
        "Written by `python benchmarks/sasrec_batch_size.py` (its docstring says what",
        "it runs). Section 6.5's converged configuration (max_len "
        f"{max_len}, every window of a",
        f"user's history), seed {seed}, early stopping on validation recall@10 with",
        f"a patience of 3. Measured {when} on {machine}, idle.",
        "",
        "| framework | batch | seconds | epochs run | s / epoch | best epoch "
        "| best valid recall@10 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in trials:
        lines.append(
            f"| {ru.framework_name(t.framework)} | {t.batch_size} | {t.seconds:.1f} "
            f"| {t.epochs_run} | {t.seconds / t.epochs_run:.2f} | {t.best_epoch} "
            f"| {t.best:.3f} |"
        )
    lines.append("")
    for framework in dict.fromkeys(t.framework for t in trials):
        runs = sorted(
            (t for t in trials if t.framework == framework), key=lambda t: t.batch_size
        )
        small, large = runs[0], runs[-1]
        if small.batch_size < large.batch_size:
            ratio = (large.seconds / large.epochs_run) / (
                small.seconds / small.epochs_run
            )
            lines.append(
                f"- {ru.framework_name(framework)}: seconds per epoch at batch "
                f"{large.batch_size} ÷ at batch {small.batch_size}: {ratio:.2f}."
            )
    lines += ["", "Validation curves (recall@10 after each epoch):", ""]
    for t in trials:
        curve = ", ".join(f"{c:.3f}" for c in t.curve)
        lines.append(
            f"- {ru.framework_name(t.framework)}, batch {t.batch_size}: {curve}"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--frameworks", nargs="+", choices=FRAMEWORKS, default=list(FRAMEWORKS)
    )
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[16, 32, 64])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not ru.movielens_available():
        parser.exit(
            2,
            "MovieLens-100K is not on this machine: put ml-100k.zip in "
            f"{ru.movielens.movielens_home()} (or set RECSYS_DATA_HOME); "
            "see book/setup.md.\n",
        )
    split = sq.LEAVE_LAST_OUT.split(ru.load_movielens_100k(download=False))
    data = training_data(split, args.max_len)
    trials = []
    for framework in args.frameworks:
        for batch_size in args.batch_sizes:
            t = trial(
                data, framework, batch_size, seed=args.seed, max_epochs=args.max_epochs
            )
            print(
                f"{ru.framework_name(framework)}, batch {batch_size}: "
                f"{t.seconds:.1f} s, {t.epochs_run} epochs, "
                f"best {t.best:.4f} at {t.best_epoch}",
                flush=True,
            )
            trials.append(t)
    from coursetools.record import cpu_model

    machine = f"{cpu_model()}, {os.cpu_count()} cores"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = report(
        trials, seed=args.seed, max_len=args.max_len, machine=machine, when=when
    )
    args.out.write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
