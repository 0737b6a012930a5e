"""At-least-once with idempotent writes, under faults: workers killed in the middle of a bulk,
Elasticsearch stopped, the broker restarted. Afterwards every produced message is a document
(or a copy recorded on one) or a dead letter, exactly once; no document exists twice.

The services are the dedicated pair of conftest.py. Durations below are how long a fault is
held, never a limit on how long something may take (those are polled with deadlines).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest

from newsflow.kafka.lag import consumer_progress
from newsflow.kafka.producer import Message
from newsflow.settings import Settings

from .conftest import (
    CuttableProxy,
    DedicatedServices,
    FaultWorker,
    assert_nothing_lost_nothing_duplicated,
    poison_messages,
    produce,
    run_id,
    unique_articles,
    wait_for,
)

KILLS = 3
WAVE = 100  # articles produced before each fault (the slow variants: SLOW_WAVE)
SLOW_WAVE = 1000
POISON_SHARE = 0.03  # of each wave, messages the worker must dead-letter
# Without fetching, a worker holds one batch and a bounded prefetch: a backlog on the topic must
# not show up in its memory.
RSS_GROWTH_LIMIT_BYTES = 100 * 2**20
BROKER_DOWN_S = 10.0
FOLLOW_UP_WAVE = 20  # articles fed to a worker whose bulks slipped by unobserved
FOLLOW_UP_AFTER_S = 3.0


def wave(run: str, number: int, size: int = WAVE) -> list[Message]:
    poison = poison_messages(max(1, int(size * POISON_SHARE)), f"{run}-{number}")
    messages = unique_articles(size, run, start=number * size) + poison
    random.Random(number).shuffle(messages)
    return messages


def consumed(worker: FaultWorker) -> float:
    return worker.metrics().get("newsflow_messages_consumed_total", 0.0)


def raw_partitions(worker: FaultWorker, settings: Settings) -> set[str]:
    """The partitions of articles.raw the worker holds now (from its /health)."""
    _, details = worker.health()
    return {tp for tp in details.get("assigned_partitions", ()) if tp.rsplit(":", 1)[0] == settings.topic_raw}


def shared_out(workers: list[FaultWorker], settings: Settings) -> bool:
    """Whether these workers alone hold every partition of articles.raw, each some of them: a wave
    produced now reaches each (a worker joining late finds the wave already consumed by the other)."""
    held = [raw_partitions(worker, settings) for worker in workers]
    every = {f"{settings.topic_raw}:{partition}" for partition in range(settings.topic_partitions)}
    return all(held) and set.union(*held) == every and sum(map(len, held)) == len(every)


def bulk_in_flight(worker: FaultWorker) -> bool:
    return worker.metrics().get("newsflow_bulk_requests_in_flight", 0) >= 1


def kill_during_bulk(
    services: DedicatedServices,
    settings: Settings,
    victim: FaultWorker,
    follow_up: Callable[[], list[Message]],
    timeout_s: float = 180,
) -> list[Message]:
    """SIGKILL the worker while one of its bulk requests is in flight, and return what was produced
    meanwhile. The harness watches for a bulk, freezes Elasticsearch, and kills only if that bulk
    is still unanswered then, so it can neither be answered before the kill nor slip by unobserved.
    (Freezing first and waiting for a bulk caught the worker in its look-ups before the bulk, and
    with one batch per wave the bulk was often over before the next try.) A worker whose bulks all
    slipped by between two looks is fed a follow-up wave."""
    deadline = time.monotonic() + timeout_s
    produced_meanwhile: list[Message] = []
    next_feed = time.monotonic() + FOLLOW_UP_AFTER_S
    while time.monotonic() < deadline:
        if bulk_in_flight(victim):
            with services.frozen("elasticsearch"):
                if bulk_in_flight(victim):
                    victim.kill()
                    return produced_meanwhile
        elif time.monotonic() > next_feed:
            produce(settings, messages := follow_up())
            produced_meanwhile += messages
            next_feed = time.monotonic() + FOLLOW_UP_AFTER_S
        time.sleep(0.01)
    raise AssertionError(f"no bulk request of the worker was caught in flight within {timeout_s:.0f}s")


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(WAVE, id="small"),
        pytest.param(SLOW_WAVE, id="large", marks=pytest.mark.slow),
    ],
)
def test_workers_killed_mid_bulk_lose_and_duplicate_nothing(
    size: int,
    dedicated_services: DedicatedServices,
    fault_settings: Settings,
    start_worker: Callable[..., FaultWorker],
) -> None:
    run = run_id()
    produced: list[Message] = []
    workers = [start_worker(), start_worker()]
    for kill in range(KILLS):
        victim = workers[kill % 2]
        wait_for(lambda: shared_out(workers, fault_settings), 180, "both workers to share the partitions")
        before = consumed(victim)
        produced += (messages := wave(run, kill, size))
        produce(fault_settings, messages)
        wait_for(lambda: consumed(victim) > before, 180, "the worker to be processing the new wave")  # noqa: B023
        follow_ups = (wave(run, number, FOLLOW_UP_WAVE) for number in itertools.count(1000 * (kill + 1)))
        produced += kill_during_bulk(dedicated_services, fault_settings, victim, follow_ups.__next__)
        workers[kill % 2] = start_worker()  # the survivor takes over first, then shares with this one
    produced += (messages := wave(run, KILLS, size))
    produce(fault_settings, messages)

    accounting = assert_nothing_lost_nothing_duplicated(fault_settings, produced)
    assert accounting.dead_lettered == {
        message.key.decode() for message in produced if message.key.startswith(b"poison")
    }
    assert all(worker.process.poll() is None for worker in workers)


@dataclass
class Outage:
    """What the worker did while Elasticsearch was away."""

    group_joins_before: int
    health_during: tuple[int, dict]  # /health once fetching was paused
    rss_before: int
    rss_peak: int
    fetching_paused: bool
    committed: int  # offsets of articles.raw committed when the outage ended
    end: int  # end offsets then


def ingest_across_outage(
    settings: Settings, worker: FaultWorker, outage: AbstractContextManager, outage_s: float, size: int
) -> tuple[list[Message], Outage]:
    """One wave before Elasticsearch goes away, two more (the backlog) while it is away for `outage_s`."""
    run = run_id()
    produced = wave(run, 0, size)
    produce(settings, produced)
    wait_for(lambda: worker.metrics().get("newsflow_documents_indexed_total", 0) > 0, 180, "the first documents")
    joins_before, rss_before = worker.group_joins(), worker.rss_bytes()
    with outage:
        for number in (1, 2):
            produced += (messages := wave(run, number, size))
            produce(settings, messages)
        rss_peak, paused, health_during = rss_before, False, (0, {})
        outage_end = time.monotonic() + outage_s
        while time.monotonic() < outage_end:
            rss_peak = max(rss_peak, worker.rss_bytes())
            if not paused and worker.metrics().get("newsflow_fetching_paused") == 1:
                paused, health_during = True, worker.health()
            time.sleep(1)
        committed, end = consumer_progress(settings)
    return produced, Outage(joins_before, health_during, rss_before, rss_peak, paused, committed, end)


def assert_outage_weathered(settings: Settings, worker: FaultWorker, produced: list[Message], outage: Outage) -> None:
    accounting = assert_nothing_lost_nothing_duplicated(settings, produced)
    print(f"RSS {outage.rss_before / 2**20:.0f} MB before the outage, peak {outage.rss_peak / 2**20:.0f} MB")
    assert outage.fetching_paused and outage.committed < outage.end, "the worker should stop, its backlog uncommitted"
    assert outage.rss_peak - outage.rss_before < RSS_GROWTH_LIMIT_BYTES
    assert worker.group_joins() == outage.group_joins_before, "the outage made the worker rejoin its group"
    assert worker.process.poll() is None
    status, details = outage.health_during
    assert status == 503 and details["fetching_paused"] and details["status"] == "waiting"
    assert worker.health()[0] == 200
    assert not accounting.dead_lettered - {
        message.key.decode() for message in produced if message.key.startswith(b"poison")
    }


def test_elasticsearch_unreachable_pauses_fetching_and_loses_nothing(
    fault_settings: Settings, es_proxy: CuttableProxy, start_worker: Callable[..., FaultWorker]
) -> None:
    """Connections refused for 15 s (a proxy cut: the node itself needs a minute to restart here)."""
    worker = start_worker(es_url=es_proxy.url)
    produced, outage = ingest_across_outage(fault_settings, worker, es_proxy.cut(), 15.0, WAVE)
    assert_outage_weathered(fault_settings, worker, produced, outage)
    # The backlog waited out the outage in Kafka (more than three batches of it): freshness shows it.
    assert worker.metrics()["newsflow_record_age_seconds_sum"] > 15.0


@pytest.mark.slow
def test_elasticsearch_stopped_for_a_minute_pauses_fetching_and_loses_nothing(
    dedicated_services: DedicatedServices, fault_settings: Settings, start_worker: Callable[..., FaultWorker]
) -> None:
    worker = start_worker()
    outage = dedicated_services.stopped("elasticsearch")
    produced, observed = ingest_across_outage(fault_settings, worker, outage, 60.0, SLOW_WAVE)
    assert_outage_weathered(fault_settings, worker, produced, observed)


def test_broker_restart_loses_and_duplicates_nothing(
    dedicated_services: DedicatedServices, fault_settings: Settings, start_worker: Callable[..., FaultWorker]
) -> None:
    run = run_id()
    worker = start_worker()
    produced = wave(run, 0)
    produce(fault_settings, produced)
    wait_for(lambda: worker.metrics().get("newsflow_documents_indexed_total", 0) > 0, 180, "the first documents")

    with dedicated_services.stopped("kafka"):
        time.sleep(BROKER_DOWN_S)
    produced += (messages := wave(run, 1))
    produce(fault_settings, messages)

    assert_nothing_lost_nothing_duplicated(fault_settings, produced)
    assert worker.process.poll() is None


def test_sigterm_commits_what_was_processed(fault_settings: Settings, start_worker: Callable[..., FaultWorker]) -> None:
    """With periodic commits out of the way, only the shutdown itself can commit the offsets."""
    worker = start_worker(commit_interval_s=3600.0)
    produced = wave(run_id(), 0)
    produce(fault_settings, produced)
    wait_for(lambda: consumed(worker) == len(produced), 180, "every message to be processed")
    assert consumer_progress(fault_settings)[0] == 0

    worker.stop()
    assert worker.process.returncode == 0, worker.log()[-3000:]
    assert_nothing_lost_nothing_duplicated(fault_settings, produced)
