"""Start N worker processes on 127.0.0.1 for torch.distributed or tf.distribute.

Taught in chapter 7 ("Launching workers"). On a cluster one starts one process per
worker: ``torchrun --nnodes ... --nproc-per-node ... worker.py`` for PyTorch, which
hands every process its ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``;
for TensorFlow, a scheduler starts each worker with a ``TF_CONFIG`` naming every
worker's address and the worker's own index. :func:`launch` does the same on this
machine, on the loopback address only, and adds what a notebook needs:

* free ports chosen by the operating system (a socket bound to port 0), and a new set
  of ports when a worker reports that its port was taken meanwhile;
* a time bound: workers still running after ``timeout`` seconds are stopped;
* every worker's output collected (stdout and stderr, interleaved as written);
* a clear report when a worker fails (:class:`WorkerFailure`: which worker, its exit
  code or the signal that killed it, its last lines of output), after which the other
  workers, who would wait forever in their next collective operation, are stopped;
* every process it started stopped (SIGTERM, then SIGKILL) when it returns, raises,
  is interrupted (KeyboardInterrupt) or receives SIGTERM; on Linux a worker also dies
  with the thread that launched it, so even a launcher killed by SIGKILL leaves no
  worker behind.

This module imports no deep-learning framework: the worker scripts do.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .framework import FRAMEWORKS
from .validation import check_int

__all__ = [
    "LOOPBACK",
    "WorkerResult",
    "LaunchResult",
    "WorkerFailure",
    "free_ports",
    "loopback_interface",
    "worker_env",
    "launch",
]

#: The only address the workers use.
LOOPBACK = "127.0.0.1"
#: What a worker prints when the port it was given was taken in the meantime.
_PORT_TAKEN = (
    "address already in use",
    "eaddrinuse",
    "failed to add port",
    "could not start grpc server",
    "errno 98",
)
# On Linux, the bootstrap asks the kernel to SIGKILL the worker when the thread that
# started it exits (prctl PR_SET_PDEATHSIG = 1), then becomes the worker (execv).
_BOOTSTRAP = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit('recsys_utils.distributed: the launcher is gone')\n"
    "os.execv(sys.executable, [sys.executable] + sys.argv[2:])\n"
)


@dataclass
class WorkerResult:
    """What one worker did.

    Attributes:
        rank: the worker's index, ``0 .. world_size - 1``.
        returncode: its exit code (negative: killed by that signal); ``None`` when the
            launcher stopped it before it finished.
        output: everything it printed (stdout and stderr).
        seconds: wall time from its start to its end (or to when it was stopped).
    """

    rank: int
    returncode: int | None
    output: str
    seconds: float

    def describe(self) -> str:
        """How the worker ended, in words ("exited with code 1", ...)."""
        code = self.returncode
        if code is None:
            return "was stopped by the launcher"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"was killed by {name} ({-code})"
        return f"exited with code {code}"


@dataclass
class LaunchResult:
    """What a successful :func:`launch` returns.

    Attributes:
        framework: ``"pytorch"`` or ``"tensorflow"``.
        world_size: number of workers.
        workers: one :class:`WorkerResult` per worker, by rank.
        seconds: wall time of the whole launch, start-up included.
        ports: the loopback ports the workers were given.
        attempts: how many launches it took (more than 1 when a port was taken).
    """

    framework: str
    world_size: int
    workers: list[WorkerResult]
    seconds: float
    ports: list[int] = field(default_factory=list)
    attempts: int = 1

    def output(self, rank: int = 0) -> str:
        """The output of worker ``rank``."""
        return self.workers[rank].output


class WorkerFailure(RuntimeError):
    """A worker failed or the launch ran out of time; every worker has been stopped.

    Attributes:
        workers: a :class:`WorkerResult` per worker (the failed ones and the others).
        failed: the ranks that failed, the first one seen first.
        timed_out: ``True`` when the time bound was reached.
    """

    def __init__(
        self,
        message: str,
        workers: list[WorkerResult],
        failed: list[int],
        timed_out: bool,
    ):
        super().__init__(message)
        self.workers = workers
        self.failed = failed
        self.timed_out = timed_out


def _checked_launch(framework: str, world_size: object, threads: object):
    """(world_size, threads) after checking them and the framework's name."""
    if framework not in FRAMEWORKS:
        raise ValueError(
            f"framework must be one of {', '.join(FRAMEWORKS)}; got {framework!r}"
        )
    return check_int(world_size, "world_size", low=1), check_int(
        threads, "threads", low=1
    )


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Ports on ``host`` that no process is listening on, chosen by the system.

    Each port comes from binding a socket to port 0 (the operating system picks a free
    one); all sockets stay open until every port is chosen, so the ports are distinct.
    Another process may still take a port before a worker binds it: :func:`launch`
    then retries with new ports.

    Args:
        count: how many ports (>= 1).
        host: the address to bind, ``127.0.0.1`` by default.

    Returns:
        ``count`` distinct port numbers.
    """
    count = check_int(count, "count", low=1)
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def loopback_interface() -> str:
    """Name of the network interface that holds 127.0.0.1 (``lo`` on Linux).

    gloo, PyTorch's CPU backend, opens its connections on the interface named by
    ``GLOO_SOCKET_IFNAME``; naming the loopback one keeps every byte on this machine.

    Returns:
        the interface name.

    Raises:
        RuntimeError: when no interface holds 127.0.0.1.
    """
    import psutil

    for name, addresses in psutil.net_if_addrs().items():
        if any(a.family == socket.AF_INET and a.address == LOOPBACK for a in addresses):
            return name
    raise RuntimeError("no network interface holds 127.0.0.1")


def worker_env(
    framework: str,
    rank: int,
    world_size: int,
    ports: Sequence[int],
    *,
    threads: int = 1,
    host: str = LOOPBACK,
) -> dict[str, str]:
    """The environment variables that tell worker ``rank`` where it stands.

    * PyTorch: what ``torchrun`` sets, read by
      ``torch.distributed.init_process_group("gloo")``: ``MASTER_ADDR``,
      ``MASTER_PORT`` (``ports[0]``, where worker 0 listens), ``RANK``,
      ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, and
      ``GLOO_SOCKET_IFNAME`` (the loopback interface).
    * TensorFlow: ``TF_CONFIG``, read by ``tf.distribute.MultiWorkerMirroredStrategy``:
      ``{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker",
      "index": rank}}``, one port per worker.
    * Both: ``OMP_NUM_THREADS`` (threads per worker) and ``RECSYS_NUM_THREADS`` (the
      same number, for the TensorFlow worker to pass to ``tf.config.threading``).

    Args:
        framework: ``"pytorch"`` or ``"tensorflow"``.
        rank: the worker's index in ``[0, world_size)``.
        world_size: number of workers (>= 1).
        ports: one port (PyTorch) or ``world_size`` ports (TensorFlow).
        threads: compute threads per worker (>= 1).
        host: the workers' address.

    Returns:
        a dict of environment variables (strings).
    """
    world_size, threads = _checked_launch(framework, world_size, threads)
    rank = check_int(rank, "rank", low=0, high=world_size - 1)
    ports = [int(p) for p in ports]
    needed = 1 if framework == "pytorch" else world_size
    if len(ports) != needed or not all(0 < p < 65536 for p in ports):
        raise ValueError(
            f"ports must hold {needed} port number(s) in [1, 65535] for {framework} "
            f"with world_size={world_size}; got {ports}"
        )
    env = {"OMP_NUM_THREADS": str(threads), "RECSYS_NUM_THREADS": str(threads)}
    if framework == "pytorch":
        env.update(
            MASTER_ADDR=host,
            MASTER_PORT=str(ports[0]),
            RANK=str(rank),
            WORLD_SIZE=str(world_size),
            LOCAL_RANK=str(rank),
            LOCAL_WORLD_SIZE=str(world_size),
        )
        if host == LOOPBACK:
            env["GLOO_SOCKET_IFNAME"] = loopback_interface()
    else:
        cluster = {"worker": [f"{host}:{p}" for p in ports]}
        env["TF_CONFIG"] = json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": rank}}
        )
    return env


def _stop(procs: Sequence[subprocess.Popen], grace: float) -> None:
    """SIGTERM every process group still alive, then SIGKILL what is left."""
    alive = [p for p in procs if p.poll() is None]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, sig)  # the worker and anything it started
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if p.poll() is None]
            time.sleep(0.02)
        if not alive:
            break
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=grace)
        # a worker's own children in its process group, if any outlived it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)


def _tail(text: str, lines: int = 12) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join("    | " + line for line in kept) or "    | (no output)"


def _failure_message(
    results: list[WorkerResult], failed: list[int], timed_out: bool, timeout: float
) -> str:
    n = len(results)
    if timed_out:
        running = [r.rank for r in results if r.returncode is None]
        head = (
            f"the launch ran out of time ({timeout:g} s); worker(s) {running} of {n} "
            "were still running and have been stopped"
        )
    else:
        first = results[failed[0]]
        head = (
            f"worker {first.rank} of {n} {first.describe()} after {first.seconds:.1f} s"
        )
    parts = [head + "; every worker has been stopped."]
    shown = failed if not timed_out else [r.rank for r in results]
    for rank in shown:
        r = results[rank]
        parts.append(
            f"  worker {rank} {r.describe()}; its last lines:\n{_tail(r.output)}"
        )
    return "\n".join(parts)


class _Terminated(BaseException):
    """Raised in the launcher's thread when it receives SIGTERM during a launch."""


def _run_once(
    command: list[str],
    envs: list[dict[str, str]],
    cwd: str | None,
    timeout: float,
    grace: float,
    log_dir: Path,
) -> tuple[list[WorkerResult], list[int], bool]:
    """Start the workers, wait, stop them all; return results, failed ranks, timeout."""
    procs: list[subprocess.Popen] = []
    logs = []
    ended: dict[int, float] = {}
    failed: list[int] = []
    timed_out = False
    start = time.monotonic()
    try:
        for rank, env in enumerate(envs):
            log = open(log_dir / f"worker{rank}.log", "wb")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    command,
                    env=env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: stopped as a whole
                )
            )
        deadline = start + timeout
        while len(ended) < len(procs):
            for rank, p in enumerate(procs):
                if rank not in ended and p.poll() is not None:
                    ended[rank] = time.monotonic()
                    if p.returncode != 0:
                        failed.append(rank)
            if failed:
                # give the others a moment to report their own error, then stop them
                time.sleep(min(0.5, grace))
                for rank, p in enumerate(procs):
                    if rank not in ended and p.poll() is not None:
                        ended[rank] = time.monotonic()
                        if p.returncode != 0:
                            failed.append(rank)
                break
            if time.monotonic() > deadline:
                timed_out = True
                break
            time.sleep(0.02)
    finally:
        _stop(procs, grace)
        for log in logs:
            log.close()
    now = time.monotonic()
    results = []
    for rank, p in enumerate(procs):
        text = (log_dir / f"worker{rank}.log").read_bytes().decode("utf-8", "replace")
        code = p.returncode if rank in ended else None
        results.append(WorkerResult(rank, code, text, ended.get(rank, now) - start))
    # a worker killed by a signal is the likelier cause: report it first
    failed.sort(key=lambda r: ((procs[r].returncode or 0) >= 0, ended[r]))
    return results, failed, timed_out


def _check_env(env: object) -> dict[str, str]:
    """Extra environment variables: a mapping of names to strings (or None)."""
    if env is None:
        return {}
    if not isinstance(env, Mapping):
        raise ValueError(
            "env must be a dict {name: value} of environment variables, values as "
            f"strings; got {type(env).__name__}"
        )
    for name, value in env.items():
        if not isinstance(name, str) or not name or "=" in name or "\0" in name:
            raise ValueError(
                "env must map variable names (non-empty strings without '=') to "
                f"strings; got the name {name!r}"
            )
        if not isinstance(value, str) or "\0" in value:
            raise ValueError(
                f"env[{name!r}] must be a string (environment variables are text); "
                f"got {value!r} ({type(value).__name__}): pass {str(value)!r}"
            )
    return dict(env)


def launch(
    script: str | os.PathLike,
    world_size: int,
    *,
    framework: str,
    args: Sequence[str] = (),
    timeout: float = 120.0,
    threads: int = 1,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    python: str | None = None,
    port_retries: int = 2,
    grace: float = 3.0,
) -> LaunchResult:
    """Run ``python script *args`` as ``world_size`` workers on 127.0.0.1 and wait.

    Each worker gets the environment of :func:`worker_env` (what ``torchrun`` or a
    ``TF_CONFIG`` gives it on a cluster) on top of this process's environment and
    ``env``. The call returns when every worker has exited with code 0.

    Args:
        script: the worker script (a Python file).
        world_size: number of workers (>= 1).
        framework: ``"pytorch"`` (environment for ``torch.distributed``) or
            ``"tensorflow"`` (``TF_CONFIG`` for ``tf.distribute``).
        args: command-line arguments passed to every worker.
        timeout: seconds before every worker still running is stopped (> 0).
        threads: compute threads per worker (``OMP_NUM_THREADS``).
        env: extra environment variables for every worker, ``{name: str}``
            (a number must be given as text: ``{"SEED": "1"}``).
        cwd: the workers' working directory (default: this process's).
        python: the interpreter (default: this one, ``sys.executable``).
        port_retries: how many times to relaunch with new ports when a worker reports
            that its port was taken (>= 0).
        grace: seconds between SIGTERM and SIGKILL when stopping workers.

    Returns:
        a :class:`LaunchResult` with every worker's output.

    Raises:
        WorkerFailure: a worker exited with a non-zero code or was killed, or the time
            ran out; the message names the worker and shows its last lines, and every
            worker has been stopped.
        ValueError: on a bad argument (the message names it).
    """
    script = Path(script)
    if not script.is_file():
        raise ValueError(f"script must be an existing Python file; got {str(script)!r}")
    world_size, threads = _checked_launch(framework, world_size, threads)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not timeout > 0
    ):
        raise ValueError(
            f"timeout must be a positive number of seconds; got {timeout!r}"
        )
    port_retries = check_int(port_retries, "port_retries", low=0)
    env = _check_env(env)
    if not isinstance(args, Sequence) or isinstance(args, str):
        raise ValueError(f"args must be a sequence of strings; got {args!r}")
    python = python or sys.executable
    command = [python, str(script.resolve()), *map(str, args)]
    if sys.platform.startswith("linux"):
        command = [python, "-c", _BOOTSTRAP, str(os.getpid()), *command[1:]]

    in_main = threading.current_thread() is threading.main_thread()
    previous = None
    if in_main:

        def on_sigterm(signum, frame):
            raise _Terminated()

        previous = signal.signal(signal.SIGTERM, on_sigterm)
    log_dir = Path(tempfile.mkdtemp(prefix="recsys-launch-"))
    start = time.monotonic()
    terminated = False
    try:
        for attempt in range(1, port_retries + 2):
            ports = free_ports(1 if framework == "pytorch" else world_size)
            base = {**os.environ, **env}
            envs = [
                {
                    **base,
                    **worker_env(framework, rank, world_size, ports, threads=threads),
                }
                for rank in range(world_size)
            ]
            results, failed, timed_out = _run_once(
                command,
                envs,
                None if cwd is None else str(cwd),
                timeout,
                grace,
                log_dir,
            )
            if not failed and not timed_out:
                return LaunchResult(
                    framework,
                    world_size,
                    results,
                    time.monotonic() - start,
                    ports,
                    attempt,
                )
            port_taken = any(
                marker in results[r].output.lower()
                for r in failed
                for marker in _PORT_TAKEN
            )
            if timed_out or not port_taken or attempt == port_retries + 1:
                raise WorkerFailure(
                    _failure_message(results, failed, timed_out, timeout),
                    results,
                    failed,
                    timed_out,
                )
        raise AssertionError("unreachable")  # pragma: no cover
    except _Terminated:
        terminated = True
        raise KeyboardInterrupt("SIGTERM received: the workers were stopped") from None
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
        if in_main:
            signal.signal(signal.SIGTERM, previous)
            if terminated and previous in (signal.SIG_DFL, None):
                os.kill(os.getpid(), signal.SIGTERM)  # end as SIGTERM asked
