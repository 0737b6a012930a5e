"""Bulk requests with per-item outcomes, bounded back-off, and waiting out an unavailable cluster.

Each bulk item is classified by its status (never by the text of its error):

* 2xx: written.
* 429, 5xx: refused transiently; re-sent alone after exponential back-off with jitter, at most
  `bulk_max_retries` times, then returned as a `TransientError` (the worker moves the message to
  the retry topic).
* any other 4xx: Elasticsearch rejects the document as such; returned as a `PermanentError`
  for the caller to dead-letter.

A request that gets no answer at all (connection refused, timeout), a 429/5xx for the whole
request, or a 401/403 (credentials: an operator's problem, not the message's) is retried
without limit with capped back-off: meanwhile the `FetchGate` is closed, so the worker stops
fetching from Kafka instead of buffering, and the batch's offsets stay uncommitted.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from newsflow import metrics
from newsflow.errors import PermanentError, TransientError
from newsflow.models import Article
from newsflow.settings import Settings

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Wrong or missing credentials: wait for an operator instead of dead-lettering every message.
CREDENTIALS_STATUS = frozenset({401, 403})
# Below Elasticsearch's default http.max_content_length (100 MB), like elasticsearch-py's helpers.
MAX_REQUEST_BYTES = 50 * 2**20
STAGE = "index"

ItemError = PermanentError | TransientError
Outcome = ItemError | None


class FetchGate(Protocol):
    """Told when Elasticsearch stops and starts answering, to stop and restart fetching from Kafka."""

    def close(self) -> None: ...

    def open(self) -> None: ...


class AlwaysOpen:
    """For callers without a Kafka consumer (CLI, tests)."""

    def close(self) -> None:
        pass

    def open(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class BulkOp:
    """One bulk action (metadata line + source line) and the article it came from."""

    article: Article
    action: dict[str, Any]
    body: dict[str, Any]

    @property
    def document_id(self) -> str:
        return next(iter(self.action.values()))["_id"]

    def ndjson(self) -> bytes:
        return orjson.dumps(self.action) + b"\n" + orjson.dumps(self.body) + b"\n"


class BulkSender:
    def __init__(self, client: AsyncElasticsearch, settings: Settings, gate: FetchGate | None = None) -> None:
        self.client = client
        self._first_backoff_s = settings.bulk_backoff_s
        self._max_backoff_s = settings.bulk_max_backoff_s
        self._max_retries = settings.bulk_max_retries
        self._gate = gate or AlwaysOpen()

    async def send(self, operations: list[BulkOp], *, conflict_is_ok: bool = False) -> list[tuple[BulkOp, Outcome]]:
        """Send the operations; retry transient item failures; return each op with its final error."""
        outcomes: list[tuple[BulkOp, Outcome]] = []
        pending = operations
        attempt = 0
        while pending:
            retry: list[BulkOp] = []
            for op, item in await self._results(pending):
                status = item["status"]
                error = item.get("error", {})
                reason = f"{status} {error.get('type', 'error')}: {error.get('reason', '')}"
                if status < 300:
                    outcomes.append((op, None))
                elif status in RETRYABLE_STATUS:
                    if attempt < self._max_retries:
                        retry.append(op)
                    else:
                        outcomes.append((op, TransientError(f"refused {attempt + 1} times, last: {reason}")))
                elif status == 409 and conflict_is_ok:
                    outcomes.append((op, PermanentError("conflict", "exists", STAGE)))
                else:
                    outcomes.append((op, PermanentError("index_rejected", reason, STAGE)))
            pending = retry
            if pending:
                attempt += 1
                metrics.RETRIES.labels("bulk_item").inc(len(pending))
                await self._backoff(attempt, f"{len(pending)} bulk items refused transiently")
        return outcomes

    async def _results(self, operations: list[BulkOp]) -> list[tuple[BulkOp, dict[str, Any]]]:
        """Each op with its bulk item result; a request Elasticsearch refuses as a whole (400, 413)
        fails each of its ops permanently."""
        results = []
        for chunk, body in _chunks(operations):
            metrics.BULK_IN_FLIGHT.inc()
            try:
                response = await self.call(self.client.bulk, operations=body)
            except ApiError as exc:
                refused = {"status": exc.meta.status, "error": {"type": "request_refused", "reason": exc.message}}
                results += [(op, refused) for op in chunk]
                continue
            finally:
                metrics.BULK_IN_FLIGHT.dec()
            results += [(op, next(iter(item.values()))) for op, item in zip(chunk, response["items"], strict=True)]
        return results

    async def call(self, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        """Call Elasticsearch until it answers; any other error status is raised."""
        attempt = 0
        started = time.perf_counter()
        try:
            while True:
                try:
                    return await method(**kwargs)
                except ApiError as exc:
                    if exc.meta.status not in RETRYABLE_STATUS | CREDENTIALS_STATUS:
                        raise
                    why = f"Elasticsearch answered {exc.meta.status}: {exc.message}"
                except TransportError as exc:  # connection refused, reset or timed out
                    why = f"Elasticsearch unavailable ({type(exc).__name__}: {exc})"
                if attempt == 0:
                    self._gate.close()
                attempt += 1
                metrics.RETRIES.labels("request").inc()
                await self._backoff(attempt, why)
        finally:
            metrics.ES_REQUEST_SECONDS.labels(method.__name__).observe(time.perf_counter() - started)
            if attempt:
                self._gate.open()

    async def _backoff(self, attempt: int, why: str) -> None:
        """Exponential back-off with jitter, capped (offsets stay uncommitted meanwhile)."""
        delay = backoff_delay(attempt, self._first_backoff_s, self._max_backoff_s)
        log.warning("%s; retry %d in %.1fs", why, attempt, delay)
        await asyncio.sleep(delay)


def backoff_delay(attempt: int, first_s: float, max_s: float) -> float:
    """Exponential back-off, capped, with jitter so that workers refused together do not retry together."""
    return min(max_s, first_s * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)


def _chunks(operations: list[BulkOp]) -> Iterator[tuple[list[BulkOp], bytes]]:
    """Consecutive runs of operations, with their request body, each under MAX_REQUEST_BYTES."""
    chunk: list[BulkOp] = []
    lines: list[bytes] = []
    size = 0
    for op in operations:
        line = op.ndjson()
        if chunk and size + len(line) > MAX_REQUEST_BYTES:
            yield chunk, b"".join(lines)
            chunk, lines, size = [], [], 0
        chunk.append(op)
        lines.append(line)
        size += len(line)
    if chunk:
        yield chunk, b"".join(lines)
