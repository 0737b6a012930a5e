"""What the local Kafka and Elasticsearch services share: the service interface, ports,
templates, cached installs with checksums, and their processes (read from Linux /proc)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import ClassVar, Protocol

from rich.console import Console

from newsflow import paths
from newsflow.errors import ServiceError

LOOPBACK = "127.0.0.1"
# Progress goes to stderr so that `--json` output on stdout stays machine-readable.
console = Console(stderr=True, soft_wrap=True)


def deploy_dir() -> Path:
    """The committed templates, pins and checksums of the local services."""
    return paths.project_root() / "deploy" / "local"


@dataclass(frozen=True)
class Launch:
    """How to start a prepared service: command, working folder, output file, extra environment."""

    argv: list[str]
    cwd: Path
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)


class LocalService(Protocol):
    name: ClassVar[str]  # key in services.json and on the command line
    endpoint_key: ClassVar[str]  # top-level services.json key that newsflow.settings reads
    default_ports: ClassVar[dict[str, int]]  # role of the port -> preferred number
    ready_timeout_s: ClassVar[float]

    def version(self) -> str: ...

    def install(self) -> None:
        """Download and verify into the shared cache, unless already there."""

    def prepare(self, ports: Mapping[str, int]) -> Launch:
        """Render the configuration for these ports and create the data folders."""

    def endpoint(self, ports: Mapping[str, int]) -> str: ...

    def answers(self, endpoint: str) -> bool:
        """One quick readiness probe: does the service serve requests at `endpoint`?"""


# --- ports -------------------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:port now (with SO_REUSEADDR, as the JVM servers do)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


# Ports handed out when no preferred one is free: below the kernel's range for the source ports of
# outgoing connections, so that none of those can take the port between choosing and listening.
SPARE_PORTS = range(20000, 32768)


def outgoing_ports() -> range:
    """The kernel's range of source ports for outgoing connections (net.ipv4.ip_local_port_range)."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return range(low, high + 1)


def choose_port(preferred: Iterable[int | None] = (), taken: Collection[int] = ()) -> int:
    """The first preferred port that is free and not in `taken`, else a free spare one."""
    for port in preferred:
        if port and port not in taken and port_is_free(port):
            return port
    outgoing = outgoing_ports()
    spare = [port for port in SPARE_PORTS if port not in outgoing and port not in taken]
    for port in random.sample(spare, len(spare)):
        if port_is_free(port):
            return port
    raise ServiceError(f"no free port in {SPARE_PORTS.start}-{SPARE_PORTS.stop - 1} outside {outgoing}")


# --- templates, commands, checksums, installs ----------------------------------------------


def render_template(template: Path, **values: object) -> str:
    """The template with every ${name} replaced; a missing value is an error, never an empty string."""
    try:
        return Template(template.read_text()).substitute(values)
    except KeyError as exc:
        raise ServiceError(f"{template}: no value for ${{{exc.args[0]}}}") from exc


def last_lines(text: str, count: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-count:])


def log_tail(log: Path, count: int = 25) -> str:
    try:
        return last_lines(log.read_text(errors="replace"), count)
    except FileNotFoundError:
        return "(no log written)"


def run_command(argv: list[str], what: str, cwd: Path | None = None) -> None:
    """Run a set-up command to completion; a failure raises ServiceError with the end of its output."""
    if shutil.which(argv[0]) is None:
        raise ServiceError(f"{what} needs `{argv[0]}`, which is not on PATH")
    result = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        output = last_lines(result.stdout + result.stderr)
        raise ServiceError(f"{what} failed (exit {result.returncode}): {' '.join(argv)}\n{output}")


def file_digest(path: Path, algorithm: str) -> str:
    with path.open("rb") as content:
        return hashlib.file_digest(content, algorithm).hexdigest()


def verify_checksums(directory: Path, checksum_file: Path) -> None:
    """Every file in `directory` is listed in `checksum_file` (`sha256sum` format) with that
    digest, and every listed file is there: a changed dependency tree is caught too."""
    expected = {}
    for line in checksum_file.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            expected[name.lstrip("*")] = digest
    present = {path.name for path in directory.iterdir() if path.is_file()}
    problems = [f"missing {name}" for name in sorted(expected.keys() - present)]
    problems += [f"not listed: {name}" for name in sorted(present - expected.keys())]
    problems += [
        f"sha256 mismatch: {name}"
        for name in sorted(expected.keys() & present)
        if file_digest(directory / name, "sha256") != expected[name]
    ]
    if problems:
        raise ServiceError(f"{directory} does not match {checksum_file}:\n  " + "\n  ".join(problems))


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path`; another process asking for it waits here."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def install_once(target: Path, build: Callable[[Path], None], description: str) -> None:
    """Create the folder `target` with `build(staging)` unless it already exists.

    `build` fills a fresh staging folder beside the target, which is renamed into place only
    when complete: an interrupted attempt never leaves a half-made target, and the next
    attempt removes its leftovers. A lock stops two processes building the same target.
    """
    if target.is_dir():
        return
    with file_lock(target.parent / f".{target.name}.lock"):
        if target.is_dir():  # another process finished it while this one waited
            return
        for leftover in target.parent.glob(f".{target.name}.partial-*"):
            shutil.rmtree(leftover)
        staging = target.parent / f".{target.name}.partial-{os.getpid()}"
        staging.mkdir()
        started = time.monotonic()
        try:
            with console.status(f"{description} …"):
                build(staging)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    console.print(f"[green]✓[/] {description}: {time.monotonic() - started:.1f} s → {target}")


# --- processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessId:
    """A pid with its start time, so that a recycled pid is never taken for our process."""

    pid: int
    start_ticks: int  # clock ticks after boot, field 22 of /proc/<pid>/stat


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3 onwards of /proc/<pid>/stat (index 0 = state, 1 = ppid, 19 = start time)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces and ')'


def is_running(process: ProcessId) -> bool:
    fields = _stat_fields(process.pid)
    if fields is None or int(fields[19]) != process.start_ticks:
        return False
    if fields[0] in ("Z", "X"):  # exited; reap it if this process started it
        with suppress(ChildProcessError):
            os.waitpid(process.pid, os.WNOHANG)
        return False
    return True


def spawn(launch: Launch) -> ProcessId:
    """Start a service in its own session, so that it outlives this command and its terminal.

    The previous run's output is kept beside the new log as `<log>.1`.
    """
    launch.log.parent.mkdir(parents=True, exist_ok=True)
    if launch.log.exists():
        launch.log.replace(launch.log.with_name(launch.log.name + ".1"))
    with launch.log.open("wb") as output:
        child = subprocess.Popen(
            launch.argv,
            cwd=launch.cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **launch.env},
            start_new_session=True,
        )
    fields = _stat_fields(child.pid)  # the unreaped child is still listed even if it exited at once
    assert fields is not None
    return ProcessId(child.pid, int(fields[19]))


def process_tree(root: ProcessId) -> list[ProcessId]:
    """The process and its descendants (the Elasticsearch launcher runs the server as a child)."""
    children: dict[int, list[ProcessId]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(ProcessId(int(entry.name), int(fields[19])))
    tree = [root]
    for process in tree:  # grows while iterating: breadth-first walk
        tree.extend(children.get(process.pid, []))
    return tree


def rss_bytes(processes: Iterable[ProcessId]) -> int:
    total_kib = 0
    for process in processes:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total_kib += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kib * 1024


def _send(process: ProcessId, signum: int) -> None:
    if is_running(process):
        with suppress(ProcessLookupError):
            os.kill(process.pid, signum)


def _wait_for_exit(processes: list[ProcessId], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while any(is_running(process) for process in processes):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def stop_process(process: ProcessId, timeout_s: float) -> bool:
    """SIGTERM (both services shut down cleanly on it); after `timeout_s`, SIGKILL to the process
    and the children it had, which would otherwise be orphaned. False if it was not running."""
    if not is_running(process):
        return False
    tree = process_tree(process)
    _send(process, signal.SIGTERM)
    if not _wait_for_exit(tree, timeout_s):
        for member in tree:
            _send(member, signal.SIGKILL)
        _wait_for_exit(tree, 10)
    return True
