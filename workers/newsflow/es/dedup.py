"""Duplicate state shared by every worker, kept in Elasticsearch and bounded in time.

* Exact: the fingerprints index, `_id` = normalised content hash, written with
  `op_type=create`. The first writer owns the text, atomically across workers.
* Near: the neardup index holds each recent article's MinHash signature and LSH
  band keys; one `terms` query on the bands of a batch's new articles returns
  their candidates (per article, those sharing the most bands with it), whose
  signatures then give the similarity. Earlier articles of the same batch are
  compared in memory (`RecentSignatures`), since the index makes them searchable
  only after its next refresh.

Both indices forget entries older than `dedup_horizon_days` (`expire_state`),
so the state stays bounded however long the stream runs.
"""

from __future__ import annotations

import heapq
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from elasticsearch import AsyncElasticsearch

from newsflow.errors import PermanentError, TransientError
from newsflow.es.bulk import BulkOp, BulkSender, ItemError
from newsflow.models import Article
from newsflow.settings import Settings
from newsflow.stages.neardup import Signature, similarity

CANDIDATES_PER_ARTICLE = 20
# Elasticsearch's defaults: index.max_terms_count (values in one `terms` query), index.max_result_window.
MAX_TERMS = 65_536
SEARCH_HITS = 10_000
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

    async def resolve(self, articles: Sequence[Article]) -> list[BulkOp]:
        """Set `near_duplicate_of` on each article that nearly repeats an earlier one; return the ops
        that record this batch's signatures (to be sent with the articles themselves)."""
        signed = [article for article in articles if article.signature is not None]
        if not signed:
            return []
        candidates = await self._stored_candidates(signed)
        now = datetime.now(UTC).isoformat()
        operations = []
        for article in signed:
            best = self._best_match(article, candidates[article.id] + self._recent.candidates(article))
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

    async def _stored_candidates(self, articles: list[Article]) -> dict[str, list[tuple[str, Signature]]]:
        """Per article: (original id, signature) of the CANDIDATES_PER_ARTICLE stored articles sharing the
        most bands with it (the more bands two signatures share, the more similar they are), ties in index
        order, itself excluded.

        One filter search for a group of articles (all their bands), sorted by `_doc`, not one scored
        search per article: the node's work is one pass over the bands' postings (a scored search per
        article cost it about four times as much), and each hit is counted for the articles sharing its bands."""
        candidates: dict[str, list[tuple[str, Signature]]] = {article.id: [] for article in articles}
        for group in band_groups(articles):
            await self._fill(group, candidates)
        return candidates

    async def _fill(self, group: list[Article], candidates: dict[str, list[tuple[str, Signature]]]) -> None:
        """Set the group's stored candidates. When its hits were cut off, an article's best matches may be
        among those not returned: the group searches again, half of it at a time (an article alone keeps
        the best of its first SEARCH_HITS matches)."""
        sharing: dict[str, list[Article]] = {}
        for article in group:
            for band in dict.fromkeys(article.signature.bands):
                sharing.setdefault(band, []).append(article)
        response = await self._sender.call(
            self._sender.client.search,
            index=self._index,
            size=SEARCH_HITS,
            sort=["_doc"],
            track_total_hits=False,
            source=["bands", "minhash", "shingles", "duplicate_of"],
            query={
                "bool": {
                    "filter": [
                        {"terms": {"bands": list(sharing)}},
                        {"range": {"seen_at": {"gte": self._horizon}}},
                    ]
                }
            },
        )
        hits = response["hits"]["hits"]
        if len(hits) == SEARCH_HITS and len(group) > 1:
            for half in (group[: len(group) // 2], group[len(group) // 2 :]):
                await self._fill(half, candidates)
            return
        # Article id -> (bands shared, negated, and index order) of each hit sharing a band with it.
        ranked: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for order, hit in enumerate(hits):
            shared = Counter(article.id for band in hit["_source"]["bands"] for article in sharing.get(band, ()))
            for article_id, count in shared.items():
                if article_id != hit["_id"]:
                    ranked[article_id].append((-count, order))
        signatures: dict[int, tuple[str, Signature]] = {}
        for article_id, ranks in ranked.items():
            best = [order for _, order in heapq.nsmallest(CANDIDATES_PER_ARTICLE, ranks)]
            for order in best:
                if order not in signatures:
                    source = hits[order]["_source"]
                    signature = Signature.decode(source["minhash"], source["shingles"])
                    signatures[order] = (source.get("duplicate_of") or hits[order]["_id"], signature)
            candidates[article_id] = [signatures[order] for order in best]


def band_groups(articles: list[Article]) -> Iterator[list[Article]]:
    """Consecutive articles whose bands together fit one `terms` query."""
    group: list[Article] = []
    bands = 0
    for article in articles:
        count = len(article.signature.bands)
        if group and bands + count > MAX_TERMS:
            yield group
            group, bands = [], 0
        group.append(article)
        bands += count
    if group:
        yield group


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
