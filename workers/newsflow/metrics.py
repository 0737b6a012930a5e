"""The worker's Prometheus metrics, in one place (served by the worker's /metrics page).

Every outcome of a message is counted, so that consumed = indexed + syndicated + dead-lettered
(+ sent to the retry topic) can be checked from the outside as well.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter("newsflow_messages_consumed", "Kafka messages taken into a batch", ["topic"])
DOCUMENTS_INDEXED = Counter("newsflow_documents_indexed", "articles written as their own document")
DUPLICATES = Counter(
    "newsflow_deduplicated", "articles recognised as duplicates", ["kind"]
)  # kind: syndicated (same text, recorded on the owner) or near (indexed with duplicate_of)
DEAD_LETTERS = Counter("newsflow_dead_lettered", "messages sent to the dead-letter topic", ["error_code"])
RETRIES = Counter(
    "newsflow_retries", "retries after a transient failure", ["kind"]
)  # kind: bulk_item, request (Elasticsearch unavailable), batch, retry_topic (message sent there)
BATCH_PHASE_SECONDS = Histogram(
    "newsflow_batch_phase_seconds",
    "duration of one phase of a batch",
    # enrich; resolve (duplicates and stories, with their Elasticsearch reads); index (the batch's bulk);
    # publish (awaiting the broker). A batch's enrich and resolve overlap the index and publish of the one before.
    ["phase"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ES_REQUEST_SECONDS = Histogram(
    "newsflow_es_request_seconds",
    "duration of one Elasticsearch request made while indexing a batch, retries included",
    ["request"],  # the client method: bulk, search, msearch, ...
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RECORD_AGE_SECONDS = Histogram(
    "newsflow_record_age_seconds",
    "seconds from the Kafka timestamp of a batch's oldest record to the start of the batch's enrichment",
    # How fresh the worker keeps up: a backlog or a stalled stage shows here before in the lag. A retried
    # record keeps its original timestamp, so on articles.retry this includes the retry delay.
    ["topic"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)
BULK_IN_FLIGHT = Gauge("newsflow_bulk_requests_in_flight", "bulk requests sent and not yet answered")
CONSUMER_LAG = Gauge(
    "newsflow_consumer_lag",
    "messages on the partition after the last one this worker processed",
    ["topic", "partition"],
)
FETCHING_PAUSED = Gauge("newsflow_fetching_paused", "1 while the worker holds its partitions paused (back-pressure)")
