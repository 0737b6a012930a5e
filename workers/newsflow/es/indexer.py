"""Index a batch of enriched articles: resolve duplicates, write, and report every outcome.

A later copy of a known text under another URL becomes a syndication record on
the owner's document instead of a new document; a near duplicate is indexed
with `duplicate_of`. Articles are written with scripted upserts keyed by the
URL hash, so re-delivery after a crash rewrites the same document, and an
original that arrives after its copy keeps the copy's record. Each article is
placed in a story (`newsflow.es.stories`), whose update rides in the same bulk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import AsyncElasticsearch

from newsflow.errors import PermanentError, TransientError
from newsflow.es.bulk import BulkOp, BulkSender, FetchGate, ItemError
from newsflow.es.dedup import ExactDuplicates, NearDuplicates
from newsflow.es.indices import EPOCH, IndexNames, article_month, script_id
from newsflow.es.placement import ArticleIndices
from newsflow.es.stories import Stories
from newsflow.models import Article, DeadLetter, SourceMessage
from newsflow.settings import Settings
from newsflow.stories.scoring import DocumentFrequencies

# Writes address the month index (created by `ArticleIndices.ensure`, which checks that it joined the alias).
UPDATE_OPTIONS = {"retry_on_conflict": 3}


@dataclass(slots=True)
class IndexReport:
    indexed: int = 0
    syndicated: int = 0
    near_duplicates: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # Still refused transiently after the bulk retries: for the retry topic.
    transient_failures: list[tuple[Article, TransientError]] = field(default_factory=list)
    # Every article written (owner or syndicated copy) as its document, for articles.enriched.
    documents: list[dict[str, Any]] = field(default_factory=list)

    def add_failure(self, article: Article, error: ItemError, now: datetime) -> None:
        if isinstance(error, PermanentError):
            self.dead_letters.append(DeadLetter(article.source, error, now))
        else:
            self.transient_failures.append((article, error))


@dataclass(slots=True)
class PreparedBatch:
    """A batch resolved against the stored state, its writes not sent yet."""

    now: datetime
    report: IndexReport = field(default_factory=IndexReport)  # failures met while resolving, then the writes'
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # article id -> its document
    operations: list[BulkOp] = field(default_factory=list)  # articles first, then signature and story records
    article_indices: set[str] = field(default_factory=set)  # the month indices the articles go to


def duplicate_status(article: Article, owner_id: str) -> str:
    if owner_id != article.id:
        return "syndicated"
    return "near_duplicate" if article.near_duplicate_of else "original"


def article_document(article: Article, ingested_at: datetime, owner_id: str | None = None) -> dict[str, Any]:
    """The Elasticsearch document (schemas/enriched_article.v1.json) of an enriched article."""
    owner_id = owner_id or article.id
    entity_ids = sorted({mention.entity_id for mention in article.entities})
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
        "boilerplate_lines_removed": article.boilerplate_lines_removed,
        "entities": [
            {
                "id": mention.entity_id,
                "type": mention.type,
                "text": mention.text,
                "source": mention.source,
                "start": mention.start,
                "end": mention.end,
            }
            for mention in article.entities
        ],
        "entity_ids": entity_ids,
        "duplicate_status": duplicate_status(article, owner_id),
        "duplicate_of": owner_id if owner_id != article.id else article.near_duplicate_of,
        "duplicate_similarity": article.near_duplicate_similarity,
        "story_id": article.story_id,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "ingested_at": ingested_at.isoformat(),
        "source": {
            "topic": article.source.topic,
            "partition": article.source.partition,
            "offset": article.source.offset,
            "timestamp": record_time(article.source),
        },
    }


def record_time(message: SourceMessage) -> str | None:
    if message.timestamp_ms is None:
        return None
    return (EPOCH + timedelta(milliseconds=message.timestamp_ms)).isoformat()


class ArticleIndexer:
    def __init__(
        self,
        client: AsyncElasticsearch,
        settings: Settings,
        gate: FetchGate | None = None,
        frequencies: DocumentFrequencies | None = None,
    ) -> None:
        self._sender = BulkSender(client, settings, gate)
        self._exact = ExactDuplicates(self._sender, settings)
        self._near = NearDuplicates(self._sender, settings) if settings.neardup_enabled else None
        names = IndexNames.from_settings(settings)
        self._indices = ArticleIndices(self._sender, names)
        self._stories = (
            Stories(self._sender, settings, names.articles_alias, frequencies) if settings.stories_enabled else None
        )
        self._upsert_script = script_id(settings, "upsert_article")
        self._syndication_script = script_id(settings, "add_syndication")

    async def index_batch(self, articles: Sequence[Article]) -> IndexReport:
        """Index one batch: every article ends written, dead-lettered, or handed back as transiently refused."""
        return await self.write(await self.prepare(articles))

    async def prepare(self, articles: Sequence[Article]) -> PreparedBatch:
        """Resolve a batch against the stored state (months, owners, near duplicates, stories) into its
        writes. The next batch may be prepared while this one's writes are in flight: what it must see of
        this one (signatures, story placements) is in memory, and copies of its texts are written on a stub
        until the owner's document arrives."""
        prepared = PreparedBatch(now=datetime.now(UTC))
        report, now = prepared.report, prepared.now
        latest_by_id = {article.id: article for article in articles}  # a later offset of one URL wins
        # The reads that need nothing of the batch's resolution go together: one round trip, not four.
        # Near-duplicate candidates are searched for every article, though only those owning their text
        # are compared (exact copies are a few in a batch; their ownership takes a round trip of its own).
        placement, stored, _, near_candidates = await asyncio.gather(
            self._indices.placement(),
            # An article already stored keeps its month (a resend under a later date or record time included).
            self._indices.stored(latest_by_id),
            self._stories.follow() if self._stories else asyncio.sleep(0),
            self._near.stored_candidates(latest_by_id.values()) if self._near else asyncio.sleep(0, {}),
        )
        if placement.single:  # the layout before months: no article has a month yet
            stored = {}
        months = {
            article.id: found.month if (found := stored.get(article.id)) else article_month(article)
            for article in latest_by_id.values()
        }
        owners, claim_failures = await self._exact.owners(list(latest_by_id.values()), months)
        for article in latest_by_id.values():
            if article.content_hash in claim_failures:
                report.add_failure(article, claim_failures[article.content_hash], now)
        settled = [article for article in latest_by_id.values() if article.content_hash in owners]
        # Texts claimed before month indices: their owner's month is where its document is.
        unrecorded = {owner.article_id for owner in owners.values() if owner.month is None} - set(months)
        located = {} if placement.single else await self._indices.stored_months(unrecorded)
        targets: dict[str, str] = {}
        for article in settled:
            owner = owners[article.content_hash]
            month = owner.month or located.get(owner.article_id) or months.get(owner.article_id)
            if month is None and placement.single is None:
                # The owner's document is not searchable yet: writing the copy anywhere would be a guess.
                why = f"the month index of {owner.article_id}, which owns this text, is not known yet"
                report.add_failure(article, TransientError(why), now)
            else:
                targets[article.id] = placement.index(month)
        settled = [article for article in settled if article.id in targets]
        # Before the placements: a batch that fails after its articles joined stories in memory would
        # fold them in again when indexed again (its writes wait out outages; they do not raise).
        await self._indices.ensure(placement, targets.values())
        originals = [article for article in settled if owners[article.content_hash].article_id == article.id]
        signature_ops = self._near.resolve(originals, near_candidates) if self._near else []
        owner_ids = {content_hash: owner.article_id for content_hash, owner in owners.items()}
        # The batch's articles were looked up with their months: the stories of those stored (none were
        # looked up in the layout before months).
        looked_up = {} if placement.single else {article_id: None for article_id in latest_by_id}
        looked_up.update((article_id, found.story_id) for article_id, found in stored.items())
        story_ops = await self._stories.resolve(settled, owner_ids, looked_up) if self._stories else []
        article_ops = []
        for article in settled:
            owner_id = owner_ids[article.content_hash]
            prepared.documents[article.id] = article_document(article, now, owner_id)
            if owner_id == article.id:
                article_ops.append(self._upsert_op(article, prepared.documents[article.id], targets[article.id]))
            else:
                article_ops.append(self._syndication_op(article, owner_id, targets[article.id], now))
        prepared.operations = article_ops + signature_ops + story_ops
        prepared.article_indices = set(targets.values())
        return prepared

    async def write(self, prepared: PreparedBatch) -> IndexReport:
        """Send a prepared batch's writes in one bulk and report each article's outcome."""
        report, now = prepared.report, prepared.now
        for op, error in await self._sender.send(prepared.operations):
            if next(iter(op.action.values()))["_index"] not in prepared.article_indices:
                continue  # a signature or story record: its failure only weakens later matching
            if error is not None:
                report.add_failure(op.article, error, now)
                continue
            document = prepared.documents[op.article.id]
            report.documents.append(document)
            if document["duplicate_status"] == "syndicated":
                report.syndicated += 1
            else:
                report.indexed += 1
                report.near_duplicates += document["duplicate_status"] == "near_duplicate"
        return report

    def _upsert_op(self, article: Article, document: dict[str, Any], index: str) -> BulkOp:
        return BulkOp(
            article,
            {"update": {"_index": index, "_id": article.id, **UPDATE_OPTIONS}},
            {"scripted_upsert": True, "upsert": {}, "script": {"id": self._upsert_script, "params": {"doc": document}}},
        )

    def _syndication_op(self, article: Article, owner_id: str, index: str, now: datetime) -> BulkOp:
        """An update of the owner's document, in the owner's month index (recorded with its fingerprint)."""
        copy = {"outlet": article.outlet, "url": article.url, "seen_at": now.isoformat()}
        return BulkOp(
            article,
            {"update": {"_index": index, "_id": owner_id, **UPDATE_OPTIONS}},
            # The owner's own message may still be in flight: keep the copy on a stub it will fill.
            {
                "scripted_upsert": True,
                "upsert": {},
                "script": {"id": self._syndication_script, "params": {"copy": copy}},
            },
        )
