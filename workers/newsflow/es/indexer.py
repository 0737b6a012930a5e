"""Resolve exact duplicates and index a batch of enriched articles, with per-item outcomes.

Exact duplicates are resolved through the fingerprints index (`_id` = content
hash, `op_type=create`): whichever worker creates the fingerprint first owns
the text, atomically across workers and restarts. A later copy under another
URL becomes a syndication record on the owner's document instead of a new
document. Articles are written with scripted upserts keyed by the URL hash, so
re-delivery after a crash rewrites the same document.

Bulk items are classified by status: 429/5xx and connection failures are
retried with exponential back-off and jitter (only the failed items);
rejections of the document itself (4xx) become dead letters.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from elasticsearch import ApiError, AsyncElasticsearch, TransportError

from newsflow.errors import PermanentError, TransientError
from newsflow.es.indices import IndexNames, script_id
from newsflow.models import Article, DeadLetter
from newsflow.settings import Settings

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
STAGE = "index"
# require_alias: never let a missing alias auto-create a concrete index with a guessed mapping.
UPDATE_OPTIONS = {"retry_on_conflict": 3, "require_alias": True}


@dataclass(slots=True)
class IndexReport:
    indexed: int = 0
    syndicated: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BulkOp:
    """One bulk action (metadata line + body line) and the article it came from."""

    article: Article
    action: dict[str, Any]
    body: dict[str, Any]


def article_document(article: Article, ingested_at: datetime) -> dict[str, Any]:
    """The Elasticsearch document (schemas/enriched_article.v1.json) of an enriched article."""
    return {
        "schema_version": 1,
        "id": article.id,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "outlet": article.outlet,
        "outlets": [article.outlet],  # the upsert script adds the outlets of syndicated copies
        "outlet_country": article.outlet_country,
        "title": article.title,
        "body": article.text,
        "content_type": article.content_type,
        "author": article.author,
        "tags": article.tags,
        "language": article.language,
        "language_confidence": round(article.language_confidence, 4),
        "languages": article.languages,
        "language_hint": article.language_hint,
        "title_language": article.title_language,
        "content_hash": article.content_hash,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "ingested_at": ingested_at.isoformat(),
        "source": {
            "topic": article.source.topic,
            "partition": article.source.partition,
            "offset": article.source.offset,
        },
    }


class ArticleIndexer:
    def __init__(self, client: AsyncElasticsearch, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._names = IndexNames.from_settings(settings)
        self._upsert_script = script_id(settings, "upsert_article")
        self._syndication_script = script_id(settings, "add_syndication")

    async def index_batch(self, articles: Sequence[Article]) -> IndexReport:
        """Index one batch; returns only when every article is written or dead-lettered."""
        report = IndexReport()
        latest_by_id = {article.id: article for article in articles}  # a later offset of one URL wins
        owners = await self._claim_fingerprints(list(latest_by_id.values()))
        now = datetime.now(UTC)
        operations = []
        for article in latest_by_id.values():
            owner_id = owners[article.content_hash]
            if owner_id == article.id:
                operations.append(self._upsert_op(article, now))
            else:
                operations.append(self._syndication_op(article, owner_id, now))
        for op, error in await self._bulk_with_retries(operations):
            if error is None:
                if op.action["update"]["_id"] == op.article.id:
                    report.indexed += 1
                else:
                    report.syndicated += 1
            else:
                report.dead_letters.append(DeadLetter(op.article.source, error, now))
        return report

    async def _claim_fingerprints(self, articles: list[Article]) -> dict[str, str]:
        """content hash -> id of the article that owns that text (the first one ever written)."""
        first_by_hash: dict[str, Article] = {}
        for article in articles:
            first_by_hash.setdefault(article.content_hash, article)
        now = datetime.now(UTC).isoformat()
        operations = [
            BulkOp(
                article,
                {"create": {"_index": self._names.fingerprints_index, "_id": content_hash}},
                {"article_id": article.id, "first_seen": now},
            )
            for content_hash, article in first_by_hash.items()
        ]
        owners: dict[str, str] = {}
        conflicts: list[str] = []
        for op, error in await self._bulk_with_retries(operations, conflict_is_ok=True):
            content_hash = op.action["create"]["_id"]
            if error is None:
                owners[content_hash] = op.article.id
            elif error.code == "conflict":
                conflicts.append(content_hash)
            else:
                raise TransientError(f"fingerprint of {op.article.id} not written: {error}")
        if conflicts:
            response = await self._call(
                self._client.mget, index=self._names.fingerprints_index, ids=conflicts, source=["article_id"]
            )
            for doc in response["docs"]:
                owners[doc["_id"]] = doc["_source"]["article_id"]
        return owners

    def _upsert_op(self, article: Article, now: datetime) -> BulkOp:
        return BulkOp(
            article,
            {"update": {"_index": self._names.articles_alias, "_id": article.id, **UPDATE_OPTIONS}},
            {
                "scripted_upsert": True,
                "upsert": {},
                "script": {"id": self._upsert_script, "params": {"doc": article_document(article, now)}},
            },
        )

    def _syndication_op(self, article: Article, owner_id: str, now: datetime) -> BulkOp:
        copy = {"outlet": article.outlet, "url": article.url, "seen_at": now.isoformat()}
        return BulkOp(
            article,
            {"update": {"_index": self._names.articles_alias, "_id": owner_id, **UPDATE_OPTIONS}},
            # The owner's own message may still be in flight: keep the copy on a stub it will fill.
            {
                "scripted_upsert": True,
                "upsert": {},
                "script": {"id": self._syndication_script, "params": {"copy": copy}},
            },
        )

    async def _bulk_with_retries(
        self, operations: list[BulkOp], *, conflict_is_ok: bool = False
    ) -> list[tuple[BulkOp, PermanentError | None]]:
        """Send the operations; retry transient item failures; return each op with its final error."""
        outcomes: list[tuple[BulkOp, PermanentError | None]] = []
        pending = operations
        attempt = 0
        while pending:
            response = await self._call(self._client.bulk, operations=_ndjson(pending))
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

    async def _call(self, method: Any, **kwargs: Any) -> Any:
        """Call Elasticsearch until it answers: while it is down the batch waits (back-pressure)."""
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
        """Exponential back-off with full jitter, capped at 30 s; never gives up (offsets stay uncommitted)."""
        delay = min(30.0, self._settings.bulk_backoff_s * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
        log.warning("%s; retry %d in %.1fs", why, attempt, delay)
        await asyncio.sleep(delay)


def _ndjson(operations: list[BulkOp]) -> bytes:
    lines = []
    for op in operations:
        lines.append(orjson.dumps(op.action))
        lines.append(orjson.dumps(op.body))
    return b"\n".join(lines) + b"\n"
