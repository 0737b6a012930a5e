"""Start, stop and report this checkout's local Kafka broker and Elasticsearch node."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsflow.errors import ServiceError
from newsflow.services import state
from newsflow.services.common import (
    LocalService,
    ProcessId,
    choose_port,
    console,
    is_running,
    log_tail,
    process_tree,
    rss_bytes,
    spawn,
    stop_process,
)
from newsflow.services.elasticsearch import Elasticsearch
from newsflow.services.kafka import Kafka

SERVICES: dict[str, LocalService] = {service.name: service for service in (Kafka(), Elasticsearch())}
STOP_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.5


def up(kafka: bool = True, elasticsearch: bool = True) -> dict[str, Any]:
    """Install what is missing and start the chosen services, reusing those already running.

    Returns the content of services.json: `kafka_bootstrap`, `es_url`, and per service its
    version, pid, ports, log and start-up time. Raises ServiceError when one cannot start.
    """
    wanted = [name for name, chosen in (("kafka", kafka), ("elasticsearch", elasticsearch)) if chosen]
    return _start(wanted)


def start_service(name: str) -> dict[str, Any]:
    """Start one service ("kafka" or "elasticsearch"), or reuse it; returns its record."""
    return _start([_known(name)])[name]


def stop_service(name: str) -> bool:
    """Stop one service this checkout started (its recorded pid only); False if it was not running.

    Its data, ports and endpoint stay recorded: the next start serves the same data at the same port.
    """
    with state.locked():
        recorded = state.load()
        record = recorded.get(_known(name), {})
        process = _recorded_process(record)
        if process is None:
            return False
        started = time.monotonic()
        with console.status(f"Stopping {name} (pid {process.pid}) …"):
            stopped = stop_process(process, STOP_TIMEOUT_S)
        if stopped:
            console.print(f"[green]✓[/] {name} stopped (pid {process.pid}) in {time.monotonic() - started:.1f} s")
        record.update(pid=None, pid_start_ticks=None)
        state.save(recorded)
    return stopped


def down() -> dict[str, bool]:
    """Stop every service; per service whether it was running."""
    return {name: stop_service(name) for name in SERVICES}


def status() -> dict[str, dict[str, Any]]:
    """Per service: running or stopped, whether it answers, endpoint, pid, RSS (whole process tree)."""
    recorded = state.load()
    return {name: _service_status(service, recorded.get(name, {})) for name, service in SERVICES.items()}


def _known(name: str) -> str:
    if name not in SERVICES:
        raise ServiceError(f"unknown service {name!r}; known: {', '.join(SERVICES)}")
    return name


def _recorded_process(record: Mapping[str, Any]) -> ProcessId | None:
    return ProcessId(record["pid"], record["pid_start_ticks"]) if record.get("pid") else None


def _choose_ports(service: LocalService, recorded: Mapping[str, int], taken: set[int]) -> dict[str, int]:
    """The recorded ports (clients expect them after a restart), else the defaults, else free ones."""
    ports = {}
    for role, default in service.default_ports.items():
        ports[role] = choose_port([recorded.get(role), default], taken)
        taken.add(ports[role])
    return ports


def _start(names: list[str]) -> dict[str, Any]:
    with state.locked():
        recorded = state.load()
        for name in names:
            SERVICES[name].install()
        starting: dict[str, tuple[ProcessId, float | None]] = {}  # launch time None: was already running
        taken_ports: set[int] = set()  # chosen here but not bound yet by the starting JVM
        for name in names:
            service = SERVICES[name]
            record = recorded.setdefault(name, {})
            process = _recorded_process(record)
            if process is not None and is_running(process):
                starting[name] = (process, None)
                continue
            ports = _choose_ports(service, record.get("ports", {}), taken_ports)
            launch = service.prepare(ports)
            starting[name] = (process := spawn(launch), time.monotonic())
            record.update(
                version=service.version(),
                pid=process.pid,
                pid_start_ticks=process.start_ticks,
                ports=ports,
                log=str(launch.log),
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                started_in_s=None,
            )
            recorded[service.endpoint_key] = service.endpoint(ports)
        state.save(recorded)  # now already, so that `down` finds the pids even if a wait fails
        _wait_until_answering(recorded, starting)
        state.save(recorded)
    return recorded


def _wait_until_answering(recorded: dict[str, Any], starting: dict[str, tuple[ProcessId, float | None]]) -> None:
    now = time.monotonic()
    deadlines = {name: (launched or now) + SERVICES[name].ready_timeout_s for name, (_, launched) in starting.items()}
    pending = dict(starting)
    with console.status(f"Waiting for {', '.join(pending)} to answer …"):
        while pending:
            for name, (process, launched) in list(pending.items()):
                service, record = SERVICES[name], recorded[name]
                endpoint = service.endpoint(record["ports"])
                if service.answers(endpoint):
                    del pending[name]
                    if launched is None:
                        console.print(f"[green]✓[/] {name} already running at {endpoint} (pid {process.pid})")
                    else:
                        record["started_in_s"] = round(time.monotonic() - launched, 1)
                        console.print(
                            f"[green]✓[/] {name} {record['version']} answering at {endpoint} "
                            f"after {record['started_in_s']} s (pid {process.pid})"
                        )
                elif not is_running(process):
                    raise ServiceError(f"{name} exited while starting. {_log_excerpt(record)}")
                elif time.monotonic() > deadlines[name]:
                    raise ServiceError(
                        f"{name} did not answer at {endpoint} within {service.ready_timeout_s:.0f} s; it is still "
                        f"running as pid {process.pid} (`newsflow services down` stops it). {_log_excerpt(record)}"
                    )
            if pending:
                time.sleep(POLL_INTERVAL_S)


def _log_excerpt(record: Mapping[str, Any]) -> str:
    return f"The end of its log {record['log']}:\n{log_tail(Path(record['log']))}"


def _service_status(service: LocalService, record: Mapping[str, Any]) -> dict[str, Any]:
    process = _recorded_process(record)
    if process is not None and not is_running(process):
        process = None
    endpoint = service.endpoint(record["ports"]) if record.get("ports") else None
    return {
        "state": "running" if process else "stopped",
        "answering": bool(process and endpoint and service.answers(endpoint)),
        "endpoint": endpoint,
        "pid": process.pid if process else None,
        "rss_mb": round(rss_bytes(process_tree(process)) / 2**20) if process else None,
        "version": record.get("version") or service.version(),
        "log": record.get("log"),
        "started_in_s": record.get("started_in_s"),
    }
