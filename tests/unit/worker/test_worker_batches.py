"""The worker's pieces that need no broker: retry headers, the partition pauser, Kafka credentials."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import faust
import pytest

from newsflow import metrics
from newsflow.models import SourceMessage
from newsflow.settings import Settings
from newsflow.worker.app import (
    PartitionPauser,
    PhaseClock,
    Retry,
    broker_credentials,
    oldest_record_times,
    retry_not_before,
    source_message,
)


def event(topic: str, partition: int, offset: int, headers: list[tuple[str, bytes]] | None = None) -> SimpleNamespace:
    message = SimpleNamespace(
        value=b"{}", key=b"k", topic=topic, partition=partition, offset=offset, timestamp=1700.0, headers=headers
    )
    return SimpleNamespace(message=message)


def test_a_raw_record_is_its_own_original_on_its_first_attempt() -> None:
    expected = SourceMessage(b"{}", b"k", "articles.raw", 2, 41, 1_700_000)
    assert source_message(event("articles.raw", 2, 41)) == (expected, 0)


def test_a_retried_record_keeps_its_original_coordinates_and_counts_its_rounds() -> None:
    original = SourceMessage(b"{}", b"k", "articles.raw", 2, 41, 1_700_000)
    retried = event("articles.retry", 0, 7, Retry(original, 2, "429 refused").headers(delay_s=30))
    assert source_message(retried) == (original, 2)
    assert retry_not_before([retried]) > 0


class FakeConsumer:
    """faust's consumer as the pauser sees it: partitions, and what was handed over and committed of each."""

    def __init__(self) -> None:
        self.paused: set[str] = set()
        self._read_offset = {"raw-0": 41}  # raw-0 handed over up to 41
        self._committed_offset = {"raw-0": 30, "raw-1": 12}  # raw-1: committed, nothing handed over since
        self.positions: dict[str, int] = {}

    def assignment(self) -> set[str]:
        return {"raw-0", "raw-1", "raw-2"}  # raw-2: neither

    def pause_partitions(self, partitions: set[str]) -> None:
        self.paused |= partitions

    def resume_partitions(self, partitions: set[str]) -> None:
        self.paused -= partitions

    async def earliest_offsets(self, *partitions: str) -> dict[str, int]:
        return dict.fromkeys(partitions, 5)

    async def seek(self, partition: str, offset: int) -> None:
        self.positions[partition] = offset


def test_fetching_resumes_only_when_the_last_hold_is_released() -> None:
    async def scenario() -> None:
        consumer = FakeConsumer()
        pauser = PartitionPauser(SimpleNamespace(consumer=consumer))
        pauser.close()
        pauser.close()  # e.g. the batch retry and the bulk sender, both waiting
        assert consumer.paused == {"raw-0", "raw-1", "raw-2"} and metrics.FETCHING_PAUSED._value.get() == 1
        pauser.open()
        await asyncio.sleep(0)
        assert pauser.paused and consumer.paused and not consumer.positions
        pauser.open()
        pauser.close()  # paused again before the resumption ran: it stays paused
        await asyncio.sleep(0)
        assert pauser.paused and consumer.paused
        pauser.open()
        await asyncio.sleep(0)
        assert not pauser.paused and not consumer.paused and metrics.FETCHING_PAUSED._value.get() == 0
        # Each partition is read again from the first record not handed over to the streams.
        assert consumer.positions == {"raw-0": 42, "raw-1": 12, "raw-2": 5}

    asyncio.run(scenario())


def test_kafka_credentials_of_the_worker() -> None:
    assert broker_credentials(Settings()) is None
    scram = broker_credentials(
        Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="w", kafka_sasl_password="p")
    )
    assert isinstance(scram, faust.SASLCredentials) and scram.ssl_context is not None
    assert (scram.username, scram.password, scram.mechanism.value) == ("w", "p", "SCRAM-SHA-512")


def test_each_phase_of_a_batch_is_timed_into_its_log_line_and_histogram() -> None:
    def observed(phase: str) -> float:
        return metrics.BATCH_PHASE_SECONDS.labels(phase)._sum.get()

    before = {phase: observed(phase) for phase in ("enrich", "index")}
    phases = PhaseClock()
    with phases.timing("enrich"):
        time.sleep(0.02)
    with pytest.raises(RuntimeError), phases.timing("index"):
        raise RuntimeError("a failed phase is timed too")
    assert phases.seconds["enrich"] >= 0.02 and 0 <= phases.seconds["index"] < phases.seconds["enrich"]
    assert str(phases).startswith("enrich 0.0") and ", index 0.00s" in str(phases)
    assert observed("enrich") - before["enrich"] == pytest.approx(phases.seconds["enrich"])
    assert observed("index") > before["index"]


def test_a_batch_reports_its_oldest_record_per_topic_leaving_out_records_without_a_time() -> None:
    events = [event("articles.raw", 0, 1), event("articles.retry", 0, 2), event("articles.raw", 1, 3)]
    events[0].message.timestamp, events[1].message.timestamp, events[2].message.timestamp = 1705.5, 1600.0, 1702.25
    untimed = event("articles.raw", 2, 4)
    untimed.message.timestamp = None
    assert oldest_record_times([*events, untimed]) == {"articles.raw": 1702.25, "articles.retry": 1600.0}
    assert oldest_record_times([untimed]) == {}
