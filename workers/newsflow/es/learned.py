"""State the workers learn from the stream, shared through Elasticsearch: outlet chrome and story rarity.

The learned-state index holds, per outlet, the boilerplate learner's memory (kind `boilerplate`),
and the story rarity weights' key counts in `FREQUENCY_SHARDS` documents by key hash plus one with
the article count (kind `frequencies`). A worker loads it at start, then every
`learned_state_flush_interval_s` and at a clean shutdown merges in what it learned since and reads
back what every worker learned.

Merging is read, merge in Python (the learners' pure merge functions, with their bounds), write
with `if_seq_no`/`if_primary_term` (optimistic concurrency): a document another worker changed
in between is read and merged again, so no worker's counts are lost or counted twice. Changes are
acknowledged to the learners document by document as they are stored; what a failed flush did not
store stays pending for the next one.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from newsflow.errors import TransientError
from newsflow.es.client import async_client
from newsflow.settings import Settings
from newsflow.stages.boilerplate import BoilerplateLearner
from newsflow.stories.scoring import DocumentFrequencies, merged_counts

log = logging.getLogger(__name__)

BOILERPLATE = "boilerplate"
FREQUENCIES = "frequencies"
# Key counts split by key hash: each document stays near max_keys / FREQUENCY_SHARDS keys (about 7,800,
# some 110 kB, by default) however many keys there are.
FREQUENCY_SHARDS = 64
DOCUMENTS_ID = f"{FREQUENCIES}:documents"
# Outlets changed by other workers are read back since the previous read, minus this much: covers the
# index refresh and clocks that differ between hosts.
READ_BACK_MARGIN = timedelta(minutes=1)
# Documents per mget and bulk: the state at the default bounds is some 20 MB, and 10,000 outlets would
# pass Elasticsearch's 100 MB request limit in one bulk. Requests of a few MB also keep the event loop
# free: at the default bounds its longest stall in a flush fell from 1.5 s to 0.4 s.
DOCUMENTS_PER_REQUEST = 32

ResultT = TypeVar("ResultT")
RunInLearnerThread = Callable[[Callable[[], ResultT]], Awaitable[ResultT]]


class Stored(NamedTuple):
    state: dict[str, Any] | None  # None: no such document yet
    seq_no: int | None
    primary_term: int | None


def outlet_id(outlet: str) -> str:
    # Hashed: an outlet name can exceed the 512-byte id limit.
    return f"{BOILERPLATE}:{hashlib.sha256(outlet.encode()).hexdigest()}"


def shard_id(shard: int) -> str:
    return f"{FREQUENCIES}:{shard:02d}"


def key_shard(key: str) -> int:
    """The shard of a key: stable across processes (unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") % FREQUENCY_SHARDS


class LearnedState:
    """The worker's side of the shared learned state, with its own client (`close` it). A learner
    given as None is not shared. `run_in_learner_thread` runs a call on the thread that enriches
    (the boilerplate learner is not shared across threads); the document frequencies are used on
    the event loop, where this runs."""

    def __init__(
        self,
        settings: Settings,
        learner: BoilerplateLearner | None,
        frequencies: DocumentFrequencies | None,
        run_in_learner_thread: RunInLearnerThread,
    ) -> None:
        self._client = async_client(settings)
        self._index = settings.learned_state_index
        self._learner = learner
        self._frequencies = frequencies
        self._run = run_in_learner_thread
        self._read_since: datetime | None = None
        self._loaded = False
        self._lock = asyncio.Lock()  # one flush at a time: the timer's, the first batch's, the shutdown's

    async def ready(self) -> None:
        """Load the shared state once, before the worker's first batch."""
        if self._loaded:  # every batch asks: it must not wait for a periodic flush
            return
        async with self._lock:
            if not self._loaded:
                await self._flush()
                self._loaded = True

    async def flush(self) -> None:
        """Merge what was learned since the last flush into the shared state and read it back (once
        loaded: a flush before would not read every outlet)."""
        async with self._lock:
            if self._loaded:
                await self._flush()

    async def close(self) -> None:
        await self._client.close()

    async def _flush(self) -> None:
        started = time.perf_counter()
        written = {}
        if self._learner is not None:
            written[BOILERPLATE] = await self._flush_boilerplate(self._learner)
        if self._frequencies is not None:
            written[FREQUENCIES] = await self._flush_frequencies(self._frequencies)
        log.info("learned state merged (documents written: %s) in %.2fs", written, time.perf_counter() - started)

    async def _flush_boilerplate(self, learner: BoilerplateLearner) -> int:
        read_at = datetime.now(UTC)
        pending = {outlet_id(entry["outlet"]): entry for entry in await self._run(learner.pending_changes)}
        stored: dict[str, Stored] = {}
        try:
            await self._merge(BOILERPLATE, pending, learner.merged_outlet, stored)
        finally:
            acknowledged = [pending[doc_id] for doc_id in stored]
            await self._run(lambda: learner.acknowledge(acknowledged))
        await self._forget_outlets_beyond(learner.max_outlets)
        others = await self._changed_outlets(self._read_since, learner.max_outlets)
        stored.update(others)  # read after this worker's writes: as new as them or newer
        entries = [found.state for found in stored.values() if found.state is not None]
        await self._run(lambda: learner.restore_outlets(entries))
        self._read_since = read_at - READ_BACK_MARGIN
        return len(pending)

    async def _changed_outlets(self, since: datetime | None, limit: int) -> dict[str, Stored]:
        """The outlets stored since then (all at first), at most `limit`, least recently changed first.
        Found by a search, read by ids: a search sees the index as of its last refresh, and an
        outlet's older version would take back what this worker has learned since."""
        query: dict[str, Any] = {"term": {"kind": BOILERPLATE}}
        if since is not None:
            query = {"bool": {"filter": [query, {"range": {"updated_at": {"gte": since.isoformat()}}}]}}
        response = await self._client.search(
            index=self._index, query=query, sort=[{"updated_at": "desc"}], size=limit, source=False
        )
        return await self._read([hit["_id"] for hit in reversed(response["hits"]["hits"])])

    async def _forget_outlets_beyond(self, limit: int) -> None:
        """Keep the stored outlets within the learner's bound: the least recently changed go."""
        query = {"term": {"kind": BOILERPLATE}}
        total = (await self._client.count(index=self._index, query=query))["count"]
        if total <= limit:
            return
        response = await self._client.search(
            index=self._index, query=query, sort=[{"updated_at": "asc"}], size=total - limit, source=False
        )
        operations = [{"delete": {"_id": hit["_id"]}} for hit in response["hits"]["hits"]]
        await self._client.bulk(index=self._index, operations=operations)

    async def _flush_frequencies(self, frequencies: DocumentFrequencies) -> int:
        documents, counts = frequencies.pending_changes()
        by_shard: dict[str, Counter[str]] = {shard_id(shard): Counter() for shard in range(FREQUENCY_SHARDS)}
        for key, count in counts.items():
            by_shard[shard_id(key_shard(key))][key] = count
        shard_limit = frequencies.max_keys // FREQUENCY_SHARDS

        def add_documents(state: dict[str, Any] | None, added: int) -> dict[str, Any]:
            return {"documents": _documents(state) + added}

        def add_counts(state: dict[str, Any] | None, added: Counter[str]) -> dict[str, Any]:
            return {"counts": dict(merged_counts(state["counts"] if state else {}, added, shard_limit))}

        changed = {doc_id: shard for doc_id, shard in by_shard.items() if shard}
        stored: dict[str, Stored] = {}
        try:
            if documents:
                await self._merge(FREQUENCIES, {DOCUMENTS_ID: documents}, add_documents, stored)
            await self._merge(FREQUENCIES, changed, add_counts, stored)
        finally:
            stored_counts = Counter()
            for doc_id in stored.keys() & changed.keys():
                stored_counts.update(changed[doc_id])
            frequencies.acknowledge(documents if DOCUMENTS_ID in stored else 0, stored_counts)
        stored.update(await self._read([doc_id for doc_id in [DOCUMENTS_ID, *by_shard] if doc_id not in stored]))
        total: dict[str, int] = {}
        for doc_id in by_shard:
            total.update((stored[doc_id].state or {}).get("counts", {}))
        frequencies.restore_merged(_documents(stored[DOCUMENTS_ID].state), total)
        return len(changed) + bool(documents)

    async def _read(self, doc_ids: list[str]) -> dict[str, Stored]:
        found: dict[str, Stored] = {}
        for start in range(0, len(doc_ids), DOCUMENTS_PER_REQUEST):
            chunk = doc_ids[start : start + DOCUMENTS_PER_REQUEST]
            response = await self._client.mget(index=self._index, ids=chunk)
            for doc in response["docs"]:
                found[doc["_id"]] = (
                    Stored(doc["_source"]["state"], doc["_seq_no"], doc["_primary_term"])
                    if doc.get("found")
                    else Stored(None, None, None)
                )
        return found

    async def _merge(
        self,
        kind: str,
        changes: Mapping[str, Any],
        merge: Callable[[dict[str, Any] | None, Any], dict[str, Any]],
        stored: dict[str, Stored],
    ) -> None:
        """Write each document's stored state merged with its changes; a document another worker wrote
        since it was read is read and merged again. Each document written is added to `stored` at once,
        so that a failure later on leaves only the unwritten changes pending."""
        for start in range(0, len(changes), DOCUMENTS_PER_REQUEST):
            remaining = dict(itertools.islice(changes.items(), start, start + DOCUMENTS_PER_REQUEST))
            while remaining:
                remaining = await self._write_merged(kind, remaining, merge, stored)

    async def _write_merged(
        self,
        kind: str,
        remaining: dict[str, Any],
        merge: Callable[[dict[str, Any] | None, Any], dict[str, Any]],
        stored: dict[str, Stored],
    ) -> dict[str, Any]:
        """One read-merge-write round over up to `DOCUMENTS_PER_REQUEST` documents; returns the
        changes of the documents another worker wrote in between (409), to merge again."""
        current = await self._read(list(remaining))
        operations: list[dict[str, Any]] = []
        merged: dict[str, dict[str, Any]] = {}
        for doc_id, (state, seq_no, primary_term) in current.items():
            merged[doc_id] = merge(state, remaining[doc_id])
            if state is None:
                operations.append({"create": {"_id": doc_id}})
            else:
                operations.append({"index": {"_id": doc_id, "if_seq_no": seq_no, "if_primary_term": primary_term}})
            operations.append(
                {
                    "kind": kind,
                    "name": merged[doc_id].get("outlet", doc_id),
                    "updated_at": datetime.now(UTC).isoformat(),
                    "state": merged[doc_id],
                }
            )
        response = await self._client.bulk(index=self._index, operations=operations)
        conflicts = {}
        for item in response["items"]:
            result = next(iter(item.values()))
            doc_id = result["_id"]
            if result["status"] == 409:
                conflicts[doc_id] = remaining[doc_id]
            elif result["status"] >= 300:
                raise TransientError(f"learned state {doc_id} not stored: {result.get('error')}")
            else:
                stored[doc_id] = Stored(merged[doc_id], result["_seq_no"], result["_primary_term"])
        return conflicts


def _documents(state: dict[str, Any] | None) -> int:
    return state["documents"] if state else 0
