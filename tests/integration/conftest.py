"""Fixtures over the real local services: a Kafka broker and an Elasticsearch node.

Each test module gets its own name prefix, so its topics, consumer group and
indices never mix with the demo's or another module's; they are removed after.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from newsflow import services
from newsflow.deployment import isolated
from newsflow.es.client import sync_client
from newsflow.kafka.lag import wait_until_caught_up
from newsflow.kafka.producer import produce_inputs
from newsflow.settings import Settings
from newsflow.worker.process import WorkerProcess

WORKER_READY_TIMEOUT_S = 120


@pytest.fixture(scope="session")
def local_services() -> dict:
    """Start (or reuse) this checkout's Kafka and Elasticsearch."""
    return services.up()


@contextmanager
def isolated_deployment(local_services: dict, **overrides: Any) -> Iterator[Settings]:
    """Settings with a fresh name prefix, its topics and indices installed; all removed afterwards.
    `overrides` are further settings, e.g. credentials for a secured broker."""
    settings = Settings(
        name_prefix=f"test-{uuid.uuid4().hex[:8]}-",
        kafka_bootstrap=local_services["kafka_bootstrap"],
        es_url=local_services["es_url"],
        batch_timeout_s=0.3,
        commit_interval_s=0.3,
        **overrides,
    )
    with isolated(settings):
        yield settings


@pytest.fixture(scope="module")
def settings(local_services: dict) -> Iterator[Settings]:
    with isolated_deployment(local_services) as settings:
        yield settings


@pytest.fixture(scope="module")
def es(settings: Settings) -> Iterator[Elasticsearch]:
    with sync_client(settings) as client:
        yield client


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
