"""Story state shared by every worker: the stories index.

Per batch: the story ids the articles (and the originals of duplicates) already
have are read from the articles index, so a re-delivered article keeps its
story and a copy joins its original's. A worker holds the recent stories in
memory and follows the index: at its first batch it loads the stories active
last, and before every batch it reads those another worker changed (found by
the node's update time). An article whose candidates all lie within what it
holds is placed from memory; the others (late articles, or a worker holding
fewer stories than the index has in their window) look up candidate stories
with one `msearch`: stories active within the window around the article that
share its rarest keys (weighted `term` clauses) or, with embeddings, lie
nearest to it (kNN on the centroid). `StoryAssigner` scores them and decides;
the story updates go out in the same bulk as the articles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from newsflow.errors import TransientError
from newsflow.es.bulk import BulkOp, BulkSender
from newsflow.es.indices import script_id
from newsflow.models import Article
from newsflow.settings import Settings
from newsflow.stories.assign import Assignment, StoryAssigner, seen_at
from newsflow.stories.scoring import (
    ENTITY_PREFIX,
    NUMBER_PREFIX,
    STORY_KEYS,
    STORY_TERMS,
    DocumentFrequencies,
    Story,
)

# Key clauses per candidate query, rarest first: enough to find the story, cheap for the index.
QUERY_KEYS = 60
KNN_CANDIDATES = 50
# Elasticsearch's default index.max_result_window: the most hits one search returns.
MAX_RESULT_WINDOW = 10_000
# Stories updated this long before the latest update a worker has seen are read again when it follows
# the index: an update is applied before it is searchable (the refresh interval, a busy node).
FOLLOW_LAG = timedelta(seconds=30)
FOLLOW_PAGE = 1000
# Ids of a story's latest articles kept in its document (at least all of one update's), so that an
# update applied twice (its bulk re-sent after the answer was lost) counts each article once.
RECENT_MEMBERS = 100


def iso_time(moment: datetime) -> str:
    """One fixed ISO-8601 UTC form, so that the update script can compare times as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def key_clause(key: str, weight: float) -> dict[str, Any]:
    """A `term` clause on the stories-index field holding this story key, boosted by its rarity."""
    field, value = "terms", key
    for prefix, prefixed_field in ((ENTITY_PREFIX, "entity_ids"), (NUMBER_PREFIX, "numbers")):
        if key.startswith(prefix):
            field, value = prefixed_field, key[len(prefix) :]
    return {"term": {field: {"value": value, "boost": weight}}}


def story_from_source(source: dict[str, Any]) -> Story:
    counts = source.get("counts", {})
    centroid = source.get("centroid")
    return Story(
        id=source["story_id"],
        first_seen=datetime.fromisoformat(source["first_seen"]),
        last_seen=datetime.fromisoformat(source["last_seen"]),
        article_count=source["article_count"],
        entities=Counter(counts.get("entities", {})),
        numbers=Counter(counts.get("numbers", {})),
        terms=Counter(counts.get("terms", {})),
        language_counts=Counter(counts.get("languages", {})),
        outlets=set(source.get("outlets", [])),
        centroid=np.asarray(centroid, dtype=np.float32) if centroid else None,
        embedded_count=source.get("embedded_count", 0),
    )


class Stories:
    def __init__(
        self,
        sender: BulkSender,
        settings: Settings,
        articles_alias: str,
        frequencies: DocumentFrequencies | None = None,
    ) -> None:
        self._sender = sender
        self._index = settings.stories_index
        self._articles = articles_alias
        self._candidates = settings.story_candidates
        self._script = script_id(settings, "update_story")
        self.assigner = StoryAssigner(settings, frequencies)
        # The node's time of the latest story update this worker has read (epoch ms); None before it
        # has loaded the stories, 0 when there were none.
        self._followed_to: int | None = None

    async def resolve(
        self, articles: Sequence[Article], owners: dict[str, str], looked_up: Mapping[str, str | None]
    ) -> list[BulkOp]:
        """Set `story_id` on every article that has story features; return the story updates.

        `owners`: content hash -> the article owning that text; a syndicated copy joins its owner's
        story and a near duplicate its original's. `looked_up`: article id -> its stored story id (None:
        not stored, or in no story), for articles the caller has read already. The caller has run `follow`
        for this batch."""
        placed = [article for article in articles if article.story_features is not None]
        if not placed:
            return []
        now = datetime.now(UTC)
        originals = {article.id: self._original(article, owners) for article in placed}
        known = await self._known_story_ids([*originals, *filter(None, originals.values())], looked_up)
        prepared = {article.id: self.assigner.prepare(article.story_features) for article in placed}
        whens = {article.id: seen_at(article, now) for article in placed}
        held_from = self.assigner.held_from(list(whens.values()), now)
        searching = [
            article
            for article in placed
            if article.id not in known
            and originals[article.id] not in known
            and not self.assigner.holds_candidates(whens[article.id], held_from)
        ]
        stored = await self._stored_candidates(searching, prepared, now)
        assigned: dict[str, str] = {}
        # Story id -> what the batch adds to it, in order: one update per story, not one per article
        # (each update rewrites the whole story document).
        changes: dict[str, list[tuple[Article, dict[str, Any]]]] = {}
        # Originals first, so that their copies in the same batch find their story.
        for article in sorted(placed, key=lambda a: originals[a.id] is not None):
            original = originals[article.id]
            owner_story = assigned.get(original) or known.get(original)
            if owner_story and owners.get(article.content_hash, article.id) != article.id:
                # A syndicated copy has no document of its own: it lends its outlet, not another count.
                article.story_id = owner_story
                changes.setdefault(owner_story, []).append((article, self._copy_change(article)))
                continue
            known_story = known.get(article.id) or owner_story
            key_terms = prepared[article.id][0]
            assignment = self.assigner.assign(
                article, article.story_features, key_terms, stored.get(article.id, []), now, known_story
            )
            article.story_id = assigned[article.id] = assignment.story_id
            if known.get(article.id) is None:  # a re-delivered article is already counted in its story
                changes.setdefault(assignment.story_id, []).append((article, self._article_change(assignment)))
        return [self._update_op(story_id, story_changes) for story_id, story_changes in changes.items()]

    @staticmethod
    def _original(article: Article, owners: dict[str, str]) -> str | None:
        owner = owners.get(article.content_hash, article.id)
        if owner != article.id:
            return owner
        return article.near_duplicate_of

    async def _known_story_ids(self, article_ids: list[str], looked_up: Mapping[str, str | None]) -> dict[str, str]:
        """article id -> its story id, for the given articles already placed (in memory or indexed)."""
        known = {
            article_id: self.assigner.story_of(article_id) or looked_up.get(article_id)
            for article_id in set(article_ids)
        }
        missing = sorted(
            article_id for article_id, story_id in known.items() if story_id is None and article_id not in looked_up
        )
        if missing:
            # A search, not mget: the alias spans two indices while a migration runs.
            response = await self._sender.call(
                self._sender.client.search,
                index=self._articles,
                query={"ids": {"values": missing}},
                source=["story_id"],
                size=len(missing),
            )
            for hit in response["hits"]["hits"]:
                known[hit["_id"]] = hit["_source"].get("story_id")
        return {article_id: story_id for article_id, story_id in known.items() if story_id}

    async def follow(self) -> None:
        """Hold the stories stored or changed since this worker last looked, as the index has them: before
        each batch is resolved (`resolve` relies on it), concurrently with the batch's other first reads."""
        if self._followed_to is None:
            await self._load()
            return
        query = {"range": {"updated_at": {"gte": max(0, self._followed_to - int(FOLLOW_LAG.total_seconds() * 1000))}}}
        after: list[Any] | None = None
        while True:
            response = await self._sender.call(
                self._sender.client.search,
                index=self._index,
                query=query,
                sort=[{"updated_at": "asc"}, {"story_id": "asc"}],
                size=FOLLOW_PAGE,
                source=False,
                docvalue_fields=["article_count"],
                track_total_hits=False,
                search_after=after,
            )
            hits = response["hits"]["hits"]
            await self._hold(hits)
            if hits:
                self._followed_to = max(self._followed_to, hits[-1]["sort"][0])
            if len(hits) < FOLLOW_PAGE:
                return
            after = hits[-1]["sort"]

    async def _load(self) -> None:
        """Hold the stories active last, as many as memory holds; note where that leaves off."""
        capacity = self.assigner.recent.capacity
        response = await self._sender.call(
            self._sender.client.search,
            index=self._index,
            sort=[{"last_seen": "desc"}, {"story_id": "asc"}],
            size=capacity + 1,
            source=False,
            docvalue_fields=["article_count"],
            track_total_hits=False,
            aggs={"followed_to": {"max": {"field": "updated_at"}}},
        )
        hits = response["hits"]["hits"]
        if len(hits) > capacity:
            hits = hits[:capacity]
            self.assigner.recent.left_out(datetime.fromtimestamp(hits[-1]["sort"][0] / 1000, UTC))
        # Oldest first: the least recently active are the first forgotten.
        await self._hold(hits[::-1])
        self._followed_to = int(response["aggregations"]["followed_to"]["value"] or 0)

    async def _hold(self, hits: list[dict[str, Any]]) -> None:
        """Hold the stored stories found, in order, unless this worker holds them at least as complete."""
        stored_counts = {hit["_id"]: hit["fields"]["article_count"][0] for hit in hits}
        for story_id, story in (await self._current(stored_counts)).items():
            if self.assigner.recent.get(story_id) is not story:
                self.assigner.recent.put(story)

    async def _current(self, stored_counts: dict[str, int]) -> dict[str, Story]:
        """Story id -> the story as it is now, in the given order: the one this worker holds when it holds at
        least the stored article count (it is the fresher copy: its large source is not read), else the
        stored one, read once."""
        held = {
            story_id: story
            for story_id, count in stored_counts.items()
            if (story := self.assigner.recent.get(story_id)) is not None and story.article_count >= count
        }
        sources = await self._sources(stored_counts.keys() - held.keys())
        return {
            story_id: held[story_id] if story_id in held else story_from_source(sources[story_id])
            for story_id in stored_counts
            if story_id in held or story_id in sources
        }

    async def _stored_candidates(
        self, articles: list[Article], prepared: dict[str, tuple[list[str], list[str]]], now: datetime
    ) -> dict[str, list[Story]]:
        if not articles:
            return {}
        searches: list[dict[str, Any]] = []
        for article in articles:
            searches.append({"index": self._index})
            searches.append(self._candidate_query(article, prepared[article.id][1], now))
        response = await self._sender.call(self._sender.client.msearch, searches=searches)
        found: dict[str, list[str]] = {}
        stored_counts: dict[str, int] = {}
        for article, result in zip(articles, response["responses"], strict=True):
            if "error" in result:
                raise TransientError(f"story lookup failed: {result['error']}")
            found[article.id] = [hit["_id"] for hit in result["hits"]["hits"]]
            stored_counts.update((hit["_id"], hit["fields"]["article_count"][0]) for hit in result["hits"]["hits"])
        # Once per batch: one Story per stored story, shared by the articles that found it (the assigner
        # folds an article into a copy), so that its weighted keys are computed once.
        stories = await self._current(stored_counts)
        return {
            article_id: [stories[story_id] for story_id in story_ids if story_id in stories]
            for article_id, story_ids in found.items()
        }

    async def _sources(self, story_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored stories by id, each read once per batch however many articles found it (a story's
        source is large: most of a candidate search's cost). A search, like the candidate search: the
        same refreshed view, and no real-time get that would refresh the index."""
        ids = sorted(story_ids)
        sources: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), MAX_RESULT_WINDOW):
            chunk = ids[start : start + MAX_RESULT_WINDOW]
            response = await self._sender.call(
                self._sender.client.search, index=self._index, query={"ids": {"values": chunk}}, size=len(chunk)
            )
            sources.update((hit["_id"], hit["_source"]) for hit in response["hits"]["hits"])
        return sources

    def _candidate_query(self, article: Article, keys: list[str], now: datetime) -> dict[str, Any]:
        when, window = seen_at(article, now), self.assigner.window
        active = [
            {"range": {"last_seen": {"gte": iso_time(when - window)}}},
            {"range": {"first_seen": {"lte": iso_time(when + window)}}},
        ]
        idf = self.assigner.scorer.frequencies.idf
        rarest = sorted(keys, key=idf, reverse=True)[:QUERY_KEYS]
        body: dict[str, Any] = {
            "size": self._candidates,
            "_source": False,  # read once per batch by `_sources`, when this worker does not hold the story
            "docvalue_fields": ["article_count"],
            # No hit count: the best few are found without visiting every story that shares a common key.
            "track_total_hits": False,
            "query": {
                "bool": {
                    "filter": active,
                    "should": [key_clause(key, idf(key)) for key in rarest],
                    "minimum_should_match": 1,
                }
            },
        }
        embedding = article.story_features.embedding
        if embedding is not None:
            body["knn"] = {
                "field": "centroid",
                "query_vector": embedding.tolist(),
                "k": self._candidates,
                "num_candidates": KNN_CANDIDATES,
                "filter": active,
            }
        return body

    @staticmethod
    def _copy_change(article: Article) -> dict[str, Any]:
        return {"copy": {"outlet": article.outlet, "language": article.story_features.language}}

    @staticmethod
    def _article_change(assignment: Assignment) -> dict[str, Any]:
        article = assignment.article
        features = article.story_features
        embedding = features.embedding
        return {
            "article": {
                "id": article.id,
                "title": article.title,
                "seen_at": iso_time(assignment.seen_at),
                "outlet": article.outlet,
                "language": features.language,
                "entities": sorted(features.entities),
                "numbers": sorted(features.numbers),
                "terms": assignment.key_terms,
                "embedding": [round(float(value), 6) for value in embedding] if embedding is not None else None,
            }
        }

    def _update_op(self, story_id: str, changes: list[tuple[Article, dict[str, Any]]]) -> BulkOp:
        params = {
            "story_id": story_id,
            "max_keys": STORY_KEYS,
            "max_terms": STORY_TERMS,
            "max_members": max(RECENT_MEMBERS, len(changes)),
            "changes": [change for _, change in changes],
        }
        return BulkOp(
            changes[0][0],
            {"update": {"_index": self._index, "_id": story_id, "retry_on_conflict": 5}},
            {"scripted_upsert": True, "upsert": {}, "script": {"id": self._script, "params": params}},
        )
