"""Run the worker in the background for the demo, recording its pid so `make down` stops only it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from newsflow import paths

STOP_TIMEOUT_S = 30.0


def pid_file() -> Path:
    return paths.state_dir() / "worker.pid"


def log_file() -> Path:
    return paths.state_dir() / "logs" / "worker.log"


def running_pid() -> int | None:
    """The recorded worker pid if that process is still alive."""
    try:
        pid = int(pid_file().read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def start_detached(env: dict[str, str] | None = None) -> int:
    """Start `newsflow worker` in its own session, logging to the state folder; reuse a running one."""
    if pid := running_pid():
        return pid
    log_file().parent.mkdir(parents=True, exist_ok=True)
    with log_file().open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "newsflow", "worker"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    pid_file().write_text(str(process.pid))
    return process.pid


def stop() -> bool:
    """SIGTERM the recorded worker (it flushes and commits), SIGKILL if it does not exit in time."""
    pid = running_pid()
    if pid is None:
        pid_file().unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    pid_file().unlink(missing_ok=True)
    return True
