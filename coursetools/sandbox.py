"""Start a Jupyter kernel confined for grading: ``python -m coursetools.sandbox``.

The grader (coursetools/grade.py) registers this module as the kernel's launcher::

    python -m coursetools.sandbox --workdir D --memory BYTES --cpu SECONDS
        [--user nobody] -- python -m ipykernel_launcher -f CONNECTION_FILE

Before it replaces itself with the kernel (``os.execv``), it

* copies the connection file into ``D`` (the kernel may not be able to read the
  grader's runtime folder once it is unprivileged) and points ``-f`` at the copy;
* sets resource limits: address space (``RLIMIT_AS``: a huge allocation raises
  ``MemoryError`` in the kernel instead of exhausting the machine), CPU seconds
  (``RLIMIT_CPU``, a backstop behind the grader's wall-clock limit), file size
  (``RLIMIT_FSIZE``), no core dumps, and, when it switches user, a process count
  (``RLIMIT_NPROC``);
* when started as root with ``--user``, drops to that user (its own group, no
  supplementary groups): the kernel can then write only where that user may (its
  working folder ``D``, owned by it, and world-writable places like /tmp), and read
  only world-readable files;
* when it switches user and a folder the kernel needs (the Python installation, the
  environment, PYTHONPATH, the data) lies under a folder others may not enter (here
  /root, mode 0700, holds pyenv's Python), it gives the kernel its own mount namespace
  in which that folder is an empty tmpfs holding only the needed subfolders (bind
  mounts): the rest of it stays invisible; other processes see no change;
* starts from an environment holding only what a notebook needs (PATH, PYTHONPATH,
  locale, RECSYS_* and thread settings), with HOME, TMPDIR and Jupyter's,
  IPython's and Matplotlib's folders inside ``D``.

Without root (an instructor's laptop) the user switch is skipped and says so; the
limits, the private folder and the clean environment still apply.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import pwd
import resource
import shutil
import sys
import tempfile
from pathlib import Path

KEEP_ENV = (
    "PATH",
    "PYTHONPATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_NUM_INTEROP_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "VIRTUAL_ENV",
)


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


_CLONE_NEWNS, _MS_BIND, _MS_REC, _MS_PRIVATE, _MNT_DETACH = (
    0x20000,
    4096,
    16384,
    1 << 18,
    2,
)


def _libc_call(name: str, *args) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}{args}: {os.strerror(err)}")


def closed_ancestors(paths: list[Path]) -> dict[Path, set[str]]:
    """The folders on the way to ``paths`` that others may not enter.

    Args:
        paths: the folders and files the kernel must reach.

    Returns:
        ``{closed folder: names of its children on the way to a path}``.
    """
    closed: dict[Path, set[str]] = {}
    for path in paths:
        path = Path(path).resolve()
        for parent in reversed(path.parents):
            child = path.relative_to(parent).parts[0]
            if not parent.stat().st_mode & 0o001:
                closed.setdefault(parent, set()).add(child)
    return closed


def open_paths(paths: list[Path], scratch: Path) -> None:
    """In a new mount namespace, make ``paths`` reachable for an unprivileged user.

    Each closed ancestor (:func:`closed_ancestors`) is covered by a tmpfs of mode
    0755 holding only the children on the way, bind-mounted from the original.
    Needs root (CAP_SYS_ADMIN); changes nothing outside this process and its
    children.

    Args:
        paths: what the kernel must reach.
        scratch: an empty folder for a moment's staging mount.
    """
    closed = closed_ancestors(paths)
    if not closed:
        return
    _libc_call("unshare", _CLONE_NEWNS)
    _libc_call("mount", b"none", b"/", None, _MS_REC | _MS_PRIVATE, None)
    for folder in sorted(closed, key=lambda p: len(p.parts), reverse=True):
        stage = scratch / f"stage{len(folder.parts)}"
        stage.mkdir(exist_ok=True)
        _libc_call("mount", bytes(folder), bytes(stage), None, _MS_BIND | _MS_REC, None)
        _libc_call("mount", b"tmpfs", bytes(folder), b"tmpfs", 0, b"mode=755")
        for child in sorted(closed[folder]):
            source, target = stage / child, folder / child
            if source.is_dir():
                target.mkdir()
            else:
                target.touch()
            _libc_call(
                "mount", bytes(source), bytes(target), None, _MS_BIND | _MS_REC, None
            )
        _libc_call("umount2", bytes(stage), _MNT_DETACH)
        stage.rmdir()


def sandbox_env(workdir: Path, base: dict[str, str]) -> dict[str, str]:
    """The kernel's environment: the kept variables of ``base``, folders in ``workdir``.

    Args:
        workdir: the submission's private working folder.
        base: the grader's environment.

    Returns:
        A new dict.
    """
    env = {k: v for k, v in base.items() if k in KEEP_ENV or k.startswith("RECSYS_")}
    home = str(workdir)
    env.update(
        HOME=home,
        TMPDIR=str(workdir / "tmp"),
        IPYTHONDIR=str(workdir / ".ipython"),
        JUPYTER_RUNTIME_DIR=str(workdir / ".jupyter-runtime"),
        JUPYTER_DATA_DIR=str(workdir / ".jupyter"),
        MPLCONFIGDIR=str(workdir / ".matplotlib"),
        XDG_CACHE_HOME=str(workdir / ".cache"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, confine this process, and exec the kernel command."""
    parser = argparse.ArgumentParser(prog="python -m coursetools.sandbox")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--memory", type=int, required=True, help="bytes (RLIMIT_AS)")
    parser.add_argument("--cpu", type=int, required=True, help="seconds (RLIMIT_CPU)")
    parser.add_argument("--fsize", type=int, default=2 * 1024**3)
    parser.add_argument("--user", default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no kernel command after --")
    workdir = args.workdir.resolve()
    (workdir / "tmp").mkdir(exist_ok=True)
    if "-f" in command:  # the connection file: a private copy the kernel can read
        at = command.index("-f") + 1
        copy = workdir / ".connection.json"
        shutil.copyfile(command[at], copy)
        command[at] = str(copy)
    user = None
    if args.user and os.geteuid() == 0:
        user = pwd.getpwnam(args.user)
        for path in (workdir, workdir / "tmp", workdir / ".connection.json"):
            if path.exists():
                os.chown(path, user.pw_uid, user.pw_gid)
    elif args.user:
        print(
            f"coursetools.sandbox: not root, so the kernel runs as {os.getuid()} "
            f"(not {args.user})",
            file=sys.stderr,
        )
    if user is not None:
        needed = [
            Path(sys.executable),
            Path(sys.base_prefix),
            Path(sys.prefix),
            workdir,
            *(Path(p) for p in os.environ.get("PYTHONPATH", "").split(":") if p),
            *(Path(os.environ[k]) for k in ("RECSYS_DATA_HOME",) if k in os.environ),
        ]
        spec = importlib.util.find_spec("recsys_utils")  # an editable install
        if spec is not None and spec.origin:
            needed.append(Path(spec.origin).parent)
        scratch = Path(tempfile.mkdtemp(prefix="sandbox-mounts-"))
        try:
            open_paths([p for p in needed if p.exists()], scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    _limit(resource.RLIMIT_AS, args.memory)
    _limit(resource.RLIMIT_CPU, args.cpu)
    _limit(resource.RLIMIT_FSIZE, args.fsize)
    _limit(resource.RLIMIT_CORE, 0)
    env = sandbox_env(workdir, os.environ)
    os.chdir(workdir)
    if user is not None:
        _limit(resource.RLIMIT_NPROC, 512)
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
        env["USER"] = env["LOGNAME"] = user.pw_name
    os.umask(0o077)
    # the kernel's own messages go to a log in its folder, not the grader's terminal
    log = os.open(workdir / "kernel.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main()
