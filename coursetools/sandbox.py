"""Run one submitted notebook in a sandbox made by bubblewrap: ``coursetools.sandbox``.

The grader (coursetools/grade.py) calls :func:`run` once per notebook. It starts
bubblewrap (``bwrap``, Debian's ``bubblewrap``, the sandbox Flatpak uses; ``make
sandbox-deps`` installs it) around this very file, which then runs inside the sandbox
as a script (:func:`runner_main`): it executes the notebook with nbclient, calls the
student's answers on the hidden inputs, and writes what they returned, as data, to a
pipe the grader reads. Nothing the sandbox writes lands anywhere else.

What the sandbox is (Linux only):

* **Namespaces**: new PID, network (a loopback interface only: no outside address, no
  DNS), IPC, UTS and cgroup namespaces and a new user namespace whose one user is
  ``nobody`` (65534) outside too. When the grader runs as root, an outer bubblewrap
  (root) builds the file view and the namespaces, ``setpriv`` (util-linux) drops to
  ``nobody`` with no groups and no capabilities, and an inner bubblewrap adds the user
  namespace and forbids creating more (``--disable-userns``). Without root, one
  bubblewrap does it all as the grader's user.
* **Files**: a fresh root holding read-only ``/usr`` (and its ``/bin``, ``/lib``
  links), a few files of ``/etc``, the Python installation and the environment the
  grader runs in, the ``recsys_utils`` package folder, the job folder the grader
  prepared (the student's files and the notebook, read-only) and this file; a private
  ``/tmp``, ``/dev/shm`` and home folder (tmpfs, size-capped, gone at the end); a
  private ``/proc`` and a minimal ``/dev``. Nothing else of the repository or the
  machine: not the release, not the grades, not other submissions, not
  ``instructors/``.
* **Processes**: the sandbox's PID namespace dies with its first process, and with it
  every process the notebook started (a double fork, ``setsid`` or an empty
  environment do not escape it); ``--die-with-parent`` kills it if the grader dies;
  ``--new-session`` detaches it from the terminal.
* **Limits**: a wall-clock limit for the whole run, enforced by the grader (it kills
  the sandbox); memory and process count for the whole sandbox through a cgroup (v2,
  or v1's ``memory`` and ``pids`` controllers) when the grader may create one (root),
  else per-process ``RLIMIT_AS`` and per-user ``RLIMIT_NPROC`` (:func:`run` reports
  which); output read with a size cap, the rest discarded.

Hidden inputs reach the sandbox through a pipe that the runner reads before the
student's kernel starts and keeps in a process the kernel cannot inspect (not
dumpable); they are written to the sandbox's ``/tmp`` only once the notebook has run,
for the student's functions to be called on.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "SandboxUnavailable",
    "SandboxLimits",
    "SandboxRun",
    "bwrap_path",
    "run",
    "self_check",
    "runner_main",
]

HOME = "/home/student"
JOB = "/sandbox/job"
RUNNER = "/sandbox/runner.py"
NOBODY = 65534
#: Environment variables copied from the grader into the sandbox.
KEEP_ENV = (
    "LANG",
    "LC_ALL",
    "TZ",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_NUM_INTEROP_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_ENABLE_ONEDNN_OPTS",
)
_ETC = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "passwd",
    "group",
    "hosts",
    "mime.types",
)


class SandboxUnavailable(RuntimeError):
    """Grading cannot run here: not Linux, no bubblewrap, or bubblewrap fails."""


@dataclass(frozen=True)
class SandboxLimits:
    """The limits of one sandbox.

    Attributes:
        timeout: wall-clock seconds for the whole run (kernel start, every cell,
            the hidden cases).
        memory: bytes of memory for the whole sandbox (cgroup), or of address space
            per process (``RLIMIT_AS``) where no cgroup can be made.
        processes: processes (threads included) in the sandbox (cgroup), or of the
            sandbox's user (``RLIMIT_NPROC``).
        disk: bytes of each private tmpfs (home, /tmp, /dev/shm); counted in memory.
        output: bytes of the sandbox's output kept for the log; the rest is read
            and dropped.
        result: bytes of the result the runner may return.
        user: the user id the sandbox runs as when the grader is root.
    """

    timeout: float = 600.0
    memory: int = 6 * 1024**3
    processes: int = 512
    disk: int = 1024**3
    output: int = 1 << 20
    result: int = 32 << 20
    user: int = NOBODY


@dataclass
class SandboxRun:
    """What :func:`run` observed.

    Attributes:
        status: ``"ok"`` (the runner returned a result), ``"timed out"`` (killed at
            the wall-clock limit) or ``"error"`` (it ended without a result).
        result: the runner's result (JSON bytes, untrusted), or ``b""``.
        output: the sandbox's capped output (the runner's log and the kernel's).
        memory_exceeded: the cgroup recorded an out-of-memory kill.
        limits: how memory and processes were limited (``"cgroup v1"``,
            ``"cgroup v2"`` or ``"rlimits"``).
        seconds: wall-clock time of the run.
    """

    status: str
    result: bytes = b""
    output: str = ""
    memory_exceeded: bool = False
    limits: str = ""
    seconds: float = 0.0
    returncode: int | None = None
    notes: list[str] = field(default_factory=list)


def bwrap_path() -> str:
    """The bubblewrap executable.

    Raises:
        SandboxUnavailable: on another system than Linux, or without ``bwrap``.
    """
    if platform.system() != "Linux":
        raise SandboxUnavailable(
            f"grading runs student code in a Linux sandbox (bubblewrap); this is "
            f"{platform.system()}. Grade on a Linux machine or virtual machine."
        )
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable(
            "grading needs bubblewrap to isolate each notebook: "
            "`make sandbox-deps` (as root) or `sudo apt-get install -y bubblewrap`"
        )
    return found


# ---------------------------------------------------------------------------
# cgroups: memory and process limits for the whole sandbox
# ---------------------------------------------------------------------------


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, super options) from /proc/self/mountinfo."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) >= 5 and len(rest) >= 3:
            found.append((fields[4], rest[0], set(rest[2].split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """controller (or "" for v2) -> this process's cgroup path."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            own[c] = path
    return own


class _Cgroup:
    """A cgroup made for one sandbox, under the grader's own cgroup."""

    def __init__(self, version: str, dirs: list[Path]):
        self.version, self.dirs = version, dirs

    @classmethod
    def create(cls, memory: int, processes: int) -> _Cgroup | None:
        """A new cgroup with the limits, or ``None`` when none can be made here."""
        if os.geteuid() != 0:
            return None
        name = f"recsys-grade-{uuid.uuid4().hex[:12]}"
        try:
            mounts, own = _mounts(), _own_cgroups()
        except (OSError, ValueError):
            return None
        v2 = next((m for m, t, _ in mounts if t == "cgroup2"), None)
        if v2 is not None and "" in own:
            made = cls._create_v2(Path(v2), own[""], name, memory, processes)
            if made is not None:
                return made
        return cls._create_v1(mounts, own, name, memory, processes)

    @classmethod
    def _create_v2(cls, mount, own, name, memory, processes):
        parent = mount / own.lstrip("/")
        try:
            controllers = (parent / "cgroup.subtree_control").read_text().split()
            if not {"memory", "pids"} <= set(controllers):
                (parent / "cgroup.subtree_control").write_text("+memory +pids")
            child = parent / name
            child.mkdir()
        except OSError:
            return None
        made = cls("cgroup v2", [child])
        try:
            (child / "memory.max").write_text(str(memory))
            if (child / "memory.swap.max").exists():
                (child / "memory.swap.max").write_text("0")
            (child / "pids.max").write_text(str(processes))
        except OSError:
            made.remove()
            return None
        return made

    @classmethod
    def _create_v1(cls, mounts, own, name, memory, processes):
        dirs = {}
        for controller in ("memory", "pids"):
            mount = next(
                (m for m, t, o in mounts if t == "cgroup" and controller in o), None
            )
            if mount is None or controller not in own:
                return None
            dirs[controller] = Path(mount) / own[controller].lstrip("/") / name
        made = cls("cgroup v1", [])
        try:
            for path in dirs.values():
                path.mkdir()
                made.dirs.append(path)
            (dirs["memory"] / "memory.limit_in_bytes").write_text(str(memory))
            try:  # swap counted too, where swap accounting is on
                (dirs["memory"] / "memory.memsw.limit_in_bytes").write_text(str(memory))
            except OSError:
                pass
            (dirs["pids"] / "pids.max").write_text(str(processes))
        except OSError:
            made.remove()
            return None
        return made

    def enter_prefix(self) -> list[str]:
        """A command prefix that moves itself into the cgroup, then execs the rest."""
        script = (
            " && ".join(f'echo $$ > "${i + 1}"' for i in range(len(self.dirs)))
            + f' && shift {len(self.dirs)} && exec "$@"'
        )
        return [
            "/bin/sh",
            "-c",
            script,
            "sh",
            *(str(d / "cgroup.procs") for d in self.dirs),
        ]

    def memory_exceeded(self) -> bool:
        """Whether the kernel killed a process of the sandbox for memory."""
        for d in self.dirs:
            for name in ("memory.events", "memory.oom_control"):
                try:
                    for line in (d / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
                except (OSError, ValueError):
                    continue
        return False

    def kill_all(self) -> None:
        """SIGKILL whatever is left in the cgroup (normally nothing)."""
        for d in self.dirs:
            if (d / "cgroup.kill").exists():
                try:
                    (d / "cgroup.kill").write_text("1")
                except OSError:
                    pass
            try:
                pids = (d / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass

    def remove(self) -> None:
        """Remove the cgroup (retrying while its last processes are reaped)."""
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    self.kill_all()
                    time.sleep(0.1)


# ---------------------------------------------------------------------------
# The bubblewrap command
# ---------------------------------------------------------------------------


def _python_paths() -> list[Path]:
    """The folders the kernel's Python needs: the environment and its base."""
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    exe = Path(sys.executable)
    paths.add(exe.parent.resolve())  # the folder of the interpreter's real file
    paths.add(exe.resolve().parent.parent)
    return sorted(paths)


def package_dir() -> Path:
    """The folder of the installed ``recsys_utils`` (editable: the repository's)."""
    import importlib.util

    spec = importlib.util.find_spec("recsys_utils")
    if spec is None or not spec.submodule_search_locations:
        raise SandboxUnavailable("recsys_utils is not installed in this environment")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _binds(pairs: list[tuple[Path, str]]) -> list[str]:
    """``--ro-bind`` arguments, each destination's parents made first (mode 0755),
    nested binds after the folders that hold them."""
    args, made = [], set()
    for source, dest in sorted(pairs, key=lambda p: len(Path(p[1]).parts)):
        for parent in reversed(Path(dest).parents):
            if str(parent) != "/" and parent not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += ["--ro-bind", str(source), dest]
        made.add(Path(dest))
    return args


def bwrap_command(
    job: Path,
    *,
    limits: SandboxLimits,
    env: dict[str, str],
    extra: list[Path] = (),
    fds: tuple[int, int],
    inner: list[str] | None = None,
) -> list[str]:
    """The command line that runs this file's runner in a sandbox.

    Args:
        job: the job folder the grader prepared (read-only inside, at ``/sandbox/job``).
        limits: sizes of the private file systems and the user to run as.
        env: extra environment variables (``RECSYS_*``).
        extra: more folders to show read-only at their own path (the data).
        fds: (hidden inputs' read end, result's write end) as numbered in the child.
        inner: another command to run inside instead of the runner.
    """
    bwrap = bwrap_path()
    root = os.geteuid() == 0
    python = Path(sys.executable)
    paths = [*_python_paths(), package_dir(), *(Path(p).resolve() for p in extra)]
    pairs = [(p, str(p)) for p in dict.fromkeys(paths) if p.exists()]
    # a path inside another bound one is already visible
    pairs = [
        (s, d) for s, d in pairs if not any(s != o and o in s.parents for o, _ in pairs)
    ]
    pairs += [(job.resolve(), JOB), (Path(__file__).resolve(), RUNNER)]
    pairs += [
        (Path("/etc") / n, f"/etc/{n}") for n in _ETC if (Path("/etc") / n).exists()
    ]
    args = [bwrap]
    args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if not root:
        args += ["--unshare-user", "--disable-userns"]
    args += ["--hostname", "sandbox", "--clearenv"]
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    shm = ["--perms", "1777", "--size", str(limits.disk), "--tmpfs", "/dev/shm"]
    for tmp in ("/tmp", HOME):
        args += ["--perms", "1777", "--size", str(limits.disk), "--tmpfs", tmp]
    if not root:
        args += shm
    args += _binds(pairs)
    # compiled leftovers of the package (a stale .pyc can hold code since removed)
    for cache in sorted(package_dir().rglob("__pycache__")):
        args += ["--perms", "0555", "--size", "4096", "--tmpfs", str(cache)]
    variables = {
        "HOME": HOME,
        "TMPDIR": "/tmp",
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "agg",
        # the artifact cache is the sandbox's own: the data home, if shown, is
        # read-only, and no student's stored weights may reach another's notebook
        "RECSYS_CACHE_DIR": f"{HOME}/.cache/recsys-artifacts",
        "VIRTUAL_ENV": sys.prefix,
        "RECSYS_HIDDEN_FD": str(fds[0]),
        "RECSYS_RESULT_FD": str(fds[1]),
        **{k: v for k, v in os.environ.items() if k in KEEP_ENV},
        **env,
    }
    for key, value in variables.items():
        args += ["--setenv", key, value]
    args += ["--chdir", HOME]
    command = inner or [str(python), "-I", RUNNER]
    if root:
        uid = str(limits.user)
        command = [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
            bwrap,
            "--unshare-user",
            "--disable-userns",
            "--uid",
            uid,
            "--gid",
            uid,
            "--die-with-parent",
            "--bind",
            "/",
            "/",
            # a mount made in a user namespace cannot open device nodes: the inner
            # sandbox makes its own /dev (null, zero, random, urandom, tty, ...)
            "--dev",
            "/dev",
            *shm,
            "--",
            *command,
        ]
    return [*args, "--", *command]


_PROBE_OK = "import recsys_utils, nbclient, ipykernel; print('sandbox ok')"


def self_check(timeout: float = 120) -> str:
    """Start one sandbox that imports what a notebook needs; say how it is limited.

    Returns:
        How memory and processes are limited (``"cgroup v1"``, ... or
        ``"rlimits"``).

    Raises:
        SandboxUnavailable: when bubblewrap is missing or cannot make the sandbox
            here (the message holds its output: unprivileged user namespaces
            disabled, an AppArmor rule, ...).
    """
    with tempfile.TemporaryDirectory(prefix="recsys-sandbox-check-") as tmp:
        job = Path(tmp) / "job"
        job.mkdir(mode=0o755)
        os.chmod(tmp, 0o755)
        command = bwrap_command(
            job,
            limits=SandboxLimits(),
            env={},
            fds=(0, 1),
            inner=[sys.executable, "-I", "-c", _PROBE_OK],
        )
        cgroup = _Cgroup.create(SandboxLimits().memory, SandboxLimits().processes)
        if cgroup is not None:
            command = [*cgroup.enter_prefix(), *command]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise SandboxUnavailable(f"bubblewrap could not start: {err}") from None
        finally:
            if cgroup is not None:
                cgroup.remove()
    if "sandbox ok" not in done.stdout:
        raise SandboxUnavailable(
            "bubblewrap could not make the grading sandbox on this machine "
            f"(exit {done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}"
        )
    return cgroup.version if cgroup is not None else "rlimits"


# ---------------------------------------------------------------------------
# Running one sandbox from the grader
# ---------------------------------------------------------------------------


def _drain(fd: int, cap: int, out: bytearray, flag: list[bool]) -> None:
    """Read ``fd`` to its end; keep the first ``cap`` bytes."""
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while True:
            try:
                chunk = pipe.read(1 << 16)
            except OSError:
                return
            if not chunk:
                return
            room = cap - len(out)
            if room > 0:
                out += chunk[:room]
            if len(chunk) > max(room, 0):
                flag[0] = True


def _feed(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb", buffering=0) as pipe:
        try:
            pipe.write(data)
        except OSError:  # the sandbox ended before reading everything
            pass


def run(
    job: Path,
    *,
    hidden: bytes,
    limits: SandboxLimits = SandboxLimits(),
    env: dict[str, str] | None = None,
    extra: list[Path] = (),
) -> SandboxRun:
    """Run the job folder's notebook in a new sandbox; wait at most ``limits.timeout``.

    Args:
        job: a folder holding ``job.json``, ``notebook.ipynb`` and ``files/``
            (coursetools/grade.py writes it); shown read-only.
        hidden: the hidden inputs (JSON bytes), handed over through a pipe.
        limits: :class:`SandboxLimits`.
        env: extra environment variables for the notebook (``RECSYS_*``).
        extra: folders to show read-only (e.g. ``RECSYS_DATA_HOME``).

    Returns:
        :class:`SandboxRun`.

    Raises:
        SandboxUnavailable: not Linux, or no bubblewrap.
    """
    hidden_r, hidden_w = os.pipe()
    result_r, result_w = os.pipe()
    out_r, out_w = os.pipe()
    command = bwrap_command(
        job,
        limits=limits,
        env=dict(env or {}),
        extra=list(extra),
        fds=(hidden_r, result_w),
    )
    cgroup = _Cgroup.create(limits.memory, limits.processes)
    if cgroup is not None:
        command = [*cgroup.enter_prefix(), *command]
        env_limits = {}
    else:  # per process and per user, set by the runner before anything else runs
        env_limits = {"RECSYS_RLIMIT_AS": str(limits.memory)}
    env_limits["RECSYS_RLIMIT_NPROC"] = str(limits.processes if cgroup is None else 0)
    if env_limits:
        at = command.index("--chdir")
        for key, value in env_limits.items():
            command[at:at] = ["--setenv", key, value]
    started = time.monotonic()
    output, result = bytearray(), bytearray()
    out_over, result_over = [False], [False]
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=out_w,
            pass_fds=(hidden_r, result_w),
            start_new_session=True,
        )
    except OSError as err:
        for fd in (hidden_r, hidden_w, result_r, result_w, out_r, out_w):
            os.close(fd)
        if cgroup is not None:
            cgroup.remove()
        raise SandboxUnavailable(f"bubblewrap could not start: {err}") from None
    for fd in (hidden_r, result_w, out_w):
        os.close(fd)
    threads = [
        threading.Thread(target=_feed, args=(hidden_w, hidden), daemon=True),
        threading.Thread(
            target=_drain, args=(out_r, limits.output, output, out_over), daemon=True
        ),
        threading.Thread(
            target=_drain,
            args=(result_r, limits.result, result, result_over),
            daemon=True,
        ),
    ]
    for t in threads:
        t.start()
    status = "ok"
    try:
        proc.wait(timeout=limits.timeout)
    except subprocess.TimeoutExpired:
        status = "timed out"
        proc.kill()  # bwrap; its sandbox dies with it (--die-with-parent)
        proc.wait()
    finally:
        if cgroup is not None:
            cgroup.kill_all()
    for t in threads[1:]:
        t.join(timeout=10)
    oom = cgroup.memory_exceeded() if cgroup is not None else False
    if cgroup is not None:
        cgroup.remove()
    notes = []
    if out_over[0]:
        notes.append(f"output beyond {limits.output} bytes was dropped")
    if result_over[0]:
        notes.append("the result was larger than allowed")
        result = bytearray()
    if status == "ok" and not result:
        status = "error"
    return SandboxRun(
        status=status,
        result=bytes(result),
        output=output.decode("utf-8", "replace"),
        memory_exceeded=oom,
        limits=cgroup.version if cgroup is not None else "rlimits",
        seconds=time.monotonic() - started,
        returncode=proc.returncode,
        notes=notes,
    )


# ---------------------------------------------------------------------------
# Inside the sandbox: execute the notebook, then the probes
# ---------------------------------------------------------------------------

#: Defines ``__recsys_probe__`` in the student's kernel. It calls the student's
#: function on each hidden input (or reads their value) and writes what came back,
#: encoded, to a file; every failure is recorded, never raised.
PROBE_SOURCE = r"""
def __recsys_probe__(spec_path, cases_path, out_path):
    import json as _json
    from recsys_utils.checks import to_array as _to_array
    from recsys_utils.checks import decode_value as _decode, encode_value as _encode
    from recsys_utils.exercises import tensor_inputs as _tensor_inputs
    from recsys_utils.exercises import with_gradient as _with_gradient

    with open(spec_path) as f:
        spec = _json.load(f)
    cap = spec["max_elements"]
    ns = get_ipython().user_ns
    found = {}

    def numbers(obj):
        if obj is None:
            return {"status": "none"}
        try:
            a = _to_array(obj)
        except Exception:
            return {"status": "not numeric", "type": type(obj).__name__[:60]}
        if a.size > cap:
            return {"status": "too large", "size": int(a.size)}
        return {"status": "ok", "value": _encode(a)}

    name = spec["answer"]
    if name not in ns:
        found = {"status": "missing"}
    elif ns[name] is Ellipsis:
        found = {"status": "not attempted"}
    elif spec["kind"] in ("value", "table"):
        found = numbers(ns[name])
        if spec["kind"] == "table" and found["status"] == "ok":
            table = ns.get(spec["table"])
            try:
                found["table"] = _encode(table)
            except Exception:
                found = {"status": "no table"}
    elif not callable(ns[name]):
        found = {"status": "not callable", "type": type(ns[name]).__name__[:60]}
    else:
        fn = ns[name]
        convert = _tensor_inputs(spec["framework"]) if spec["tensors"] else None
        gradient = spec.get("gradient")
        if gradient is not None:  # a loss: its value and its gradient
            fn = _with_gradient(
                fn, spec["framework"], gradient["index"], gradient["name"], name
            )
        with open(cases_path) as f:
            cases = f.read()
        outs = []
        for index in range(spec["cases"]):
            inputs = _decode(_json.loads(cases)[index])
            if convert is not None:
                inputs = convert(inputs)
            try:
                if isinstance(inputs, dict):
                    out = fn(**inputs)
                elif isinstance(inputs, tuple):
                    out = fn(*inputs)
                else:
                    out = fn(inputs)
            except NotImplementedError:
                outs = None
                break
            except Exception as err:
                outs.append({"status": "raised", "type": type(err).__name__[:60]})
                continue
            outs.append(numbers(out))
        found = {"status": "not attempted"} if outs is None else {
            "status": "ok", "outputs": outs
        }
    with open(out_path, "w") as f:
        f.write(_json.dumps(found))
"""


def _set_limits() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    as_limit = int(os.environ.pop("RECSYS_RLIMIT_AS", "0"))
    if as_limit:
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
    nproc = int(os.environ.pop("RECSYS_RLIMIT_NPROC", "0"))
    if nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _not_dumpable() -> None:
    """Keep this process's memory (the hidden inputs) from the kernel's eyes."""
    import ctypes

    pr_set_dumpable = 4
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_dumpable, 0, 0, 0, 0)


def _copy_files(source: Path, target: Path) -> None:
    """The student's files into the private home (regular files and folders only)."""
    for entry in os.scandir(source):
        dest = target / entry.name
        if entry.is_dir(follow_symlinks=False):
            dest.mkdir(exist_ok=True)
            _copy_files(Path(entry.path), dest)
        elif entry.is_file(follow_symlinks=False):
            shutil.copyfile(entry.path, dest)


def _read_fd(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()


def runner_main() -> None:  # pragma: no cover - runs inside the sandbox
    """Execute the job's notebook, then its probes; write the result to the pipe."""
    started = time.monotonic()
    _set_limits()
    _not_dumpable()
    hidden = json.loads(_read_fd(int(os.environ.pop("RECSYS_HIDDEN_FD"))) or b"{}")
    result_fd = int(os.environ.pop("RECSYS_RESULT_FD"))
    job = json.loads((Path(JOB) / "job.json").read_text())
    deadline = time.monotonic() + job["timeout"]
    home = Path(HOME)
    _copy_files(Path(JOB) / "files", home)
    workdir = home / job["workdir"]
    workdir.mkdir(parents=True, exist_ok=True)
    report = {"notebook": "ok", "errors": [], "answers": {}, "seconds": {}}

    def lap(what: str) -> None:
        report["seconds"][what] = round(time.monotonic() - started, 2)

    # nbformat imports jsonschema, whose optional URI format checker takes seconds to
    # import (rfc3987_syntax builds a grammar); the runner validates no URI
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    class Client(NotebookClient):
        """nbclient, keeping at most ``cap`` bytes of each cell's outputs."""

        cap = 1 << 16

        def output(self, outs, msg, display_id, cell_index):
            size = sum(len(json.dumps(o)) for o in outs)
            if msg["header"]["msg_type"] != "error" and size > self.cap:
                return None
            return super().output(outs, msg, display_id, cell_index)

    lap("imports")
    nb = nbformat.read(Path(JOB) / "notebook.ipynb", as_version=4)
    probe_reserve = min(job["probe_seconds"], job["timeout"] / 3)
    client = Client(
        nb,
        kernel_name="python3",
        timeout=int(job["timeout"]),
        startup_timeout=max(10, int(job["timeout"] / 2)),
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": "TimeoutError",
            "evalue": "the notebook ran out of time",
            "traceback": [],
        },
        iopub_timeout=4,
        resources={"metadata": {"path": str(workdir)}},
    )
    kernel_env = dict(os.environ)

    def remaining(reserve: float) -> int:
        return max(1, int(deadline - reserve - time.monotonic()))

    try:
        with client.setup_kernel(env=kernel_env):
            lap("kernel started")
            for index, cell in enumerate(nb.cells):
                cell_deadline = deadline - probe_reserve
                if time.monotonic() > cell_deadline:
                    report["notebook"] = "timed out"
                    break
                client.timeout_func = lambda _cell: remaining(probe_reserve)
                client.execute_cell(cell, index)
                if time.monotonic() >= cell_deadline - 0.5:  # interrupted at its limit
                    report["notebook"] = "timed out"
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "error" and len(report["errors"]) < 20:
                        error = f"{out.get('ename')}: {out.get('evalue')}"
                        report["errors"].append({"cell": index, "error": error[:300]})
                cell.outputs = []
                if report["notebook"] == "timed out":
                    break
            lap("notebook")
            report["answers"] = _probe(client, job, hidden, deadline)
            lap("probes")
            _send(result_fd, report)  # no graceful shutdown: the sandbox ends now
    except DeadKernelError:
        report["notebook"] = "died"
    except Exception as err:  # noqa: BLE001 - the kernel did not start, and the like
        report["notebook"] = "failed"
        report["failure"] = f"{type(err).__name__}: {err}"[:300]
    _send(result_fd, report)


def _send(fd: int, report: dict) -> None:
    """Write the report to the grader's pipe and end this process (and so the
    sandbox, and every process in it) at once."""
    data = json.dumps(report).encode()
    with os.fdopen(fd, "wb") as pipe:
        pipe.write(data)
    os._exit(0)


def _probe(client, job: dict, hidden: dict, deadline: float) -> dict:
    """Run the probe of every exercise in the kernel; collect the files it wrote."""
    import nbformat

    folder = Path("/tmp") / f".probe-{uuid.uuid4().hex}"
    folder.mkdir(mode=0o700)
    answers = {}

    def execute(source: str) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(source)
        client.nb.cells.append(cell)
        client.execute_cell(cell, len(client.nb.cells) - 1)
        return cell

    client.timeout_func = lambda _cell: max(1, int(deadline - time.monotonic()))
    execute(PROBE_SOURCE)
    for k, spec in enumerate(job["probes"]):
        label = spec["label"]
        spec_path, cases_path = folder / f"spec{k}.json", folder / f"cases{k}.json"
        out_path = folder / f"out{k}.json"
        spec_path.write_text(json.dumps(spec))
        cases_path.write_text(json.dumps(hidden.get(label, [])))
        left = deadline - time.monotonic()
        if left < 1:
            answers[label] = {"status": "timed out"}
            continue
        budget = max(1, int(min(left, job["probe_seconds"])))
        client.timeout_func = lambda _cell, b=budget: b
        call = execute(
            f"__recsys_probe__({str(spec_path)!r}, {str(cases_path)!r}, "
            f"{str(out_path)!r})"
        )
        errors = [o for o in call.get("outputs", []) if o.get("output_type") == "error"]
        if errors and errors[0].get("ename") == "TimeoutError":
            answers[label] = {"status": "timed out"}
            continue
        try:
            fd = os.open(out_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as f:
                raw = f.read(job["max_answer_bytes"] + 1)
            if len(raw) > job["max_answer_bytes"]:
                answers[label] = {"status": "too large"}
            else:
                answers[label] = json.loads(raw)
        except (OSError, ValueError):
            answers[label] = {"status": "no probe result"}
    return answers


if __name__ == "__main__":  # pragma: no cover - the sandbox's entry point
    runner_main()
