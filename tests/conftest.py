"""Shared test helpers: run nnctl as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


def run_nnctl(*args, cwd=None, env=None, timeout=300, input=None):
    """`python -m nnctl ARGS` in a subprocess; returns the CompletedProcess (text mode)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("NNCTL_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "nnctl", *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


def popen_nnctl(*args, cwd=None, preexec_fn=None) -> subprocess.Popen:
    """`python -m nnctl ARGS` started in the background (stdout and stderr piped, text mode),
    for tests that signal, kill or race a running command."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("NNCTL_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "nnctl", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )


def fault_command(fault: str, n: int, *args) -> list[str]:
    """The command that runs `nnctl ARGS` with a fault injected (tests/fault_launch.py)."""
    return [
        sys.executable,
        str(REPO / "tests" / "fault_launch.py"),
        fault,
        str(n),
        "--",
        *map(str, args),
    ]


def run_nnctl_with_fault(fault: str, n: int, *args, cwd=None, timeout=300):
    """run_nnctl, with tests/fault_launch.py's `fault` injected after step / write `n`."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("NNCTL_DEBUG", None)
    return subprocess.run(
        fault_command(fault, n, *args),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def nnctl(tmp_path):
    """Run nnctl in a temporary working folder."""

    def run(*args, **kwargs):
        kwargs.setdefault("cwd", tmp_path)
        return run_nnctl(*args, **kwargs)

    return run


def without_wall_time(obj):
    """comparison.json minus what may change between two runs: wall times and the out folder."""
    if isinstance(obj, dict):
        return {k: without_wall_time(v) for k, v in obj.items() if "wall" not in k and k != "out"}
    if isinstance(obj, list):
        return [without_wall_time(v) for v in obj]
    return obj


def assert_clean_error(proc, code: int, *fragments: str):
    """Exit code as expected, each fragment in stderr, and no traceback anywhere."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)
