"""The enrichment worker: faust-streaming agents over `articles.raw` and `articles.retry`.

Per batch of Kafka events: enrich (pure stages, in a thread so the event loop keeps heart-beating),
resolve duplicates and bulk-index into Elasticsearch, publish dead letters, retries and enriched
documents, and only then acknowledge the events (by hand: `Stream.noack_take`); faust commits only
acknowledged offsets, so an offset is committed after Elasticsearch and the broker acknowledged
every message up to it. A batch is enriched while the one before it is resolved against the
stored state and the one before that is written.

Where a message ends when something fails:
* it can never be processed: `articles.dlq`, original bytes, reason in headers;
* Elasticsearch still refuses its document transiently after the bulk retries: `articles.retry`,
  processed again by the `retry` agent after `retry_delay_s`, dead-lettered after
  `retry_max_attempts` rounds;
* Elasticsearch or the broker is unavailable: the batch waits and tries again (capped back-off)
  with every assigned partition paused, so the worker neither buffers more nor leaves its group.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import faust
import orjson
from faust.types import TP, EventT

from newsflow import metrics
from newsflow.errors import PermanentError
from newsflow.es.bulk import backoff_delay
from newsflow.es.client import async_client
from newsflow.es.dedup import expire_state
from newsflow.es.indexer import ArticleIndexer, IndexReport, PreparedBatch
from newsflow.es.learned import LearnedState
from newsflow.kafka.admin import message_size_limit, ssl_context
from newsflow.logs import message_context
from newsflow.models import DeadLetter, SourceMessage
from newsflow.paths import faust_data_root
from newsflow.pipeline import BatchResult, Enricher
from newsflow.settings import Settings
from newsflow.stages.boilerplate import BoilerplateLearner
from newsflow.stories.scoring import DocumentFrequencies
from newsflow.worker.endpoint import MetricsServer

log = logging.getLogger("newsflow.worker")
STATE_EXPIRY_INTERVAL_S = 600.0
HEADER_PREFIX = "newsflow."
# One line per Elasticsearch request drowns the batch summaries; failures are still logged as warnings.
logging.getLogger("elastic_transport.transport").setLevel(logging.WARNING)
# Our own back-off warnings say when Elasticsearch is away; the node pool would say it twice.
logging.getLogger("elastic_transport.node_pool").setLevel(logging.ERROR)

ResultT = TypeVar("ResultT")
# Batches between the start of their enrichment and their acknowledgement (see `consume`).
BATCHES_IN_FLIGHT = 3


@dataclass(frozen=True, slots=True)
class Retry:
    """A message whose document Elasticsearch kept refusing transiently, for the retry topic."""

    message: SourceMessage
    attempt: int  # 1 for its first round through the retry topic
    reason: str

    def headers(self, delay_s: float) -> list[tuple[str, bytes]]:
        fields = {
            "retry_attempt": str(self.attempt),
            "retry_not_before": f"{time.time() + delay_s:.3f}",
            "reason": self.reason,
            # Where the message was first consumed, so its document and dead letter name its original.
            "source_topic": self.message.topic,
            "source_partition": str(self.message.partition),
            "source_offset": str(self.message.offset),
        }
        return [(f"{HEADER_PREFIX}{name}", value.encode("utf-8")) for name, value in fields.items()]


def newsflow_headers(event: EventT) -> dict[str, str]:
    headers = event.message.headers or ()
    pairs = headers.items() if isinstance(headers, dict) else headers
    return {
        name.removeprefix(HEADER_PREFIX): value.decode("utf-8", errors="replace")
        for name, value in pairs
        if name.startswith(HEADER_PREFIX) and value is not None
    }


def source_message(event: EventT) -> tuple[SourceMessage, int]:
    """The record as the pipeline sees it, and the retry rounds it has been through; a record from
    the retry topic keeps the coordinates of its original."""
    message = event.message
    headers = newsflow_headers(event)
    # Retries and dead letters are sent with their original's timestamp, so it is the original's here too.
    timestamp_ms = round(message.timestamp * 1000) if message.timestamp is not None else None
    if "retry_attempt" not in headers:
        source = SourceMessage(
            message.value, message.key, message.topic, message.partition, message.offset, timestamp_ms
        )
        return source, 0
    original = SourceMessage(
        message.value,
        message.key,
        headers["source_topic"],
        int(headers["source_partition"]),
        int(headers["source_offset"]),
        timestamp_ms,
    )
    return original, int(headers["retry_attempt"])


def kafka_time(message: SourceMessage) -> float | None:
    """The original record's timestamp for faust's `send` (seconds; half a millisecond more, because
    faust truncates seconds x 1000 to whole milliseconds), so the copy stays in the same month."""
    return (message.timestamp_ms + 0.5) / 1000 if message.timestamp_ms is not None else None


def oldest_record_times(events: Sequence[EventT]) -> dict[str, float]:
    """Per topic, the Kafka timestamp (seconds) of the batch's oldest record that has one."""
    oldest: dict[str, float] = {}
    for event in events:
        topic, timestamp = event.message.topic, event.message.timestamp
        if timestamp is not None:
            oldest[topic] = min(oldest.get(topic, timestamp), timestamp)
    return oldest


def retry_not_before(events: Sequence[EventT]) -> float:
    """When the last (so latest-due) event of a retry batch may be processed, as a Unix time."""
    return float(newsflow_headers(events[-1]).get("retry_not_before", 0))


def broker_credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """The worker's side of the Kafka security settings (kafka.admin.client_config is the CLI's)."""
    protocol = settings.kafka_security_protocol
    tls = ssl_context(settings) if protocol in ("SSL", "SASL_SSL") else None
    if protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=tls,
        )
    return faust.SSLCredentials(tls) if tls else None


class PartitionPauser:
    """Pauses every assigned partition while a batch cannot complete (Elasticsearch or the broker
    unavailable), so the worker fetches nothing more, and its consumer keeps polling and stays in
    the group. Holds nest: fetching resumes when the last one is released."""

    def __init__(self, app: faust.App) -> None:
        self._app = app
        self._holds = 0
        self._paused: set[TP] = set()
        self._resuming: asyncio.Task[None] | None = None  # referenced, so it is not collected mid-run

    @property
    def paused(self) -> bool:
        return self._holds > 0

    def close(self) -> None:
        self._holds += 1
        if self._holds == 1:
            partitions = self._app.consumer.assignment()
            self._app.consumer.pause_partitions(partitions)
            self._paused |= partitions
            metrics.FETCHING_PAUSED.set(1)
            log.warning("fetching paused on %d partitions until the current batch completes", len(partitions))

    def open(self) -> None:
        self._holds -= 1
        if self._holds == 0:
            self._resuming = asyncio.create_task(self._resume())

    async def _resume(self) -> None:
        consumer = self._app.consumer
        partitions = self._paused & consumer.assignment()
        # faust skips the records it fetched for a partition that is paused while it hands them to the
        # streams, and takes the gap this leaves for processed (its offsets get committed): each paused
        # partition is read again from just after the last record handed over. (`_read_offset` and
        # `_committed_offset` are the consumer's own bookkeeping of both; faust has no public reading.)
        delivered = {tp: consumer._read_offset.get(tp) for tp in partitions}
        unread = [tp for tp, offset in delivered.items() if offset is None]
        # Nothing handed over since the assignment: from the committed offset, else from the start
        # (`consumer_auto_offset_reset`).
        earliest = await consumer.earliest_offsets(*unread) if unread else {}
        for tp, offset in delivered.items():
            if offset is not None:
                await consumer.seek(tp, offset + 1)
            else:
                committed = consumer._committed_offset.get(tp)
                await consumer.seek(tp, committed if committed is not None else earliest[tp])
        if self._holds == 0:  # not paused again meanwhile
            consumer.resume_partitions(partitions)
            self._paused.clear()
            metrics.FETCHING_PAUSED.set(0)
            log.info("fetching resumed")


@dataclass(frozen=True, slots=True)
class Topics:
    dlq: faust.TopicT
    retry: faust.TopicT
    enriched: faust.TopicT


@dataclass(frozen=True, slots=True)
class EnrichedBatch:
    events: Sequence[EventT]
    attempts: dict[SourceMessage, int]  # each message and the retry rounds it has been through
    result: BatchResult
    phases: PhaseClock
    started: float  # perf_counter at the start of its enrichment


@dataclass(frozen=True, slots=True)
class PendingBatch:
    """An enriched batch resolved against the stored state, its writes not sent yet."""

    enriched: EnrichedBatch
    prepared: PreparedBatch


class BatchProcessor:
    """One agent's batch handling; used as `async with`, which owns its Elasticsearch client."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        topics: Topics,
        pauser: PartitionPauser,
        enrich: Callable[[list[SourceMessage]], Awaitable[BatchResult]],
        frequencies: DocumentFrequencies,
        learned: LearnedState | None,
    ) -> None:
        self._app = app
        self._settings = settings
        self._topics = topics
        self._pauser = pauser
        self._enrich = enrich
        self._frequencies = frequencies
        self._learned = learned
        self.last_batch_at: datetime | None = None

    async def __aenter__(self) -> BatchProcessor:
        self._es = async_client(self._settings)
        self._indexer = ArticleIndexer(self._es, self._settings, self._pauser, self._frequencies)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._es.close()

    async def enrich(self, events: Sequence[EventT]) -> EnrichedBatch:
        """The pure stages, in the enrichment thread."""
        started = time.perf_counter()
        if self._learned is not None:  # the first articles are cleaned and matched with what all workers learned
            await self._until_done("loading the learned state", self._learned.ready)
        attempts = dict(source_message(event) for event in events)
        for topic, count in Counter(event.message.topic for event in events).items():
            metrics.MESSAGES_CONSUMED.labels(topic).inc(count)
        for topic, timestamp in oldest_record_times(events).items():
            metrics.RECORD_AGE_SECONDS.labels(topic).observe(max(0.0, time.time() - timestamp))
        phases = PhaseClock()
        with phases.timing("enrich"):
            result = await self._enrich(list(attempts))
        return EnrichedBatch(events, attempts, result, phases, started)

    async def resolve(self, batch: EnrichedBatch) -> PendingBatch:
        """Duplicates and stories against the stored state, into the batch's writes."""
        with batch.phases.timing("resolve"):
            prepared = await self._until_done("resolving", lambda: self._indexer.prepare(batch.result.articles))
        return PendingBatch(batch, prepared)

    async def complete(self, pending: PendingBatch) -> None:
        """Write the batch, then publish its dead letters, retries and documents; its events may be
        acknowledged when this returns."""
        batch = pending.enriched
        phases = batch.phases
        with phases.timing("index"):
            report = await self._until_done("indexing", lambda: self._indexer.write(pending.prepared))
        letters = batch.result.dead_letters + report.dead_letters
        retries = []
        now = datetime.now(UTC)
        for article, error in report.transient_failures:
            attempt = batch.attempts[article.source] + 1
            if attempt <= self._settings.retry_max_attempts:
                retries.append(Retry(article.source, attempt, str(error)))
            else:
                exhausted = PermanentError("retries_exhausted", f"after {attempt - 1} retry rounds: {error}", "index")
                letters.append(DeadLetter(article.source, exhausted, now))
        with phases.timing("publish"):
            await self._until_done("publishing", lambda: self._publish(letters, retries, report.documents))
        self._account(batch.events, letters, retries, report)
        log.info(
            "batch of %d: %d indexed (%d near duplicates), %d syndicated, %d dead-lettered, %d to retry in %.2fs (%s)",
            len(batch.events),
            report.indexed,
            report.near_duplicates,
            report.syndicated,
            len(letters),
            len(retries),
            time.perf_counter() - batch.started,
            phases,
        )

    async def _until_done(self, what: str, operation: Callable[[], Awaitable[ResultT]]) -> ResultT:
        """Run the operation until it succeeds, fetching paused meanwhile: every failure that gets
        here is the environment's (each message's own is classified before), so waiting is right."""
        attempt = 0
        try:
            while True:
                try:
                    return await operation()
                except Exception as exc:
                    attempt += 1
                    if attempt == 1:
                        self._pauser.close()
                    metrics.RETRIES.labels("batch").inc()
                    delay = backoff_delay(attempt, self._settings.bulk_backoff_s, self._settings.bulk_max_backoff_s)
                    log.warning(
                        "%s the batch failed (%s: %s); retry %d in %.1fs", what, type(exc).__name__, exc, attempt, delay
                    )
                    await asyncio.sleep(delay)
        finally:
            if attempt:
                self._pauser.open()

    async def _publish(self, letters: list[DeadLetter], retries: list[Retry], documents: list[dict]) -> None:
        """Dead letters, retries and enriched documents, awaited until the broker acknowledged them,
        so that the batch's offsets are committed only afterwards."""
        topics, delay = self._topics, self._settings.retry_delay_s
        pending = [
            await topics.dlq.send(
                key=letter.message.key,
                value=letter.message.value,
                headers=letter.headers(),
                timestamp=kafka_time(letter.message),
            )
            for letter in letters
        ]
        pending += [
            await topics.retry.send(
                key=retry.message.key,
                value=retry.message.value,
                headers=retry.headers(delay),
                timestamp=kafka_time(retry.message),
            )
            for retry in retries
        ]
        pending += [
            await topics.enriched.send(key=document["id"].encode(), value=orjson.dumps(document))
            for document in documents
        ]
        await asyncio.gather(*pending)

    def _account(
        self, events: Sequence[EventT], letters: list[DeadLetter], retries: list[Retry], report: IndexReport
    ) -> None:
        """Metrics, one log line per message that did not make it, and the lag behind each partition."""
        self.last_batch_at = datetime.now(UTC)
        metrics.DOCUMENTS_INDEXED.inc(report.indexed)
        metrics.DUPLICATES.labels("syndicated").inc(report.syndicated)
        metrics.DUPLICATES.labels("near").inc(report.near_duplicates)
        metrics.RETRIES.labels("retry_topic").inc(len(retries))
        for letter in letters:
            metrics.DEAD_LETTERS.labels(letter.error.code).inc()
            log.warning(
                "dead-lettered: %s: %s",
                letter.error.code,
                letter.error.detail[:300],
                extra={**message_context(letter.message), "error_code": letter.error.code, "stage": letter.error.stage},
            )
        for retry in retries:
            log.warning(
                "to the retry topic (round %d): %s",
                retry.attempt,
                retry.reason[:300],
                extra=message_context(retry.message),
            )
        last_offsets: dict[TP, int] = {}
        for event in events:
            last_offsets[event.message.tp] = max(event.message.offset, last_offsets.get(event.message.tp, -1))
        for tp, offset in last_offsets.items():
            highwater = self._app.consumer.highwater(tp)
            if highwater is not None:
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(highwater - offset - 1, 0))


class PhaseClock:
    """Seconds per phase of one batch, for its log line and the phase histogram."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def timing(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] = time.perf_counter() - started
            metrics.BATCH_PHASE_SECONDS.labels(phase).observe(self.seconds[phase])

    def __str__(self) -> str:
        return ", ".join(f"{phase} {seconds:.2f}s" for phase, seconds in self.seconds.items())


@functools.cache
def freeze_startup_heap() -> None:
    """Once, after the first batch: the code, models, word lists and learned state loaded by then live
    as long as the process, and the collector's full passes stop walking them (they took a fifth of the
    CPU of resolving a batch against the stored state, 0.27 ms an article)."""
    gc.collect()
    gc.freeze()


def faust_app(settings: Settings, app_id: str, **options: Any) -> faust.App:
    """A faust app on this deployment's brokers with the options every newsflow worker shares."""
    return faust.App(
        app_id,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap.split(",")],
        broker_credentials=broker_credentials(settings),
        broker_session_timeout=settings.consumer_session_timeout_s,
        # Kafka's advice: heartbeats at most a third of the session timeout apart.
        broker_heartbeat_interval=settings.consumer_session_timeout_s / 10,
        # faust keeps a data folder per app (default: in the current directory); keep it with the local state.
        datadir=str(faust_data_root() / "{conf.name}-data"),
        store="memory://",
        broker_commit_interval=settings.commit_interval_s,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        topic_disable_leader=True,
        **options,
    )


def create_app(settings: Settings) -> faust.App:
    app = faust_app(
        settings,
        settings.consumer_group,
        key_serializer="raw",
        value_serializer="raw",
        # Dead letters carry the original bytes, which may be as large as the topics allow.
        producer_max_request_size=message_size_limit(settings),
        # What a worker holds in memory besides its current batch, however long Elasticsearch is away.
        stream_buffer_maxsize=settings.batch_size,
        # newsflow creates its topics itself (kafka-python admin); faust must not invent others.
        topic_allow_declare=False,
        web_enabled=settings.metrics_port is not None,
    )
    raw_topic = app.topic(settings.topic_raw, key_serializer="raw", value_serializer="raw")
    retry_topic = app.topic(settings.topic_retry, key_serializer="raw", value_serializer="raw")
    topics = Topics(
        dlq=app.topic(settings.topic_dlq, key_serializer="raw", value_serializer="raw"),
        retry=retry_topic,
        enriched=app.topic(settings.topic_enriched, key_serializer="raw", value_serializer="raw"),
    )
    pauser = PartitionPauser(app)
    processors: list[BatchProcessor] = []
    shared = settings.learned_state_enabled
    learner = BoilerplateLearner.from_settings(settings, record_changes=shared)
    enricher = Enricher(settings, learner)
    # One per worker, for both agents: the rarity of keys is learned from every article it places.
    frequencies = DocumentFrequencies(record_changes=shared)
    # Off the event loop, so that it keeps heart-beating; one thread, as the enricher's state is not shared.
    enrichment_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsflow-enrich")

    async def in_enrichment_thread(call: Callable[[], ResultT]) -> ResultT:
        return await asyncio.get_running_loop().run_in_executor(enrichment_thread, call)

    async def enrich_in_thread(messages: list[SourceMessage]) -> BatchResult:
        return await in_enrichment_thread(lambda: enricher.enrich_batch(messages))

    learned = (
        LearnedState(
            settings,
            learner if settings.boilerplate_enabled else None,
            frequencies if settings.stories_enabled else None,
            in_enrichment_thread,
        )
        if shared
        else None
    )

    def health() -> tuple[bool, dict[str, Any]]:
        batches = [processor.last_batch_at for processor in processors if processor.last_batch_at]
        details = {
            "status": "waiting" if pauser.paused else "ok",
            "fetching_paused": pauser.paused,
            "assigned_partitions": sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment()),
            "last_batch_at": max(batches).isoformat() if batches else None,
        }
        return not pauser.paused, details

    if settings.metrics_port is not None:
        app.web_server(MetricsServer(settings.metrics_host, settings.metrics_port, health))

    async def consume(stream: faust.StreamT, *, delayed: bool) -> None:
        """Three batches at a time, each in its own stage: one enriched (the enrichment thread), the one
        before resolved (the event loop, with the node's reads), the one before that written (the node).
        Batches are resolved and written one after the other, in order. Events are acknowledged by hand
        once their batch is written and published (`noack_take` does not acknowledge them): a batch
        left unfinished at shutdown is delivered again."""
        async with BatchProcessor(app, settings, topics, pauser, enrich_in_thread, frequencies, learned) as processor:
            processors.append(processor)
            room = asyncio.Semaphore(BATCHES_IN_FLIGHT)
            to_resolve: asyncio.Queue[EnrichedBatch | None] = asyncio.Queue()
            to_write: asyncio.Queue[PendingBatch | None] = asyncio.Queue()

            async def resolve_in_order() -> None:
                while (enriched := await to_resolve.get()) is not None:
                    to_write.put_nowait(await processor.resolve(enriched))
                to_write.put_nowait(None)

            async def write_in_order() -> None:
                while (pending := await to_write.get()) is not None:
                    await processor.complete(pending)
                    for event in pending.enriched.events:
                        await stream.ack(event)
                    room.release()
                    freeze_startup_heap()

            # A stage that fails cancels the others and the agent: its batch and those after it are unacknowledged.
            async with asyncio.TaskGroup() as stages:
                stages.create_task(resolve_in_order())
                stages.create_task(write_in_order())
                try:
                    async for events in stream.noack_take(settings.batch_size, within=settings.batch_timeout_s):
                        await room.acquire()
                        if delayed:  # a retry waits out retry_delay_s from when it was sent
                            await asyncio.sleep(max(0.0, retry_not_before(events) - time.time()))
                        to_resolve.put_nowait(await processor.enrich(events))
                finally:
                    to_resolve.put_nowait(None)  # the stages finish the batches before it, then end

    @app.agent(raw_topic, name="enrich")
    async def enrich(stream: faust.StreamT) -> None:
        await consume(stream, delayed=False)

    @app.agent(retry_topic, name="retry")
    async def retry(stream: faust.StreamT) -> None:
        await consume(stream, delayed=True)

    @app.timer(interval=STATE_EXPIRY_INTERVAL_S)
    async def expire_duplicate_state() -> None:
        """Keep the shared duplicate state bounded by the horizon (any worker may do it; it is idempotent)."""
        es = async_client(settings)
        try:
            deleted = await expire_state(es, settings)
        finally:
            await es.close()
        if any(deleted.values()):
            log.info("forgot duplicate state older than %s days: %s", settings.dedup_horizon_days, deleted)

    if learned is not None:

        async def share_learned_state() -> None:
            """Share what this worker learned and take what the others did; on failure it stays pending."""
            try:
                await learned.flush()
            except Exception as exc:
                log.warning("merging the learned state failed (%s: %s); kept pending", type(exc).__name__, exc)

        @app.timer(interval=settings.learned_state_flush_interval_s)
        async def flush_learned_state() -> None:
            await share_learned_state()

        @app.on_before_shutdown.connect
        async def flush_learned_state_at_shutdown(_app: faust.App, **_: Any) -> None:
            """The consumer has stopped and the last batch is done: share what was learned since the last flush."""
            try:
                await share_learned_state()
            finally:
                await learned.close()

    return app
