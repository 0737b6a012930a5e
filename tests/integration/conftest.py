"""Fixtures over the real local services: a Kafka broker and an Elasticsearch node.

Each test module gets its own name prefix, so its topics, consumer group and
indices never mix with the demo's or another module's; they are removed after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from newsflow import paths, services
from newsflow.es.client import sync_client
from newsflow.es.indices import delete_all, install
from newsflow.kafka.admin import admin_client, ensure_topics, topic_specs
from newsflow.kafka.lag import wait_until_caught_up
from newsflow.kafka.producer import produce_inputs
from newsflow.settings import Settings

WORKER_READY_TIMEOUT_S = 120


@pytest.fixture(scope="session")
def local_services() -> dict:
    """Start (or reuse) this checkout's Kafka and Elasticsearch."""
    return services.up()


@contextmanager
def isolated_deployment(local_services: dict) -> Iterator[Settings]:
    """Settings with a fresh name prefix, its topics and indices installed; all removed afterwards."""
    settings = Settings(
        name_prefix=f"test-{uuid.uuid4().hex[:8]}-",
        kafka_bootstrap=local_services["kafka_bootstrap"],
        es_url=local_services["es_url"],
        batch_timeout_s=0.3,
        commit_interval_s=0.3,
    )
    ensure_topics(settings)
    with sync_client(settings) as es:
        install(es, settings)
    yield settings
    with sync_client(settings) as es:
        delete_all(es, settings)
    admin = admin_client(settings)
    try:
        admin.delete_topics(list(topic_specs(settings)))
    finally:
        admin.close()


@pytest.fixture(scope="module")
def settings(local_services: dict) -> Iterator[Settings]:
    with isolated_deployment(local_services) as settings:
        yield settings


@pytest.fixture(scope="module")
def es(settings: Settings) -> Iterator[Elasticsearch]:
    with sync_client(settings) as client:
        yield client


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process exactly these settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSFLOW_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"NEWSFLOW_{name.upper()}"] = str(value)
    return env


class WorkerProcess:
    """A real `newsflow worker` subprocess with these settings; its output goes to a log file."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "newsflow", "worker", "--loglevel", "info"],
            env=settings_env(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=paths.project_root(),
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    running = WorkerProcess(settings, tmp_path_factory.mktemp("worker") / "worker.log")
    yield running
    running.stop()


def ingest(
    settings: Settings, worker: WorkerProcess, inputs: list[str], outlet: str = "unknown", timeout_s: float = 180
) -> int:
    """Publish the inputs and wait until the worker committed everything; returns messages sent."""
    counts = produce_inputs(settings, inputs, outlet=outlet)
    try:
        wait_until_caught_up(settings, timeout_s)
    except Exception:
        print(worker.log()[-5000:])
        raise
    assert worker.process.poll() is None, worker.log()[-5000:]
    return counts.messages_sent
