"""The spike worker (`newsflow alerts run`): faust agents from enriched articles to alerts.

```
articles.enriched ─find-mentions─▶ <app>-mentions ─detect─▶ alerts ─deliver─▶ alerts index, log, webhook
                                   keyed by term    ▲ mention-counts (tumbling windows) and
                        ticks (one per partition) ──┘ term-states tables, changelog-backed
```

* `find-mentions` repartitions: one message per (article, term), keyed by term, so every mention of
  a term is counted on one partition. It also keeps the watermark: the latest article time
  forwarded (`ingested_at`), or the wall clock once the topic is read to its end and no article has
  come for `alerts_grace_s`.
* The `tick` timer sends the watermark, less the grace, to every partition of the mentions topic.
  A tick reaches `detect` behind the mentions sent before it, so when `detect` closes the windows
  that end before it, their counts are complete; ticks also close windows of a quiet stream.
* `detect` feeds a `SpikeTracker` per partition whose storage is that partition's rows of two
  tables: open windows (a tumbling windowed table) and term states (baseline, open spike). Every
  write happens while processing a message of that partition, so the changelog partition is the
  right one and the state is recovered after a restart. Closed windows are deleted with a
  tombstone; faust's own window expiry (wall-clock) is not used, as it would drop windows of a
  backlog before their tick.
* `deliver` writes each alert message to the alerts index (retrying while Elasticsearch is away),
  logs it, and queues a webhook call for a newly opened, fresh alert (updates and closings are
  not pushed: one spike, one call).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, Generic, Protocol, TypeVar

import faust
import orjson
from faust.types import TP, EventT

from newsflow.alerts.alert import Alert
from newsflow.alerts.detector import Detector, DetectorParams, TermState, WindowCount
from newsflow.alerts.sinks import WebhookSender, is_fresh, log_alert
from newsflow.alerts.terms import Mention, SignificantTerms, WatchList, article_time, mentions_of
from newsflow.alerts.tracker import SpikeTracker, WindowKey
from newsflow.es.bulk import BulkSender
from newsflow.es.client import async_client
from newsflow.settings import Settings
from newsflow.worker.app import faust_app

log = logging.getLogger("newsflow.alerts")
MENTIONS_RETENTION_S = 24 * 3600.0
# Ticks per window (at most 30 s apart): an alert is out within a fifth of a window after end + grace.
TICKS_PER_WINDOW = 5
MAX_TICK_INTERVAL_S = 30.0
# How long a tick waits for the consumer's position in a partition it has read nothing from yet.
POSITION_WAIT_S = 2.0


class JsonState(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


StateT = TypeVar("StateT", bound=JsonState)
KeyT = TypeVar("KeyT")


class PartitionRows(MutableMapping[KeyT, StateT], Generic[KeyT, StateT]):
    """The rows of one partition of a faust table, as a mapping of decoded values.

    Each row records its partition, as a table cannot tell which partition a key belongs to outside
    the processing of a message. Writes must happen while processing a message of that partition.
    """

    def __init__(
        self,
        table: faust.Table,
        partition: int,
        decode: Callable[[dict[str, Any]], StateT],
        to_table_key: Callable[[KeyT], Any] = lambda key: key,
        from_table_key: Callable[[Any], KeyT] = lambda key: key,
    ) -> None:
        self._table = table
        self._partition = partition
        self._decode = decode
        self._to_table_key = to_table_key
        self._from_table_key = from_table_key

    def __getitem__(self, key: KeyT) -> StateT:
        return self._decode(self._table[self._to_table_key(key)])

    def __setitem__(self, key: KeyT, value: StateT) -> None:
        self._table[self._to_table_key(key)] = {**value.as_dict(), "partition": self._partition}

    def __delitem__(self, key: KeyT) -> None:
        del self._table[self._to_table_key(key)]

    def __iter__(self) -> Iterator[KeyT]:
        rows = [key for key, row in self._table.items() if row["partition"] == self._partition]
        return (self._from_table_key(key) for key in rows)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Watermark:
    """How far the articles forwarded so far are complete: the latest article time while articles
    come; the wall clock once the consumer has read everything there is and no article came for
    `idle_after_s`. Never decreasing; -inf until the first article (a backlog may be on its way)."""

    def __init__(self, idle_after_s: float) -> None:
        self._idle_after_s = idle_after_s
        self._latest_at = -math.inf
        self._last_seen = -math.inf
        self._value = -math.inf

    def seen(self, at: float) -> None:
        self._latest_at = max(self._latest_at, at)
        self._last_seen = time.time()

    def value(self, caught_up: bool) -> float:
        now = time.time()
        if self._latest_at > -math.inf:
            idle = caught_up and now - self._last_seen >= self._idle_after_s
            self._value = max(self._value, now if idle else self._latest_at)
        return self._value


def app_id(settings: Settings) -> str:
    return f"{settings.name_prefix}newsflow-spikes"


def create_app(settings: Settings) -> faust.App:
    params = DetectorParams.from_settings(settings)
    watch_list = WatchList.load(settings.alerts_watchlist_file) if settings.alerts_watchlist_file else None
    significant = SignificantTerms.from_settings(settings, watch_list)
    partitions = settings.topic_partitions
    app = faust_app(
        settings,
        app_id(settings),
        # faust creates its own topics (mentions, changelogs) with this many partitions; newsflow's are made by
        # `ensure_topics` before the worker starts.
        topic_partitions=partitions,
        web_enabled=False,
    )
    enriched_topic = app.topic(settings.topic_enriched, key_serializer="raw", value_serializer="raw")
    alerts_topic = app.topic(settings.topic_alerts, key_serializer="raw", value_serializer="raw")
    mentions_topic = app.topic(
        f"{app_id(settings)}-mentions",
        internal=True,
        partitions=partitions,
        retention=MENTIONS_RETENTION_S,
        key_serializer="raw",
        value_serializer="json",
    )
    # Tables keep JSON keys and values (faust's default for tables); one table partition per mentions partition.
    window_counts = app.Table("mention-counts", partitions=partitions).tumbling(params.window_s).table
    term_states = app.Table("term-states", partitions=partitions)
    # Per partition: the first window its detector closed (the start of every term's history there).
    detector_started = app.Table("detector-started", partitions=partitions)
    watermark = Watermark(idle_after_s=settings.alerts_grace_s)
    last_read: dict[TP, int] = {}  # offset of the last enriched article forwarded, per partition

    async def read_everything() -> bool:
        """Whether every assigned partition of the enriched topic has been forwarded up to its end."""
        for tp in app.consumer.assignment():
            if tp.topic != settings.topic_enriched:
                continue
            end = app.consumer.highwater(tp)
            done = last_read[tp] + 1 if tp in last_read else await known_position(app.consumer, tp, POSITION_WAIT_S)
            if end is None or done is None or done < end:
                return False
        return True

    webhook = WebhookSender.from_settings(settings)

    def tracker(partition: int) -> SpikeTracker:
        windows = PartitionRows[WindowKey, WindowCount](
            window_counts,
            partition,
            WindowCount.from_dict,
            to_table_key=lambda key: (key[0], window_counts.window.current(key[1])),
            from_table_key=lambda key: (key[0], key[1][0]),
        )
        states = PartitionRows[str, TermState](term_states, partition, TermState.from_dict)
        return SpikeTracker(Detector(params, states, detector_started.get(partition)), windows)

    async def publish(alerts: list[Alert]) -> None:
        """Alert messages, awaited until the broker has them (before the tick's offset is committed)."""
        sent = [
            await alerts_topic.send(key=alert.id.encode(), value=orjson.dumps(alert.as_document())) for alert in alerts
        ]
        await asyncio.gather(*sent)

    @app.agent(enriched_topic, name="find-mentions")
    async def find_mentions(stream: faust.StreamT) -> None:
        async for events in stream.take_events(settings.batch_size, within=settings.batch_timeout_s):
            sent = []
            for event in events:
                for mention in article_mentions(event, watch_list, significant, watermark):
                    sent.append(await mentions_topic.send(key=mention.term.encode(), value=mention._asdict()))
                last_read[event.message.tp] = event.message.offset
            await asyncio.gather(*sent)

    @app.agent(mentions_topic, name="detect")
    async def detect(stream: faust.StreamT) -> None:
        async for event in stream.events():
            partition = event.message.partition
            spikes = tracker(partition)
            if "watermark" in event.value:
                alerts = spikes.close_until(event.value["watermark"])
                if detector_started.get(partition) is None:
                    detector_started[partition] = spikes.detector.started
                await publish(alerts)
            elif not spikes.add(Mention(**event.value)):
                log.debug("late mention of %s at %s: its window is closed", event.value["term"], event.value["at"])

    @app.agent(alerts_topic, name="deliver")
    async def deliver(stream: faust.StreamT) -> None:
        es = async_client(settings)
        sender = BulkSender(es, settings)
        try:
            async for value in stream:
                document = orjson.loads(value)
                await sender.call(es.index, index=settings.alerts_index, id=document["id"], document=document)
                if settings.alerts_log:
                    log_alert(document)
                if webhook and document["event"] == "opened" and is_fresh(document, time.time()):
                    webhook.submit(document)
        finally:
            await es.close()

    @app.timer(interval=min(params.window_s / TICKS_PER_WINDOW, MAX_TICK_INTERVAL_S))
    async def tick() -> None:
        closed_before = watermark.value(await read_everything()) - settings.alerts_grace_s
        if math.isinf(closed_before):
            return
        for partition in range(partitions):
            await mentions_topic.send(value={"watermark": closed_before}, partition=partition)

    if webhook is not None:

        @app.task
        async def send_webhooks() -> None:
            await webhook.run()

    return app


async def known_position(consumer: Any, tp: TP, wait_s: float) -> int | None:
    """The consumer's position in `tp`, or None when it is not known within `wait_s`.

    aiokafka's `position` waits until the partition has a fetch position, which a partition paused
    by faust (recovery, flow control) may not get for long; the timer awaiting it would stop ticking.
    """
    try:
        return await asyncio.wait_for(consumer.position(tp), wait_s)
    except TimeoutError:
        return None


def article_mentions(
    event: EventT, watch_list: WatchList | None, significant: SignificantTerms | None, watermark: Watermark
) -> list[Mention]:
    """The mentions of one enriched article message; a message that is not one is logged and skipped."""
    try:
        document = orjson.loads(event.message.value)
        at = article_time(document, "ingested_at")
        mentions = mentions_of(document, at, watch_list, significant) if at is not None else []
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        log.warning(
            "skipped a message that is not an enriched article (%s: %s)",
            type(exc).__name__,
            exc,
            extra={"topic": event.message.topic, "partition": event.message.partition, "offset": event.message.offset},
        )
        return []
    if at is not None:
        watermark.seen(at)
    return mentions
