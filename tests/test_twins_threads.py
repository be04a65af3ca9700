"""The twins' thread settings (issue 23, item 6): one intra-op thread per framework
by default, passive OpenMP waiting, and the usual environment variables win."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "OMP_WAIT_POLICY",
            "RECSYS_TORCH_THREADS",
            "TF_NUM_INTRAOP_THREADS",
            "TF_NUM_INTEROP_THREADS",
        }
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**clean, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
    )


TORCH = (
    "import os, recsys_utils, torch\n"
    "from recsys_utils import torch as rt\n"
    "print(torch.get_num_threads(), os.environ['OMP_WAIT_POLICY'])\n"
)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["1", "PASSIVE"]),  # the default: one thread, passive waiting
        ({"RECSYS_TORCH_THREADS": "2"}, ["2", "PASSIVE"]),
        ({"OMP_NUM_THREADS": "2"}, ["2", "PASSIVE"]),  # PyTorch's own reading kept
        ({"OMP_NUM_THREADS": "2", "RECSYS_TORCH_THREADS": "1"}, ["1", "PASSIVE"]),
        ({"OMP_WAIT_POLICY": "ACTIVE"}, ["1", "ACTIVE"]),  # the user's value kept
    ],
)
def test_pytorch_follows_the_environment(env, expected):
    from recsys_utils import torch as rt

    assert rt.DEFAULT_THREADS == 1
    out = _run(TORCH, **env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == expected


def test_configure_threads_sets_and_checks(monkeypatch):
    import torch

    from recsys_utils import torch as rt

    before = torch.get_num_threads()
    try:
        assert rt.configure_threads(2) == 2 == torch.get_num_threads()
        monkeypatch.setenv("RECSYS_TORCH_THREADS", "1")
        assert rt.configure_threads() == 1
        monkeypatch.delenv("RECSYS_TORCH_THREADS")
        torch.set_num_threads(2)
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert rt.configure_threads() == 2  # the usual variable set: untouched
        for bad in (0, -1, 1.5, True, "2"):
            with pytest.raises(ValueError, match="threads must be a positive int"):
                rt.configure_threads(bad)
        monkeypatch.setenv("RECSYS_TORCH_THREADS", "many")
        message = (
            "RECSYS_TORCH_THREADS must be a positive number of threads; got 'many'"
        )
        with pytest.raises(ValueError, match=message):
            rt.configure_threads()
    finally:
        torch.set_num_threads(before)


TF = (
    "import recsys_utils\n"
    "from recsys_utils import tf as rtf\n"
    "tf = rtf.tf\n"
    "print(tf.config.threading.get_intra_op_parallelism_threads(),\n"
    "      tf.config.threading.get_inter_op_parallelism_threads(),\n"
    "      rtf.configure_threads())\n"
    "tf.constant(1.0) + 1.0\n"
    "try:\n"
    "    rtf.configure_threads(rtf.DEFAULT_THREADS + 2)\n"
    "except ValueError as err:\n"
    "    print(err)\n"
)


def test_tensorflow_defaults_to_its_setting_in_a_fresh_process():
    from recsys_utils import tf as rtf

    default = str(rtf.DEFAULT_THREADS)
    out = _run(TF)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first.split() == [default, default, default]
    assert "already started its thread pools" in second


def test_tensorflow_leaves_its_own_variables_to_itself(monkeypatch):
    from recsys_utils import tf as rtf

    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    assert rtf.configure_threads() == 2  # TensorFlow reads it; nothing is set
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "0")
    with pytest.raises(ValueError, match="TF_NUM_INTEROP_THREADS must be a positive"):
        rtf.configure_threads()
