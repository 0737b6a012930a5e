"""Duplicate state shared by every worker, kept in Elasticsearch and bounded in time.

* Exact: the fingerprints index, `_id` = normalised content hash, written with
  `op_type=create`. The first writer owns the text, atomically across workers.
* Near: the neardup index holds each recent article's MinHash signature and LSH
  band keys; one search per new article (in one `msearch` a batch) returns its
  candidates, those sharing the most bands with it, whose signatures then give
  the similarity. Earlier articles of the same batch are
  compared in memory (`RecentSignatures`), since the index makes them searchable
  only after its next refresh.

Both indices forget entries older than `dedup_horizon_days` (`expire_state`),
so the state stays bounded however long the stream runs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from elasticsearch import AsyncElasticsearch

from newsflow.errors import PermanentError, TransientError
from newsflow.es.bulk import BulkOp, BulkSender, ItemError
from newsflow.models import Article
from newsflow.settings import Settings
from newsflow.stages.neardup import Signature, similarity

CANDIDATES_PER_ARTICLE = 20
# Covers the index refresh gap (about a second of this worker's articles), not the horizon.
RECENT_SIGNATURES = 5000


class Owner(NamedTuple):
    """The article owning a text, and the month of its articles index (None: claimed before month indices)."""

    article_id: str
    month: str | None


class ExactDuplicates:
    def __init__(self, sender: BulkSender, settings: Settings) -> None:
        self._sender = sender
        self._index = settings.fingerprints_index

    async def owners(
        self, articles: Sequence[Article], months: dict[str, str]
    ) -> tuple[dict[str, Owner], dict[str, ItemError]]:
        """content hash -> the article that owns that text (the first one ever written), and
        content hash -> error for the texts whose ownership could not be settled.

        `months`: article id -> the month index it is written to, recorded with a new claim so that
        later copies update the owner there."""
        first_by_hash: dict[str, Article] = {}
        for article in articles:
            first_by_hash.setdefault(article.content_hash, article)
        now = datetime.now(UTC).isoformat()
        operations = [
            BulkOp(
                article,
                {"create": {"_index": self._index, "_id": content_hash}},
                {"article_id": article.id, "month": months[article.id], "first_seen": now},
            )
            for content_hash, article in first_by_hash.items()
        ]
        owners: dict[str, Owner] = {}
        failures: dict[str, ItemError] = {}
        conflicts: list[str] = []
        for op, error in await self._sender.send(operations, conflict_is_ok=True):
            if error is None:
                owners[op.document_id] = Owner(op.article.id, op.body["month"])
            elif isinstance(error, PermanentError) and error.code == "conflict":
                conflicts.append(op.document_id)
            else:
                failures[op.document_id] = error
        if conflicts:
            response = await self._sender.call(
                self._sender.client.mget, index=self._index, ids=conflicts, source=["article_id", "month"]
            )
            for doc in response["docs"]:
                if doc.get("found"):
                    owners[doc["_id"]] = Owner(doc["_source"]["article_id"], doc["_source"].get("month"))
                else:  # expired between the create and this read: claim it again on the next attempt
                    failures[doc["_id"]] = TransientError(f"fingerprint {doc['_id']} vanished while read")
        return owners, failures


class RecentSignatures:
    """This worker's latest signatures, looked up by band key; oldest forgotten first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[str, Signature]] = OrderedDict()
        # Nearly every band key has one article: a tuple costs a quarter of a set (docs/benchmarks.md).
        self._by_band: dict[str, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def candidates(self, article: Article) -> list[tuple[str, Signature]]:
        ids = set().union(*(self._by_band.get(band, ()) for band in article.signature.bands)) - {article.id}
        return [self._entries[article_id] for article_id in ids]

    def add(self, article: Article) -> None:
        self._forget(article.id)
        self._entries[article.id] = (article.near_duplicate_of or article.id, article.signature)
        for band in article.signature.bands:
            self._by_band[band] = (*self._by_band.get(band, ()), article.id)
        while len(self._entries) > self._capacity:
            self._forget(next(iter(self._entries)))

    def _forget(self, article_id: str) -> None:
        entry = self._entries.pop(article_id, None)
        if entry is None:
            return
        for band in entry[1].bands:
            members = tuple(member for member in self._by_band[band] if member != article_id)
            if members:
                self._by_band[band] = members
            else:
                del self._by_band[band]


class NearDuplicates:
    def __init__(self, sender: BulkSender, settings: Settings) -> None:
        self._sender = sender
        self._index = settings.neardup_index
        self._threshold = settings.neardup_threshold
        self._horizon = f"now-{int(settings.dedup_horizon_days * 24 * 60)}m"
        self._recent = RecentSignatures(RECENT_SIGNATURES)

    def resolve(self, articles: Sequence[Article], stored: Mapping[str, list[tuple[str, Signature]]]) -> list[BulkOp]:
        """Set `near_duplicate_of` on each article that nearly repeats an earlier one; return the ops
        that record this batch's signatures (to be sent with the articles themselves). `stored`: each
        article's `stored_candidates`, searched before (with the batch's other first reads)."""
        signed = [article for article in articles if article.signature is not None]
        now = datetime.now(UTC).isoformat()
        operations = []
        for article in signed:
            best = self._best_match(article, stored[article.id] + self._recent.candidates(article))
            if best is not None:
                article.near_duplicate_of, article.near_duplicate_similarity = best
            self._recent.add(article)
            operations.append(
                BulkOp(
                    article,
                    {"index": {"_index": self._index, "_id": article.id}},
                    {
                        "bands": article.signature.bands,
                        "minhash": article.signature.encode(),
                        "shingles": article.signature.shingle_count,
                        "duplicate_of": article.near_duplicate_of,
                        "seen_at": now,
                    },
                )
            )
        return operations

    def _best_match(self, article: Article, candidates: list[tuple[str, Signature]]) -> tuple[str, float] | None:
        """(id of the original, similarity) of the most similar earlier article above the threshold."""
        scored = [(original, similarity(article.signature, other)) for original, other in candidates]
        scored = [(orig, score) for orig, score in scored if score >= self._threshold and orig != article.id]
        return max(scored, key=lambda pair: pair[1]) if scored else None

    async def stored_candidates(self, articles: Iterable[Article]) -> dict[str, list[tuple[str, Signature]]]:
        """Per article with a signature: (original id, signature) of the CANDIDATES_PER_ARTICLE stored
        articles sharing the most bands with it (the more bands two signatures share, the more similar
        they are), ties in index order, itself excluded.

        One search per article in one `msearch`, scored by the bands shared, so that the node returns only
        each article's best few. A single filter search for a whole batch returned every stored article
        sharing any band with any of them: on a corpus where unrelated articles share phrases those hits
        grew with the stored set (thousands a batch, each read and counted by the worker), past the
        search's hit limit."""
        articles = [article for article in articles if article.signature is not None]
        if not articles:
            return {}
        searches: list[dict[str, Any]] = []
        for article in articles:
            searches.append({"index": self._index})
            searches.append(self._candidate_query(article))
        response = await self._sender.call(self._sender.client.msearch, searches=searches)
        candidates: dict[str, list[tuple[str, Signature]]] = {}
        for article, result in zip(articles, response["responses"], strict=True):
            if "error" in result:
                raise TransientError(f"near-duplicate lookup failed: {result['error']}")
            candidates[article.id] = [
                (
                    hit["_source"].get("duplicate_of") or hit["_id"],
                    Signature.decode(hit["_source"]["minhash"], hit["_source"]["shingles"]),
                )
                for hit in result["hits"]["hits"]
            ]
        return candidates

    def _candidate_query(self, article: Article) -> dict[str, Any]:
        # One point per band shared: `constant_score`, as a band's rarity says nothing about similarity.
        shared = [
            {"constant_score": {"filter": {"term": {"bands": band}}}} for band in dict.fromkeys(article.signature.bands)
        ]
        return {
            "size": CANDIDATES_PER_ARTICLE,
            "track_total_hits": False,
            "_source": ["minhash", "shingles", "duplicate_of"],
            "query": {
                "bool": {
                    "should": shared,
                    "minimum_should_match": 1,
                    "filter": [{"range": {"seen_at": {"gte": self._horizon}}}],
                    "must_not": [{"ids": {"values": [article.id]}}],
                }
            },
        }


async def expire_state(client: AsyncElasticsearch, settings: Settings) -> dict[str, int]:
    """Forget duplicate state older than the horizon; returns how many entries each index dropped."""
    cutoff = (datetime.now(UTC) - timedelta(days=settings.dedup_horizon_days)).isoformat()
    deleted = {}
    for index, field in ((settings.fingerprints_index, "first_seen"), (settings.neardup_index, "seen_at")):
        response = await client.delete_by_query(
            index=index, query={"range": {field: {"lt": cutoff}}}, conflicts="proceed", refresh=True
        )
        deleted[index] = response["deleted"]
    return deleted
