"""Notebook kernels end at once when their notebook has run (coursetools.build).

nbclient's graceful shutdown waits 1-2.5 s per kernel that imported a framework; the
course's runner kills the kernel's process group instead. What that must keep: every
cell ran and its output is saved; what it must end: the kernel, and anything the
notebook left running.
"""

import contextlib
import os

import nbformat
import psutil
from processes import gone

from coursetools.build import execute, kernels_exit_at_once


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, str(path))


def test_the_kernel_is_killed_after_its_last_cell_with_outputs_kept(tmp_path):
    marker = tmp_path / "graceful-exit-ran"
    path = tmp_path / "nb.ipynb"
    _notebook(
        path,
        "import atexit, os, pathlib\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'ran')\n"
        "print('kernel', os.getpid())",
        "print(6 * 7)",
    )
    assert execute(path, timeout=120) == []
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[1].outputs[0]["text"] == "42\n"
    assert gone(int(nb.cells[0].outputs[0]["text"].split()[1]), within=10)
    # a graceful shutdown runs the kernel's exit handlers; a kill does not
    assert not marker.exists(), "the kernel was asked to shut down and waited for"


def test_what_a_notebook_left_running_ends_with_its_kernel(tmp_path):
    child_pid = tmp_path / "child.pid"
    path = tmp_path / "nb.ipynb"
    _notebook(
        path,
        "import pathlib, subprocess, sys\n"
        "sleeper = [sys.executable, '-c', 'import time; time.sleep(300)']\n"
        f"pathlib.Path({str(child_pid)!r}).write_text(str(subprocess.Popen(sleeper).pid))",
    )
    try:
        assert execute(path, timeout=120) == []
        assert gone(int(child_pid.read_text()), within=10), (
            "the notebook's child outlived it"
        )
    finally:
        # the child may exit between the check and the kill
        if child_pid.exists() and psutil.pid_exists(pid := int(child_pid.read_text())):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)


def test_installing_twice_keeps_one_subclass():
    from nbmake import nb_run

    kernels_exit_at_once()
    first = nb_run.NotebookClient
    kernels_exit_at_once()
    assert nb_run.NotebookClient is first
    assert first(nbformat.v4.new_notebook()).shutdown_kernel == "immediate"
