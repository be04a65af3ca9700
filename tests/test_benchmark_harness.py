"""benchmarks/harness.py: the settings, the seed rewriting, the burner, one run."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import harness  # noqa: E402


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_setting_env_sets_and_removes_variables():
    env = harness.Setting(torch_threads=2, tf_threads=None, onednn=0, seed=1).env()
    assert env == {
        "RECSYS_TORCH_THREADS": "2",
        "TF_NUM_INTRAOP_THREADS": None,  # None: removed, the course's default
        "TF_NUM_INTEROP_THREADS": None,
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "OMP_NUM_THREADS": None,
    }
    assert harness.Setting(omp=1, seed=2).label() == (
        "torch default, tf default, oneDNN default, OMP 1, seed 2"
    )


def test_the_full_product_has_every_combination():
    settings = harness.all_settings()
    assert len(settings) == 3 * 3 * 2 * 2 * 3 == len(set(settings))


def test_pairwise_design_covers_every_pair_of_values_and_the_two_real_settings():
    design = harness.pairwise_settings()
    assert design[:2] == [harness.LEARNER, harness.CI]
    assert len(design) < len(harness.all_settings()) / 5  # far fewer runs
    names = list(harness.FACTORS)
    for a, b in itertools.combinations(names, 2):
        seen = {(s.as_dict()[a], s.as_dict()[b]) for s in design}
        wanted = set(itertools.product(harness.FACTORS[a], harness.FACTORS[b]))
        assert seen == wanted, (a, b, wanted - seen)
    assert harness.pairwise_settings() == design  # deterministic


def _nb(*sources):
    return new_notebook(cells=[new_code_cell(s) for s in sources])


def test_with_seed_rewrites_only_top_level_seed_lines():
    nb = _nb(
        "import numpy as np\n\nSEED = 0  # the marketplace's seed\nMY_SEED = 0",
        "def f():\n    SEED = 0\n    return SEED",
        "SEED=0",
    )
    assert harness.seed_lines(nb) == 2
    assert harness.with_seed(nb, 2) == 2
    assert nb.cells[0].source == (
        "import numpy as np\n\nSEED = 2  # the marketplace's seed\nMY_SEED = 0"
    )
    assert nb.cells[1].source == "def f():\n    SEED = 0\n    return SEED"
    assert nb.cells[2].source == "SEED=2"
    assert harness.with_seed(_nb("rng = np.random.default_rng(0)"), 1) == 0


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True])
def test_with_seed_refuses_a_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must"):
        harness.with_seed(_nb("SEED = 0"), seed)


def test_the_burner_spins_one_process_and_stops_it():
    with harness.Burner() as burner:
        pid = burner.proc.pid
        time.sleep(0.3)
        assert burner.running and _alive(pid)
        affinity = os.sched_getaffinity(pid)
        assert affinity == {max(os.sched_getaffinity(0))}  # pinned to one core
    assert not _alive(pid)
    with harness.Burner(enabled=False) as idle:
        assert idle.proc is None


def test_the_burner_stops_when_its_command_is_killed(tmp_path):
    # a command that starts a burner, prints its pid, then hangs; killed with -9 it
    # runs no clean-up: the burner must notice and exit by itself
    script = (
        f"import sys, time; sys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
        "import harness\n"
        "b = harness.Burner().__enter__()\n"
        "print(b.proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    pid = int(parent.stdout.readline())
    assert _alive(pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)


def test_termination_signals_become_system_exit():
    with harness.handle_termination():
        with pytest.raises(SystemExit) as caught:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
    assert caught.value.code == 128 + signal.SIGTERM


def test_run_notebook_reports_the_failing_cell_and_sets_the_environment(tmp_path):
    path = tmp_path / "nb.ipynb"
    nb = new_notebook(
        cells=[
            new_markdown_cell("# A notebook"),
            new_code_cell(
                "import os\nprint(os.environ.get('RECSYS_PROBE'), "
                "os.environ.get('RECSYS_GONE'))"
            ),
            new_code_cell("raise ValueError('planted')"),
            new_code_cell("print('never')"),
        ]
    )
    nbformat.write(nb, path)
    os.environ["RECSYS_GONE"] = "here"
    harness.BASE_ENV["RECSYS_GONE"] = "here"
    try:
        result = harness.run_notebook(
            path, env={"RECSYS_PROBE": "set", "RECSYS_GONE": None}, timeout=60
        )
    finally:
        os.environ.pop("RECSYS_GONE")
        harness.BASE_ENV.pop("RECSYS_GONE")
    assert not result.ok and result.error == ""
    assert result.failures == [
        {
            "cell": 2,
            "error": "ValueError: planted",
            "source": "raise ValueError('planted')",
        }
    ]
    assert result.outputs == ["[cell 1] set None"]  # labelled with its cell
    assert result.wall > 0 and result.peak_mib > 10
