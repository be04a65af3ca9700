"""Process helpers shared by the tests that start processes (notebook kernels,
distributed workers) and check that none outlives its test."""

from __future__ import annotations

import time

import psutil


def gone(pid: int, within: float = 5.0) -> bool:
    """True once ``pid`` has exited (or is a zombie awaiting its parent) within
    ``within`` seconds; False if it is still running then. A process that exits
    between the two psutil calls counts as gone."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False
