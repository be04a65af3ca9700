"""The launcher of chapter 7 (recsys_utils.distributed): loopback only, bounded in time,
every worker's output collected, a failed or killed worker reported by rank, and no
process left behind, whether the launch succeeds, fails, times out or is interrupted.

The multi-process tests start real processes on 127.0.0.1; each is bounded by the
launcher's timeout (and pytest's own wall clock below it)."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest
from processes import gone

from recsys_utils import distributed
from recsys_utils.distributed import WorkerFailure, free_ports, launch, worker_env

REPO = Path(__file__).resolve().parents[1]


def _script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


# A worker that records its pid (so the test can check it is gone), then behaves as
# its rank's entry in the JSON argument says: "ok", "sleep", "exit:<code>", "loop".
_BEHAVE = """
    import json, os, sys, time
    from pathlib import Path

    tf_config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    rank = int(os.environ.get("RANK") or tf_config["task"]["index"])
    plan = json.loads(sys.argv[1])
    Path(plan["dir"], f"pid{rank}").write_text(str(os.getpid()))
    what = plan["ranks"][rank]
    print(f"worker {rank} starts: {what}", flush=True)
    if what == "sleep":
        time.sleep(600)
    elif what.startswith("exit:"):
        print("something went wrong here", file=sys.stderr, flush=True)
        sys.exit(int(what[5:]))
    print(f"worker {rank} done", flush=True)
"""


def _pids(directory: Path, world_size: int) -> list[int]:
    return [int((directory / f"pid{r}").read_text()) for r in range(world_size)]


def _wait_for(path: Path, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# Ports and environments
# ---------------------------------------------------------------------------


def test_free_ports_are_distinct_and_bindable_on_loopback():
    ports = free_ports(4)
    assert len(set(ports)) == 4
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # raises if the port were taken


def test_worker_env_pytorch_is_what_torchrun_sets():
    env = worker_env("pytorch", 1, 2, [29500], threads=3)
    assert env == {
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29500",
        "RANK": "1",
        "WORLD_SIZE": "2",
        "LOCAL_RANK": "1",
        "LOCAL_WORLD_SIZE": "2",
        "GLOO_SOCKET_IFNAME": distributed.loopback_interface(),
        "OMP_NUM_THREADS": "3",
        "RECSYS_NUM_THREADS": "3",
    }


def test_worker_env_tensorflow_is_a_tf_config():
    env = worker_env("tensorflow", 0, 2, [4001, 4002])
    assert json.loads(env["TF_CONFIG"]) == {
        "cluster": {"worker": ["127.0.0.1:4001", "127.0.0.1:4002"]},
        "task": {"type": "worker", "index": 0},
    }
    assert env["OMP_NUM_THREADS"] == "1" and "MASTER_PORT" not in env


def test_loopback_interface_holds_127_0_0_1():
    name = distributed.loopback_interface()
    addresses = psutil.net_if_addrs()[name]
    assert any(a.address == "127.0.0.1" for a in addresses)


@pytest.mark.parametrize(
    "args, match",
    [
        (("jax", 0, 2, [1]), "framework must be one of"),
        (("pytorch", 2, 2, [1]), r"rank must be an int in \[0, 1\]; got 2"),
        (("pytorch", 0, 0, [1]), "world_size must be a positive int"),
        (("pytorch", 0, 2, [1, 2]), "ports must hold 1 port"),
        (("tensorflow", 0, 2, [1]), "ports must hold 2 port"),
        (
            ("tensorflow", 0, 2, [1, 70000]),
            r"ports must hold 2 port number\(s\) in \[1, 65535\]",
        ),
    ],
)
def test_worker_env_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        worker_env(*args)


def test_launch_rejects_bad_arguments(tmp_path):
    script = _script(tmp_path, "w.py", "print('hi')\n")
    with pytest.raises(ValueError, match="script must be an existing Python file"):
        launch(tmp_path / "missing.py", 2, framework="pytorch")
    with pytest.raises(ValueError, match="framework must be one of"):
        launch(script, 2, framework="mxnet")
    with pytest.raises(ValueError, match="world_size must be a positive int"):
        launch(script, 0, framework="pytorch")
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        launch(script, 1, framework="pytorch", timeout=0)
    with pytest.raises(ValueError, match="args must be a sequence of strings"):
        launch(script, 1, framework="pytorch", args="--flag")
    # environment variables are text: a number is named, with the string to pass
    with pytest.raises(
        ValueError, match=r"env\['SEED'\] must be a string .*got 1 \(int\): pass '1'"
    ):
        launch(script, 1, framework="pytorch", env={"SEED": 1})
    with pytest.raises(ValueError, match="env must map variable names"):
        launch(script, 1, framework="pytorch", env={"A=B": "1"})
    with pytest.raises(ValueError, match=r"env must be a dict \{name: value\}"):
        launch(script, 1, framework="pytorch", env=[("SEED", "1")])


def test_launch_passes_env_to_every_worker(tmp_path):
    script = _script(
        tmp_path, "w.py", "import os\nprint('seed', os.environ['COURSE_SEED'])\n"
    )
    result = launch(script, 2, framework="pytorch", env={"COURSE_SEED": "7"})
    assert ["seed 7" in w.output for w in result.workers] == [True, True]


# ---------------------------------------------------------------------------
# Launching: success, failure, time-out
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_launch_collects_every_workers_output(tmp_path, framework):
    script = _script(tmp_path, "w.py", _BEHAVE)
    plan = json.dumps({"dir": str(tmp_path), "ranks": ["ok", "ok", "ok"]})
    result = launch(script, 3, framework=framework, args=[plan], timeout=60)
    assert [w.returncode for w in result.workers] == [0, 0, 0]
    for rank in range(3):
        assert f"worker {rank} starts: ok" in result.output(rank)
        assert f"worker {rank} done" in result.output(rank)
    assert len(result.ports) == (1 if framework == "pytorch" else 3)
    assert all(gone(pid, 0.1) for pid in _pids(tmp_path, 3))


def test_a_failing_worker_is_named_and_the_others_are_stopped(tmp_path):
    script = _script(tmp_path, "w.py", _BEHAVE)
    plan = json.dumps({"dir": str(tmp_path), "ranks": ["sleep", "exit:3"]})
    start = time.monotonic()
    with pytest.raises(WorkerFailure) as info:
        launch(script, 2, framework="pytorch", args=[plan], timeout=60)
    assert time.monotonic() - start < 30  # not the 600 s that worker 0 sleeps
    err = info.value
    assert str(err).startswith("worker 1 of 2 exited with code 3")
    assert "something went wrong here" in str(err)  # its last lines are shown
    assert err.failed == [1] and not err.timed_out
    assert err.workers[0].returncode is None  # stopped by the launcher
    assert all(gone(pid) for pid in _pids(tmp_path, 2))


def test_the_time_bound_stops_every_worker(tmp_path):
    script = _script(tmp_path, "w.py", _BEHAVE)
    plan = json.dumps({"dir": str(tmp_path), "ranks": ["sleep", "sleep"]})
    start = time.monotonic()
    with pytest.raises(WorkerFailure, match=r"ran out of time \(3 s\)") as info:
        launch(script, 2, framework="tensorflow", args=[plan], timeout=3)
    assert 3 <= time.monotonic() - start < 20
    assert info.value.timed_out
    assert all(gone(pid) for pid in _pids(tmp_path, 2))


def test_a_port_taken_meanwhile_is_retried_with_new_ports(tmp_path):
    # the first attempt fails as a worker does when its port was taken, the second runs.
    # One marker for both ranks: a per-rank marker made the count depend on whether the
    # launcher stopped the other rank before it wrote its own (3 attempts under load).
    script = _script(
        tmp_path,
        "w.py",
        f"""
        import os, sys
        from pathlib import Path
        marker = Path({str(tmp_path)!r}) / "tried"
        if not marker.exists():
            marker.write_text("x")
            sys.exit("RuntimeError: bind: Address already in use")
        print("bound", os.environ["MASTER_PORT"])
        """,
    )
    result = launch(script, 2, framework="pytorch", timeout=60)
    assert result.attempts == 2
    assert result.output(0).startswith("bound")


def test_a_port_failure_that_persists_is_reported(tmp_path):
    script = _script(
        tmp_path, "w.py", "import sys; sys.exit('Address already in use')\n"
    )
    with pytest.raises(WorkerFailure, match="exited with code 1") as info:
        launch(script, 2, framework="pytorch", timeout=60, port_retries=1)
    assert "Address already in use" in str(info.value)


# ---------------------------------------------------------------------------
# A worker killed mid-run, in a real gloo process group
# ---------------------------------------------------------------------------

_GLOO_LOOP = """
    import os, sys, time
    from pathlib import Path
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    Path(sys.argv[1], f"pid{rank}").write_text(str(os.getpid()))
    x = torch.ones(1000)
    for step in range(1_000_000):  # all-reduce until the test kills worker 1
        dist.all_reduce(x)
        x.fill_(1.0)
        if step == 20:
            Path(sys.argv[1], f"running{rank}").write_text("")
"""


def test_a_worker_killed_mid_run_is_reported_and_everything_is_cleaned_up(tmp_path):
    script = _script(tmp_path, "gloo_loop.py", _GLOO_LOOP)

    def kill_worker_1():
        _wait_for(tmp_path / "running1")
        _wait_for(tmp_path / "running0")
        os.kill(int((tmp_path / "pid1").read_text()), signal.SIGKILL)

    killer = threading.Thread(target=kill_worker_1, daemon=True)
    killer.start()
    with pytest.raises(WorkerFailure) as info:
        launch(script, 2, framework="pytorch", args=[str(tmp_path)], timeout=120)
    killer.join(timeout=5)
    err = info.value
    assert str(err).startswith("worker 1 of 2 was killed by SIGKILL (9)"), str(err)
    assert err.failed[0] == 1
    # worker 0 was blocked in an all-reduce with a dead peer: it is gone too
    assert all(gone(pid) for pid in _pids(tmp_path, 2))


# ---------------------------------------------------------------------------
# The launcher itself interrupted or killed
# ---------------------------------------------------------------------------

_LAUNCHER = """
    import json, sys
    from recsys_utils.distributed import launch
    plan = json.dumps({{"dir": {dir!r}, "ranks": ["sleep", "sleep"]}})
    launch({script!r}, 2, framework="pytorch", args=[plan], timeout=300)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_an_interrupted_launcher_leaves_no_worker_behind(tmp_path, sig):
    if sig == signal.SIGKILL and not sys.platform.startswith("linux"):
        pytest.skip("a worker dies with its launcher through PR_SET_PDEATHSIG (Linux)")
    worker = _script(tmp_path, "w.py", _BEHAVE)
    launcher = _script(
        tmp_path, "launcher.py", _LAUNCHER.format(dir=str(tmp_path), script=str(worker))
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(launcher)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # a shell starts background jobs with SIGINT ignored, and a Python started
        # that way never raises KeyboardInterrupt: the launcher must see SIGINT as a
        # learner's Ctrl-C, whatever started the test run
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        _wait_for(tmp_path / "pid0")
        _wait_for(tmp_path / "pid1")
        proc.send_signal(sig)
        # a bound, not a speed claim: stopping takes seconds on an idle machine, but
        # CI runs this beside two notebook kernels and the book build (30 s ran out)
        output, _ = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode != 0
    if sig == signal.SIGINT:
        assert b"KeyboardInterrupt" in output
    assert all(gone(pid) for pid in _pids(tmp_path, 2))


# ---------------------------------------------------------------------------
# The chapter's worker files: 2 workers train what 1 process trains
# ---------------------------------------------------------------------------


def test_the_exported_worker_modules_are_ruff_clean():
    """The workers run chapter 7's exported modules (recsys_utils/book/ch07*.py)."""
    files = [
        REPO / "recsys_utils" / "book" / f"ch07{s}.py" for s in ("", "_torch", "_tf")
    ]
    assert all(f.exists() for f in files)
    ruff = Path(sys.executable).parent / "ruff"
    config = ["--config", str(REPO / "pyproject.toml")]
    for args in (["format", "--check", "--diff"], ["check"]):
        proc = subprocess.run(
            [str(ruff), *args, *config, *map(str, files)],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def _tiny_data():
    """Purchases of the tiny marketplace, attribute codes and a small config."""
    import numpy as np

    import recsys_utils as ru
    from recsys_utils import retrieval
    from recsys_utils.book.ch07 import TowersConfig

    mk = ru.make_marketplace(seed=0, size="tiny")
    users, items = (
        mk.purchases["user_id"].to_numpy(),
        mk.purchases["item_id"].to_numpy(),
    )
    item_attrs = np.stack(
        [mk.items[c].cat.codes.to_numpy() for c in ("category", "colour")], axis=1
    ) + np.array([0, len(mk.items["category"].cat.categories)])
    user_attrs = mk.users["segment"].cat.codes.to_numpy()[:, None]
    data = {
        "user_ids": users,
        "item_ids": items,
        "user_attrs": user_attrs.astype(np.int64),
        "item_attrs": item_attrs.astype(np.int64),
        "log_q": retrieval.log_q(items, mk.num_items),
    }
    config = TowersConfig(
        mk.num_users,
        mk.num_items,
        int(user_attrs.max()) + 1,
        int(item_attrs.max()) + 1,
        num_user_attrs=1,
        num_item_attrs=2,
        id_dim=8,
        attr_dim=4,
        hidden=16,
        embedding_dim=8,
        batch_size=128,
        num_steps=20,
    )
    return data, config


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_two_workers_train_what_one_process_trains(framework):
    """The chapter's claim, per framework: with the same global batches, 2 workers'
    weights after 20 SGD steps equal one process's up to float32 summation order, and
    the first 20 Adam losses within 3e-5 (global negatives, all-gathered). The workers
    run the exported module (recsys_utils.book.ch07_torch / ch07_tf) through
    ch07.run_workers, which launches them on 127.0.0.1 with a time bound.

    On this tiny marketplace with batch 128 the SGD gap measured 1.3e-5 (PyTorch) and
    4e-6 (TensorFlow) when the test was written: asserted at 5e-5, while the same steps
    move the weights by far more (asserted > 100 x that).
    """
    import dataclasses

    import numpy as np

    from recsys_utils.book import ch07

    if framework == "pytorch":
        from recsys_utils.book.ch07_torch import fit_compact_towers_pt as fit
    else:
        from recsys_utils.book.ch07_tf import fit_compact_towers_tf as fit
    data, config = _tiny_data()
    init = ch07.init_compact_towers_weights(config, 0)
    runs = [
        dataclasses.replace(config, name="sgd", optimizer="sgd", lr=0.5),
        dataclasses.replace(config, name="adam", optimizer="adam", lr=0.01),
    ]
    two = ch07.run_workers(framework, data, init, runs, seed=0)
    one = ch07.one_process_run(fit, init, data, runs, seed=0)
    for run, atol in ((runs[0], 5e-5), (runs[1], None)):
        name = run.name
        np.testing.assert_allclose(
            two[f"{name}.loss"], one[f"{name}.loss"], rtol=0, atol=3e-5
        )
        if atol is not None:
            gap = max(
                np.abs(two[f"{name}.w.{k}"] - one[f"{name}.w.{k}"]).max() for k in init
            )
            assert gap <= atol, f"{framework}: SGD weights differ by {gap:.2e}"
            moved = max(np.abs(one[f"{name}.w.{k}"] - init[k]).max() for k in init)
            assert moved > 100 * atol, f"{framework}: SGD moved the weights {moved}"


def test_run_workers_leaves_no_folder_behind(monkeypatch, tmp_path):
    """A failing launch still removes the folder run_workers made, and only it."""
    import tempfile

    from recsys_utils.book import ch07

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    keep = tmp_path / "not-mine.txt"
    keep.write_text("a file run_workers did not write")
    data, config = _tiny_data()
    init = ch07.init_compact_towers_weights(config, 0)
    with pytest.raises(ValueError, match="framework"):
        ch07.run_workers("jax", data, init, [config])
    assert [p.name for p in tmp_path.iterdir()] == ["not-mine.txt"]
