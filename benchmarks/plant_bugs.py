"""Plant small, plausible bugs in recsys_utils one at a time; do the tests catch them?

Run from a checkout:

    .venv/bin/python benchmarks/plant_bugs.py --out benchmarks/planted_bugs.md

Each bug is a one-line edit of the package (an exact text replacement). For each, the
package and the tests are copied to a temporary folder, the edit is applied there
(never in the checkout), and the tests named for that bug are run; the bug is
"caught" when at least one of them fails. ``--only NAME`` runs one bug.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (name, file, old text, new text, test files)
BUGS = [
    (
        "check_function accepts an answer right on one trial",
        "recsys_utils/checks.py",
        "    if not wrong_trials:\n",
        "    if len(wrong_trials) < n_trials:\n",
        ["tests/test_checks.py", "tests/test_catch_planted_bugs.py"],
    ),
    (
        "ALS user half-step with the wrong regularisation",
        "recsys_utils/mf.py",
        "train, Q, np.zeros(num_users), mu + bi, ridge, self.use_bias",
        "train, Q, np.zeros(num_users), mu + bi, self.reg, self.use_bias",
        ["tests/test_mf.py", "tests/test_catch_planted_bugs.py"],
    ),
    (
        "head_tail_split floors the head size",
        "recsys_utils/metrics.py",
        "num_head = max(1, int(np.floor(head_share * pop.size + 0.5)))",
        "num_head = max(1, int(np.floor(head_share * pop.size)))",
        ["tests/test_metrics.py", "tests/test_catch_planted_bugs.py"],
    ),
    (
        "popularity_groups floors the tail size",
        "recsys_utils/longtail.py",
        "int(np.floor(tail_share * n + 0.5))",
        "int(np.floor(tail_share * n))",
        ["tests/test_longtail.py", "tests/test_catch_planted_bugs.py"],
    ),
    (
        "text cache accepts vectors that are not unit length",
        "recsys_utils/text.py",
        "    if ok and normalize:\n",
        "    if False:\n",
        ["tests/test_text.py"],
    ),
    (
        "overlay_curves draws the first curve under every label",
        "recsys_utils/plotting.py",
        "        values = np.asarray(values, dtype=float)\n",
        "        values = np.asarray(list(curves.values())[0], dtype=float)\n",
        ["tests/test_plotting.py"],
    ),
    (
        "product_grid pairs images with the wrong titles",
        "recsys_utils/plotting.py",
        "textwrap.wrap(str(titles[index]), wrap)",
        "textwrap.wrap(str(titles[(index + 1) % n]), wrap)",
        ["tests/test_plotting.py"],
    ),
    (
        "recall_latency reports recall 1 always",
        "recsys_utils/retrieval.py",
        "recall=recall_vs_exact(ids, exact_ids),",
        "recall=1.0,",
        ["tests/test_retrieval.py", "tests/test_catch_planted_bugs.py"],
    ),
    (
        "purchase probability ignores the funnel",
        "recsys_utils/marketplace.py",
        "return self.exposure_probability(user_ids) * funnel",
        "return self.exposure_probability(user_ids)",
        ["tests/test_data_marketplace.py", "tests/test_catch_planted_bugs.py"],
    ),
    (
        "ids: fractional floats truncated",
        "recsys_utils/validation.py",
        "bad = ~np.isfinite(arr) | (arr != np.floor(arr))",
        "bad = ~np.isfinite(arr)",
        ["tests/test_validation.py", "tests/test_ids.py"],
    ),
    (
        "ids: negative ids accepted",
        "recsys_utils/validation.py",
        "    neg = out < 0\n",
        "    neg = out < -(2**62)\n",
        ["tests/test_validation.py", "tests/test_ids.py"],
    ),
    (
        "to_csr stores NaN ratings",
        "recsys_utils/evaluation.py",
        "else check_finite(\n            df[value_col].to_numpy(), "
        'f"df[{value_col!r}] (value_col)"\n'
        "        ).astype(np.float32)",
        "else df[value_col].to_numpy(dtype=np.float32)",
        ["tests/test_evaluation.py", "tests/test_nan.py"],
    ),
    (
        "EASE accepts reg=inf",
        "recsys_utils/baselines.py",
        'check_number(reg, "reg", low=0, low_open=True)',
        'assert reg > 0, "reg must be > 0"',
        ["tests/test_baselines.py", "tests/test_nan.py"],
    ),
    (
        "splits let repeated pairs through",
        "recsys_utils/splits.py",
        '    if duplicates == "keep":\n        return df\n',
        "    return df\n",
        ["tests/test_splits.py", "tests/test_split_faults.py"],
    ),
    (
        "splits sort string timestamps as text",
        "recsys_utils/splits.py",
        "    if pd.api.types.is_bool_dtype(col) or not "
        "pd.api.types.is_numeric_dtype(col):",
        "    if pd.api.types.is_bool_dtype(col):",
        ["tests/test_splits.py", "tests/test_split_faults.py"],
    ),
    (
        "the TensorFlow twin turns strings into a tensor",
        "recsys_utils/tf.py",
        'arr = check_tensor_input(np.asarray(x), "x")',
        "arr = np.asarray(x)",
        ["tests/test_twins.py", "tests/test_twins_validation.py"],
    ),
    (
        "loader without its lock",
        "recsys_utils/movielens.py",
        "    with _locked(home):\n",
        "    with contextlib.nullcontext():\n",
        ["tests/test_movielens.py", "tests/test_loader_faults.py"],
    ),
    (
        "loader deletes the user's archive when a check fails",
        "recsys_utils/movielens.py",
        "            if downloaded:  # the loader's own download, found bad: "
        "remove it\n",
        "            if True:\n",
        ["tests/test_movielens.py", "tests/test_loader_faults.py"],
    ),
    (
        "loader wipes a folder it did not make",
        "recsys_utils/movielens.py",
        "            else:\n                raise ValueError(\n"
        '                    f"{folder} exists but does not hold',
        "            elif shutil.rmtree(folder, ignore_errors=True) or folder.unlink("
        "missing_ok=True):\n                raise ValueError(\n"
        '                    f"{folder} exists but does not hold',
        ["tests/test_movielens.py", "tests/test_loader_faults.py"],
    ),
    (
        "u.item field count not checked (genres shift)",
        "recsys_utils/movielens.py",
        "        if len(got) != fields:\n",
        "        if False:\n",
        ["tests/test_movielens.py", "tests/test_loader_faults.py"],
    ),
    (
        "split files not checked against u.data",
        "recsys_utils/movielens.py",
        "        if not same.all():\n",
        "        if False:\n",
        ["tests/test_movielens.py", "tests/test_loader_faults.py"],
    ),
]


def plant(name, file, old, new, tests, root=ROOT) -> tuple[bool | None, str, float]:
    """``(caught, first failing test, seconds)``; ``caught`` is None when the code
    or the tests of ``root`` do not have what the bug edits (another version)."""
    tests = [t for t in tests if (root / t).is_file()]
    with tempfile.TemporaryDirectory(prefix="planted-") as tmp:
        tmp = Path(tmp)
        for part in ("recsys_utils", "tests"):
            shutil.copytree(
                root / part, tmp / part, ignore=shutil.ignore_patterns("__pycache__")
            )
        shutil.copy(root / "pyproject.toml", tmp / "pyproject.toml")
        target = tmp / file
        text = target.read_text() if target.is_file() else ""
        if text.count(old) != 1 or not tests:
            if root == ROOT:
                raise SystemExit(f"{name}: the text occurs {text.count(old)}x")
            return None, "(not applicable to this version)", 0.0
        target.write_text(text.replace(old, new))
        env = {**os.environ, "PYTHONPATH": str(tmp)}
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
            + tests,
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - t0
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("FAILED")]
        first = lines[0].split(" - ")[0].replace("FAILED ", "") if lines else ""
        return proc.returncode != 0, first, elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    parser.add_argument("--only", default=None)
    parser.add_argument(
        "--root",
        default=str(ROOT),
        help="another checkout (e.g. main before this work) to plant the bugs in",
    )
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    rows = []
    for name, file, old, new, tests in BUGS:
        if args.only and args.only not in name:
            continue
        caught, first, elapsed = plant(name, file, old, new, tests, root)
        word = {True: "caught", False: "MISSED", None: "n/a"}[caught]
        print(f"{word}  {name}  ({first})", flush=True)
        rows.append((name, file, caught, first, elapsed))
    lines = [
        "# Planted bugs: do the tests catch them?",
        "",
        "Written by `benchmarks/plant_bugs.py`: each bug is one edit of the package, "
        "applied in a temporary copy; the tests named for it are run with `-x`.",
        "",
        f"Code and tests of: {root}.",
        "",
        f"{sum(r[2] is True for r in rows)} of "
        f"{sum(r[2] is not None for r in rows)} caught.",
        "",
        "| bug | file | caught | first failing test |",
        "|---|---|---|---|",
    ]
    for name, file, caught, first, _ in rows:
        word = {True: "yes", False: "NO", None: "n/a"}[caught]
        lines.append(f"| {name} | {file} | {word} | {first} |")
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0 if all(r[2] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
