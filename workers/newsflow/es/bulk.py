"""Bulk requests with per-item outcomes, bounded back-off, and waiting out an unavailable cluster.

Items refused transiently (429, 5xx) are re-sent alone after exponential
back-off with jitter; items Elasticsearch rejects as such (4xx) come back as
`PermanentError`s for the caller to dead-letter. While the cluster does not
answer at all, the call waits (capped back-off): the batch's offsets stay
uncommitted, so nothing is lost and the worker stops fetching more.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from newsflow.errors import PermanentError
from newsflow.models import Article
from newsflow.settings import Settings

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_S = 30.0
STAGE = "index"


@dataclass(frozen=True, slots=True)
class BulkOp:
    """One bulk action (metadata line + source line) and the article it came from."""

    article: Article
    action: dict[str, Any]
    body: dict[str, Any]

    @property
    def document_id(self) -> str:
        return next(iter(self.action.values()))["_id"]


class BulkSender:
    def __init__(self, client: AsyncElasticsearch, settings: Settings) -> None:
        self.client = client
        self._first_backoff_s = settings.bulk_backoff_s

    async def send(
        self, operations: list[BulkOp], *, conflict_is_ok: bool = False
    ) -> list[tuple[BulkOp, PermanentError | None]]:
        """Send the operations; retry transient item failures; return each op with its final error."""
        outcomes: list[tuple[BulkOp, PermanentError | None]] = []
        pending = operations
        attempt = 0
        while pending:
            response = await self.call(self.client.bulk, operations=_ndjson(pending))
            retry: list[BulkOp] = []
            for op, item in zip(pending, response["items"], strict=True):
                result = next(iter(item.values()))
                status = result["status"]
                if status < 300:
                    outcomes.append((op, None))
                elif status in RETRYABLE_STATUS:
                    retry.append(op)
                elif status == 409 and conflict_is_ok:
                    outcomes.append((op, PermanentError("conflict", "exists", STAGE)))
                else:
                    error = result.get("error", {})
                    reason = f"{status} {error.get('type', 'error')}: {error.get('reason', '')}"
                    outcomes.append((op, PermanentError("index_rejected", reason, STAGE)))
            pending = retry
            if pending:
                attempt += 1
                await self._backoff(attempt, f"{len(pending)} bulk items refused transiently")
        return outcomes

    async def call(self, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        """Call Elasticsearch until it answers; a non-retryable error status is raised."""
        attempt = 0
        while True:
            try:
                return await method(**kwargs)
            except ApiError as exc:
                if exc.meta.status not in RETRYABLE_STATUS:
                    raise
                attempt += 1
                await self._backoff(attempt, f"Elasticsearch answered {exc.meta.status}: {exc.message}")
            except TransportError as exc:  # connection refused, reset or timed out
                attempt += 1
                await self._backoff(attempt, f"Elasticsearch unavailable ({type(exc).__name__}: {exc})")

    async def _backoff(self, attempt: int, why: str) -> None:
        """Exponential back-off with jitter, capped; never gives up (offsets stay uncommitted meanwhile)."""
        delay = min(MAX_BACKOFF_S, self._first_backoff_s * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
        log.warning("%s; retry %d in %.1fs", why, attempt, delay)
        await asyncio.sleep(delay)


def _ndjson(operations: list[BulkOp]) -> bytes:
    lines = []
    for op in operations:
        lines.append(orjson.dumps(op.action))
        lines.append(orjson.dumps(op.body))
    return b"\n".join(lines) + b"\n"
