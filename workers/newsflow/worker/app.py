"""The enrichment worker: a faust-streaming agent over `articles.raw`.

Per batch of Kafka events: enrich (pure stages, in a thread so the event loop
keeps heart-beating), resolve duplicates and bulk-index into Elasticsearch,
dead-letter what was refused, and only then let faust acknowledge the events.
`Stream.take_events` acknowledges a batch after the loop body returns, and
faust commits only acknowledged offsets: an offset is committed after
Elasticsearch (and the dead-letter topic) acknowledged every message up to it.
"""

from __future__ import annotations

import asyncio
import logging
import time

import faust
import orjson
from faust.types import EventT

from newsflow.es.client import async_client
from newsflow.es.dedup import expire_state
from newsflow.es.indexer import ArticleIndexer
from newsflow.models import DeadLetter, SourceMessage
from newsflow.pipeline import Enricher
from newsflow.settings import Settings

log = logging.getLogger("newsflow.worker")
STATE_EXPIRY_INTERVAL_S = 600.0
# One line per Elasticsearch request drowns the batch summaries; failures are still logged as warnings.
logging.getLogger("elastic_transport.transport").setLevel(logging.WARNING)


def source_message(event: EventT) -> SourceMessage:
    message = event.message
    return SourceMessage(
        value=message.value, key=message.key, topic=message.topic, partition=message.partition, offset=message.offset
    )


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.consumer_group,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap.split(",")],
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        broker_commit_interval=settings.commit_interval_s,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # newsflow creates its topics itself (kafka-python admin); faust must not invent others.
        topic_allow_declare=False,
        topic_disable_leader=True,
        web_enabled=False,
    )
    raw_topic = app.topic(settings.topic_raw, key_serializer="raw", value_serializer="raw")
    dlq_topic = app.topic(settings.topic_dlq, key_serializer="raw", value_serializer="raw")
    enriched_topic = app.topic(settings.topic_enriched, key_serializer="raw", value_serializer="raw")

    async def publish(letters: list[DeadLetter], documents: list[dict]) -> None:
        """Dead letters (original bytes, reason in headers) and enriched documents, awaited until the
        broker acknowledged them, so the batch's offsets are committed only afterwards."""
        pending = [
            await dlq_topic.send(key=letter.message.key, value=letter.message.value, headers=letter.headers())
            for letter in letters
        ]
        pending += [
            await enriched_topic.send(key=document["id"].encode(), value=orjson.dumps(document))
            for document in documents
        ]
        await asyncio.gather(*pending)

    @app.agent(raw_topic, name="enrich")
    async def enrich(stream: faust.StreamT) -> None:
        es = async_client(settings)
        indexer = ArticleIndexer(es, settings)
        enricher = Enricher(settings)
        loop = asyncio.get_running_loop()
        try:
            async for events in stream.take_events(settings.batch_size, within=settings.batch_timeout_s):
                started = time.perf_counter()
                messages = [source_message(event) for event in events]
                enriched = await loop.run_in_executor(None, enricher.enrich_batch, messages)
                report = await indexer.index_batch(enriched.articles)
                await publish(enriched.dead_letters + report.dead_letters, report.documents)
                log.info(
                    "batch of %d: %d indexed (%d near duplicates), %d syndicated copies, %d dead-lettered in %.2fs",
                    len(messages),
                    report.indexed,
                    report.near_duplicates,
                    report.syndicated,
                    len(enriched.dead_letters) + len(report.dead_letters),
                    time.perf_counter() - started,
                )
        finally:
            await es.close()

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

    return app
