"""`<state dir>/services.json`: what this checkout's local services are and where they listen.

Top level: `kafka_bootstrap` and `es_url`, which newsflow.settings reads, so every command
finds the ports actually chosen. Per service (`kafka`, `elasticsearch`): version, pid and its
start time, ports, log, start-up time. The endpoints and ports stay after a stop, so that a
restart listens where clients expect it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from newsflow import paths
from newsflow.services.common import file_lock
from newsflow.settings import SERVICES_STATE_FILE


def state_file() -> Path:
    return paths.state_dir() / SERVICES_STATE_FILE


def load() -> dict[str, Any]:
    try:
        return orjson.loads(state_file().read_bytes())
    except FileNotFoundError:
        return {}


def save(state: dict[str, Any]) -> None:
    """Replace the file in one step: a reader never sees half of it."""
    target = state_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    partial.write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    partial.replace(target)


@contextmanager
def locked() -> Iterator[None]:
    """One process at a time starts or stops this checkout's services."""
    with file_lock(paths.state_dir() / "services.lock"):
        yield
