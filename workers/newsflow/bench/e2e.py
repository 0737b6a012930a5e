"""Parts 2–4: the real worker between the real Kafka broker and Elasticsearch node.

* Throughput: `articles.raw` is filled first, then the worker starts; the rate
  counts from the first committed offsets (models loaded, first batch done)
  until every offset is committed and every article is searchable.
* Plain copy: the same messages through a minimal consumer and
  `helpers.bulk` into an index of the same template — the Kafka Connect
  Elasticsearch sink's job, the floor of what any pipeline costs here.
* Latency: produce → searchable per article, producing at a fixed share of the
  measured maximum rate, read by polling `ids` queries.
* Scaling: the same throughput run with several workers in one consumer group.

Every run has its own name prefix; its topics and indices are deleted afterwards.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch, helpers
from kafka import KafkaConsumer, TopicPartition

from newsflow.bench import corpus
from newsflow.errors import NewsflowError
from newsflow.es.client import sync_client
from newsflow.es.indices import IndexNames, current_month
from newsflow.kafka.admin import connect
from newsflow.kafka.lag import consumer_progress_so_far
from newsflow.kafka.producer import DeliveryTally, Message, ProduceCounts, open_producer, send_messages
from newsflow.settings import Settings
from newsflow.urls import article_id
from newsflow.worker.process import WorkerProcess

POLL_S = 0.5
# Batches kept waiting per worker ahead of the committed offsets: the harness sees a batch done only
# once its offsets are committed (every `commit_interval_s`) and polled, and the backlog must outlast
# that at the worker's full rate. Two batches did not: quick light runs measured the producer, ~110/s.
BACKLOG_BATCHES = 10
LATENCY_POLL_S = 0.1
# Latency is measured at this share of the profile's measured maximum rate.
LATENCY_LOAD = 0.5
# How long after the last send an article may still become searchable before it counts as lost.
LATENCY_GRACE_S = 60
COPY_BATCH = 500
# Longer than the nodes' process statistics take to refresh (1 s by default).
NODE_STATS_WAIT_S = 3.0
NODE_STATS_POLL_S = 0.1
LOG_TAIL_CHARS = 4000


class CorpusProducer:
    """Corpus articles onto articles.raw in order, each `send` waiting for the broker's acknowledgements."""

    def __init__(self, settings: Settings, start: int = 0) -> None:
        self.settings = settings
        self.sent = 0
        self._start = start
        self._counts = ProduceCounts()
        self._producer = open_producer(settings)

    def send(self, count: int) -> None:
        messages = (Message(m.key, m.value) for m in corpus.messages(count, self._start + self.sent))
        send_messages(self._producer, self.settings.topic_raw, messages, DeliveryTally(self._counts, lambda: None))
        self._producer.flush()
        if self._counts.failed_sends:
            raise NewsflowError(
                f"{self._counts.failed_sends} benchmark messages not produced: {self._counts.first_error}"
            )
        self.sent += count

    def close(self) -> None:
        self._producer.close()


def searchable(es: Elasticsearch, settings: Settings) -> int:
    """Articles visible to search now (no refresh forced: that is what "searchable" means): the documents,
    and the exact copies recorded on them (a syndicated copy has no document of its own)."""
    response = es.search(
        index=settings.articles_alias,
        size=0,
        track_total_hits=True,
        aggs={"copies": {"value_count": {"field": "syndicated.url"}}},
    )
    return response["hits"]["total"]["value"] + int(response["aggregations"]["copies"]["value"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def node_cpu_seconds(es: Elasticsearch, taken_after: float | None = None) -> float:
    """CPU time the Elasticsearch nodes' processes used so far (all their work, for any user): what a
    run costs the node, where index and search times (below) are wall clock and grow when the cores are
    contended. Nodes take these figures about once a second (`monitor.process.refresh_interval`); with
    `taken_after` (a Unix time), waits for figures taken after it, for a while at most."""
    deadline = time.time() + NODE_STATS_WAIT_S
    while True:
        nodes = es.nodes.stats(
            metric="process", filter_path="nodes.*.process.cpu.total_in_millis,nodes.*.process.timestamp"
        )["nodes"]
        taken = [node["process"]["timestamp"] / 1000 for node in nodes.values()]
        if taken_after is None or min(taken) >= taken_after or time.time() > deadline:
            return sum(node["process"]["cpu"]["total_in_millis"] for node in nodes.values()) / 1000
        time.sleep(NODE_STATS_POLL_S)


def es_ms_per_article(settings: Settings, articles: int) -> dict[str, float]:
    """Milliseconds per article Elasticsearch spent indexing into and searching each of the prefix's
    indices (from their stats, so other users of the node do not count), and their total."""
    with sync_client(settings) as es:
        stats = es.indices.stats(index=f"{settings.name_prefix}*", metric=["indexing", "search"])["indices"]
    per_index = {}
    for index, figures in sorted(stats.items()):
        totals = figures["total"]
        busy = sum(
            (
                totals["indexing"]["index_time_in_millis"],
                totals["search"]["query_time_in_millis"],
                totals["search"]["fetch_time_in_millis"],
            )
        )
        per_index[index.removeprefix(settings.name_prefix)] = busy / max(1, articles)
    return {"total": sum(per_index.values()), **per_index}


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def running_workers(settings: Settings, count: int, log_dir: Path) -> Iterator[list[WorkerProcess]]:
    workers = [WorkerProcess(settings, log_dir / f"{settings.name_prefix}worker-{i}.log") for i in range(count)]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def _check_alive(workers: list[WorkerProcess]) -> None:
    for worker in workers:
        if worker.process.poll() is not None:
            log = worker.log()[-LOG_TAIL_CHARS:]
            raise NewsflowError(f"benchmark worker exited ({worker.process.returncode}):\n{log}")


def measure_throughput(
    settings: Settings, workers: list[WorkerProcess], limit: int, window_s: float, timeout_s: float, drain: bool
) -> dict[str, Any]:
    """Articles/s through the workers, counted from their first committed offsets.

    The producer keeps `BACKLOG_BATCHES` per worker waiting ahead of the committed offsets (up to
    `limit` articles), so the workers never starve and never face a longer backlog. The rate is
    taken when all `limit` articles are committed and searchable, or after `window_s` seconds of
    progress (`caught_up` says which). With `drain`, the run then waits (up to `timeout_s`) until
    everything produced is searchable, so that a latency measurement starts on an empty backlog.
    """
    backlog = BACKLOG_BATCHES * settings.batch_size * len(workers)
    producer = CorpusProducer(settings)
    started = time.perf_counter()
    # (time, committed offsets, workers' CPU seconds, node's CPU seconds)
    first: tuple[float, int, float, float] | None = None
    window: tuple[float, int, float, float] | None = None
    peak_rss = 0
    try:
        with sync_client(settings) as es:
            while True:
                committed, _ = consumer_progress_so_far(settings)
                if window is None and producer.sent < limit and producer.sent - committed < backlog:
                    producer.send(min(limit, committed + backlog) - producer.sent)
                visible = searchable(es, settings)
                now = time.perf_counter()
                peak_rss = max(peak_rss, sum(rss_bytes(worker.process.pid) for worker in workers))
                worker_cpu_s = sum(cpu_seconds(worker.process.pid) for worker in workers)
                if first is None and committed > 0:
                    first = (now, committed, worker_cpu_s, node_cpu_seconds(es))
                elif first and window is None and now - first[0] >= window_s and committed > first[1]:
                    window = (now, committed, worker_cpu_s, node_cpu_seconds(es))
                drained = committed >= producer.sent and visible >= producer.sent
                if (drained and (window or producer.sent >= limit)) or (window and not drain):
                    break
                _check_alive(workers)
                if now - (window[0] if window else started) > timeout_s:
                    if window:
                        break  # measured; only the drain is late
                    raise NewsflowError(
                        f"{committed} of {producer.sent} committed, {visible} searchable after {timeout_s:.0f}s:\n"
                        f"{workers[0].log()[-LOG_TAIL_CHARS:]}"
                    )
                time.sleep(POLL_S)
            assert first is not None
            end = window or (now, committed, worker_cpu_s, node_cpu_seconds(es))
    finally:
        producer.close()
    measured, measured_s = end[1] - first[1], end[0] - first[0]
    return {
        "articles": producer.sent,
        "workers": len(workers),
        "batch_size": settings.batch_size,
        "caught_up": window is None,
        "drained": drained,
        "measured_articles": measured,
        "measured_s": measured_s,
        "per_s": measured / measured_s if measured_s > 0 else float("nan"),
        # Worker CPU per article does not depend on how busy the machine is; wall-clock rates do.
        "worker_cpu_ms_per_article": 1000 * (end[2] - first[2]) / measured if measured else float("nan"),
        "node_cpu_ms_per_article": 1000 * (end[3] - first[3]) / measured if measured else float("nan"),
        # Elasticsearch's own time on this run's indices (other users share the node).
        "es_ms_per_article": es_ms_per_article(settings, visible),
        "startup_s": first[0] - started,
        "worker_peak_rss_mb": peak_rss / 2**20,
    }


def measure_latency(settings: Settings, rate_per_s: float, duration_s: float, start: int) -> dict[str, Any]:
    """Produce at `rate_per_s` for `duration_s`; seconds from send to searchable, per article."""
    count = max(1, round(rate_per_s * duration_s))
    messages = list(corpus.messages(count, start))
    url_of = {message.key.decode(): orjson.loads(message.value)["url"] for message in messages}
    sent_at: dict[str, float] = {}
    counts = ProduceCounts()
    tally = DeliveryTally(counts, lambda: None)
    producer = open_producer(settings)

    def send_at_rate() -> None:
        begin = time.perf_counter()
        for index, message in enumerate(messages):
            delay = begin + index / rate_per_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent_at[message.key.decode()] = time.perf_counter()
            send_messages(producer, settings.topic_raw, [Message(message.key, message.value)], tally)

    sender = threading.Thread(target=send_at_rate, name="bench-latency-producer")
    sender.start()
    latencies: list[float] = []
    deadline = time.perf_counter() + duration_s + LATENCY_GRACE_S
    try:
        with sync_client(settings) as es:
            while len(latencies) < count and time.perf_counter() < deadline:
                waiting = list(sent_at)
                if waiting:
                    now = time.perf_counter()
                    for article in arrived(es, settings, waiting, [url_of[key] for key in waiting]):
                        if article in sent_at:
                            latencies.append(now - sent_at.pop(article))
                time.sleep(LATENCY_POLL_S)
    finally:
        sender.join()
        producer.flush()
        producer.close()
    searchable_count = len(latencies)
    # An article still not searchable at the deadline counts as infinitely late, so it cannot flatter p99.
    latencies = sorted(latencies) + [float("inf")] * (count - searchable_count)
    return {
        "rate_per_s": rate_per_s,
        "duration_s": duration_s,
        "articles": count,
        "searchable": searchable_count,
        "p50_s": percentile(latencies, 50),
        "p99_s": percentile(latencies, 99),
        "max_s": latencies[-1],
        "poll_interval_s": LATENCY_POLL_S,
    }


def arrived(es: Elasticsearch, settings: Settings, article_ids: list[str], urls: list[str]) -> Iterator[str]:
    """Which of these articles are searchable: those with a document, and syndicated copies recorded on
    their owner's (a copy has none of its own)."""
    found = es.search(
        index=settings.articles_alias,
        query={"bool": {"should": [{"ids": {"values": article_ids}}, {"terms": {"syndicated.url": urls}}]}},
        size=len(article_ids),
        source=["syndicated.url"],
        filter_path="hits.hits._id,hits.hits._source",
    )
    for hit in found.get("hits", {}).get("hits", []):
        yield hit["_id"]
        yield from (article_id(copy["url"]) for copy in hit.get("_source", {}).get("syndicated", []))


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def plain_copy(settings: Settings, count: int, timeout_s: float) -> dict[str, Any]:
    """Produce `count` articles, then copy them from articles.raw into the articles alias unchanged:
    one consumer, JSON parsed and re-serialised by the client, `helpers.bulk` per poll."""
    producer = CorpusProducer(settings)
    try:
        producer.send(count)
    finally:
        producer.close()
    consumer = connect(KafkaConsumer, settings, "bench-copy", group_id=None, enable_auto_commit=False)
    partitions = [
        TopicPartition(settings.topic_raw, p) for p in sorted(consumer.partitions_for_topic(settings.topic_raw))
    ]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    copied = 0
    index = IndexNames.from_settings(settings).month_index(current_month())  # no write index behind the alias
    try:
        with sync_client(settings) as es:
            started_node_cpu = node_cpu_seconds(es, taken_after=time.time())
            started, started_cpu = time.perf_counter(), time.process_time()
            while copied < count:
                polled = consumer.poll(timeout_ms=1000, max_records=COPY_BATCH)
                records = [record for batch in polled.values() for record in batch]
                actions = [
                    {"_index": index, "_id": r.key.decode(), "_source": orjson.loads(r.value)}
                    for r in records[: count - copied]
                ]
                if actions:
                    helpers.bulk(es, actions, chunk_size=COPY_BATCH)
                    copied += len(actions)
                if time.perf_counter() - started > timeout_s:
                    raise NewsflowError(f"plain copy: {copied} of {count} copied after {timeout_s:.0f}s")
            while searchable(es, settings) < count:
                time.sleep(LATENCY_POLL_S)
            node_cpu_s = node_cpu_seconds(es, taken_after=time.time()) - started_node_cpu
    finally:
        consumer.close()
    seconds = time.perf_counter() - started
    return {
        "articles": count,
        "seconds": seconds,
        "per_s": count / seconds,
        "client_cpu_ms_per_article": 1000 * (time.process_time() - started_cpu) / count,
        "node_cpu_ms_per_article": 1000 * node_cpu_s / count,
        "es_ms_per_article": es_ms_per_article(settings, count),
    }


def registry_stats(settings: Settings) -> dict[str, Any]:
    """Size on disk per entry of the duplicate registries, as Elasticsearch reports it after a flush."""
    indices = [settings.fingerprints_index, settings.neardup_index]
    with sync_client(settings) as es:
        es.indices.flush(index=indices)
        stats = es.indices.stats(index=indices, metric=["docs", "store"])["indices"]
    result = {}
    for name, key in zip(indices, ("fingerprints", "neardup"), strict=True):
        primaries = stats[name]["primaries"]
        docs = primaries["docs"]["count"]
        size = primaries["store"]["size_in_bytes"]
        result[key] = {"docs": docs, "bytes": size, "bytes_per_doc": size / docs if docs else float("nan")}
    return result
