"""The grading sandbox (coursetools/sandbox.py), probed from inside by small notebooks.

Each test writes a job folder (a notebook of a few cells, no exercise), runs it in a
sandbox and reads the runner's report: a cell that asserts an isolation property and
fails shows up in ``report["errors"]``. The last cell of each notebook raises a known
error, so a test also sees that the cells before it ran.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import nbformat
import pytest

from coursetools import sandbox
from coursetools.sandbox import SandboxLimits, SandboxUnavailable

ROOT = Path(__file__).resolve().parents[1]
ROOTED = os.geteuid() == 0
pytestmark = [
    pytest.mark.grading,
    pytest.mark.skipif(
        shutil.which("bwrap") is None, reason="needs bubblewrap (make sandbox-deps)"
    ),
    pytest.mark.xdist_group("grading"),
]
USER = (65534, 65534) if ROOTED else (os.getuid(), os.getgid())
SENTINEL = 'raise RuntimeError("the last cell ran")'


def _run(
    tmp_path,
    cells,
    *,
    timeout=60,
    outer=None,
    memory=2 * 1024**3,
    procs=256,
    env=None,
    extra=(),
):
    job = tmp_path / "job"
    (job / "files").mkdir(parents=True)
    job_spec = {
        "timeout": timeout,
        "probe_seconds": 10,
        "workdir": "",
        "probes": [],
        "max_answer_bytes": 1 << 20,
    }
    (job / "job.json").write_text(json.dumps(job_spec))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in [*cells, SENTINEL]]
    nbformat.write(nb, job / "notebook.ipynb")
    for path in [job, job / "files"]:
        os.chmod(path, 0o755)
    for path in [job / "job.json", job / "notebook.ipynb"]:
        os.chmod(path, 0o644)
    limits = SandboxLimits(
        timeout=outer or timeout + 15, memory=memory, processes=procs, output=1 << 16
    )
    run = sandbox.run(job, hidden=b"{}", limits=limits, env=env, extra=list(extra))
    report = json.loads(run.result) if run.status == "ok" else None
    return run, report


def _errors(report):
    return [e["error"] for e in report["errors"]]


def _explain(report, cells):
    return "\n".join(f"{cells[e['cell']]!r}: {e['error']}" for e in report["errors"])


def test_isolation_seen_from_inside(tmp_path):
    outside = tmp_path / "instructor-secret.txt"
    outside.write_text("the answers")
    os.chmod(outside, 0o644)
    host_tmp = Path("/tmp") / f"recsys-host-{os.getpid()}"  # the machine's /tmp
    host_tmp.write_text("not the sandbox's")
    cells = [
        "import os, socket, subprocess, pathlib",
        # the user: nobody inside and outside, no capabilities
        f"assert (os.getuid(), os.getgid()) == {USER}",
        "assert open('/proc/self/status').read().count('0000000000000000') >= 4",
        # no network: only a loopback interface, no outside address, no DNS
        "assert [n for _, n in socket.if_nameindex()] == ['lo']",
        "for addr in [('1.1.1.1', 53), ('8.8.8.8', 443)]:\n"
        "    try:\n"
        "        socket.create_connection(addr, timeout=2)\n"
        "    except OSError:\n"
        "        continue\n"
        "    raise AssertionError(f'connected to {addr}')",
        "try:\n"
        "    socket.getaddrinfo('pypi.org', 443)\n"
        "    raise AssertionError('DNS resolved')\n"
        "except socket.gaierror:\n"
        "    pass",
        # nothing of the repository but the environment and the package
        f"assert sorted(os.listdir({str(ROOT)!r})) == ['.venv', 'recsys_utils'], "
        f"os.listdir({str(ROOT)!r})",
        *(
            f"assert not os.path.exists({str(p)!r}), {str(p)!r}"
            for p in [
                ROOT / "instructors" / "grading",
                ROOT / "coursetools" / "sandbox.py",
                ROOT / "chapters",
                outside,
                tmp_path,
                Path("/work/mldata"),
                Path("/etc/shadow"),
            ]
        ),
        "assert sorted(os.listdir('/home')) == ['student']",
        # compiled leftovers of the package are hidden
        f"package = pathlib.Path({str(ROOT / 'recsys_utils')!r})\n"
        "caches = list(package.rglob('__pycache__'))"
        "\nassert all(not os.listdir(c) for c in caches)",
        # read-only everywhere but the private folders
        *(
            f"try:\n    open({p!r}, 'w')\n    raise AssertionError({p!r})\n"
            "except OSError:\n    pass"
            for p in [
                str(ROOT / "recsys_utils" / "planted.py"),
                "/sandbox/job/planted",
                "/usr/planted",
            ]
        ),
        f"assert not os.path.exists({str(host_tmp)!r})\n"
        "open('/tmp/mine', 'w').write('x')",
        "open(os.path.expanduser('~/mine'), 'w').write('x')",
        # what the frameworks need: random devices, shared memory
        "assert len(open('/dev/urandom', 'rb').read(8)) == 8",
        "open('/dev/shm/mine', 'w').write('x')",
        # no new user namespace; only the sandbox's few processes
        "assert subprocess.run(['unshare', '--user', 'true']).returncode != 0",
        "assert len([p for p in os.listdir('/proc') if p.isdigit()]) < 20",
        # the runner (it holds the hidden inputs) cannot be read
        "runner = [p for p in os.listdir('/proc') if p.isdigit() and b'runner.py' in "
        "open(f'/proc/{p}/cmdline', 'rb').read()]\n"
        "assert runner\n"
        "for what in ('mem', 'environ'):\n"
        "    try:\n"
        "        open(f'/proc/{runner[0]}/{what}', 'rb').read(1)\n"
        "        raise AssertionError(what)\n"
        "    except OSError:\n"
        "        pass",
    ]
    run, report = _run(tmp_path, cells)
    assert run.status == "ok", run.output
    cells.append(SENTINEL)
    assert _errors(report) == ["RuntimeError: the last cell ran"], _explain(
        report, cells
    )
    assert run.limits in ("cgroup v1", "cgroup v2", "rlimits")
    assert not (Path("/tmp") / "mine").exists()  # the sandbox's /tmp was its own
    host_tmp.unlink()


def test_artifacts_go_to_a_private_cache_when_the_data_home_is_shown(tmp_path):
    """The grader shows $RECSYS_DATA_HOME read-only; the artifact cache (by default
    <data home>/artifacts) must then be the sandbox's own, or a cached cell fails."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "ml-100k.zip").write_bytes(b"zip")
    for path in [tmp_path, data]:
        os.chmod(path, 0o755)
    os.chmod(data / "ml-100k.zip", 0o644)
    cells = [
        "from recsys_utils.artifacts import cache_dir\n"
        "from recsys_utils.paths import data_home\n"
        f"assert str(data_home()) == {str(data)!r}, data_home()\n"
        f"assert open({str(data / 'ml-100k.zip')!r}, 'rb').read() == b'zip'",
        "cache_dir().mkdir(parents=True)\n"
        "(cache_dir() / 'weights.npz').write_bytes(b'x')",
        f"try:\n    open({str(data / 'planted')!r}, 'w')\n"
        "    raise AssertionError('the data home is writable')\n"
        "except OSError:\n    pass",
    ]
    run, report = _run(
        tmp_path, cells, env={"RECSYS_DATA_HOME": str(data)}, extra=[data]
    )
    assert run.status == "ok", run.output
    assert _errors(report) == ["RuntimeError: the last cell ran"], _explain(
        report, [*cells, SENTINEL]
    )
    assert sorted(p.name for p in data.iterdir()) == ["ml-100k.zip"]


def test_the_machine_sees_the_sandbox_as_nobody(tmp_path):
    """Inside, uid 65534 may map to 0 of bubblewrap's intermediate user namespace:
    what counts is the identity the machine sees (its /proc), nobody's."""
    seen, done = {}, threading.Event()

    def watch():
        while not done.is_set():
            for pid in _alive(b"987650"):
                try:
                    status = (Path("/proc") / pid / "status").read_text()
                except OSError:
                    continue
                seen[pid] = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        cells = ["import subprocess\nsubprocess.run(['sleep', '2.987650'])"]
        run, report = _run(tmp_path, cells, timeout=60)
    finally:
        done.set()
        watcher.join()
    assert run.status == "ok" and _errors(report) == ["RuntimeError: the last cell ran"]
    expected = str(USER[0])
    assert seen and all(ids == [expected] * 4 for ids in seen.values()), seen


def _alive(marker: bytes) -> list[str]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "cmdline").read_bytes():
                found.append(proc.name)
        except OSError:
            continue
    return found


def test_every_process_ends_with_the_sandbox(tmp_path):
    cells = [
        "import os, subprocess",
        "subprocess.Popen(['sleep', '987651'], start_new_session=True, env={})",
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.execvp('sleep', ['sleep', '987652'])\n"
        "    os._exit(0)",
    ]
    start = time.monotonic()
    run, report = _run(tmp_path, cells, timeout=60)
    assert run.status == "ok" and _errors(report) == ["RuntimeError: the last cell ran"]
    assert time.monotonic() - start < 45  # it did not wait for the sleepers
    assert _alive(b"sleep\x00987651") == [] and _alive(b"sleep\x00987652") == []


def test_the_time_limit_is_for_the_whole_notebook(tmp_path):
    cells = ["import time"] + ["time.sleep(0.5)"] * 40  # 20 s of short cells
    run, report = _run(tmp_path, cells, timeout=8)
    assert run.status == "ok" and report["notebook"] == "timed out"
    assert run.seconds < 8 + 10


def test_a_notebook_that_ignores_interrupts_is_killed_from_outside(tmp_path):
    cells = [
        "import time\n"
        "while True:\n"
        "    try:\n"
        "        time.sleep(1)\n"
        "    except KeyboardInterrupt:\n"
        "        pass"
    ]
    run, _ = _run(tmp_path, cells, timeout=5, outer=10)
    assert run.status == "timed out"
    assert 10 <= run.seconds < 25


def test_memory_is_limited_for_the_whole_sandbox(tmp_path):
    if not sandbox.self_check().startswith("cgroup"):
        pytest.skip("no cgroup here: memory is limited per process (RLIMIT_AS)")
    cells = [
        "import os, time\nimport numpy as np",
        # three children of 450 MB each: under a per-process limit, over the sandbox's.
        # The parent waits for them (a fixed sleep let a loaded machine end the cell
        # before the children had allocated: a race, not a limit)
        "children = []\n"
        "for _ in range(3):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        a = np.ones(450 * 2**20, dtype=np.uint8)\n"
        "        time.sleep(10)\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
        "for pid in children:\n"
        "    os.waitpid(pid, 0)",
    ]
    run, _ = _run(tmp_path, cells, timeout=40, memory=1024**3)
    assert run.memory_exceeded, run.output


def test_processes_are_limited_for_the_whole_sandbox(tmp_path):
    if not sandbox.self_check().startswith("cgroup"):
        pytest.skip("no cgroup here: processes are limited per user (RLIMIT_NPROC)")
    cells = [
        "import subprocess\n"
        "procs = []\n"
        "try:\n"
        "    for _ in range(300):\n"
        "        procs.append(subprocess.Popen(['sleep', '30']))\n"
        "except OSError:\n"
        "    pass\n"
        "assert len(procs) < 96, len(procs)"
    ]
    run, report = _run(tmp_path, cells, timeout=40, procs=96)
    assert run.status == "ok" and _errors(report) == ["RuntimeError: the last cell ran"]
    run, report = _run(tmp_path / "next", ["x = 1"], timeout=40)  # the next one runs
    assert run.status == "ok" and _errors(report) == ["RuntimeError: the last cell ran"]


def test_output_is_capped(tmp_path):
    cells = [
        "import os\nfor _ in range(50):\n    os.write(1, b'y' * 1_000_000)",
        "print('z' * 20_000_000)",
    ]
    run, report = _run(tmp_path, cells, timeout=60)
    assert run.status == "ok" and _errors(report) == ["RuntimeError: the last cell ran"]
    assert len(run.output) <= 1 << 16
    assert any("dropped" in n for n in run.notes)


def test_clear_message_without_bubblewrap_or_linux(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="apt-get install -y bubblewrap"):
        sandbox.bwrap_path()
    monkeypatch.setattr(sandbox.platform, "system", lambda: "Darwin")
    with pytest.raises(SandboxUnavailable, match="Linux"):
        sandbox.bwrap_path()
