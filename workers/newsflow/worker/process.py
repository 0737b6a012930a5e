"""Worker subprocesses: detached for the demo (pid recorded so `make down` stops only it), or
owned by a caller (tests, benchmark) with explicit settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from newsflow import paths
from newsflow.settings import Settings

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


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process exactly these settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSFLOW_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"NEWSFLOW_{name.upper()}"] = str(value)
    return env


class WorkerProcess:
    """A real `newsflow` worker subprocess (`command`: the enrich worker unless a subclass says
    otherwise) with these settings; its output goes to a log file."""

    command: tuple[str, ...] = ("worker",)

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.start()

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "newsflow", *self.command, "--loglevel", "info"],
                env=settings_env(self.settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=paths.project_root(),
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()
