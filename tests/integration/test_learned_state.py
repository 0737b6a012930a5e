"""Learned state shared through the real Elasticsearch node: outlet chrome and story rarity weights
survive a worker restart, and workers merging at the same time lose no counts.

The worker tests run real worker processes (light profile, so that they start fast) one after the
other on the module's deployment: the first learns an outlet's footer, stops cleanly (which flushes),
and the next one, a fresh process, strips that footer from the first article it sees.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import orjson
import pytest

from newsflow.es.client import async_client
from newsflow.es.learned import DOCUMENTS_ID, FREQUENCY_SHARDS, LearnedState, key_shard, outlet_id, shard_id
from newsflow.settings import Settings
from newsflow.stages.boilerplate import BoilerplateLearner, line_key
from newsflow.stories.scoring import DocumentFrequencies
from newsflow.urls import article_id
from newsflow.worker.process import WorkerProcess
from tests.outlet_chrome import BODIES, FOOTER, with_footer

from .conftest import ingest, isolated_deployment

pytestmark = pytest.mark.integration

ResultT = TypeVar("ResultT")

OUTLET = "Valley Courier"
AFTER_RESTART = (
    "The library reopened on Thursday after a year of renovation, with a new reading room for children.\n"
    "Visitors queued from early morning, and the mayor said the building would stay open on Sundays."
)


@pytest.fixture(scope="module")
def settings(local_services: dict) -> Iterator[Settings]:
    with isolated_deployment(local_services, entities_model_ner=False, story_embeddings=False) as settings:
        yield settings


def article(outlet: str, slug: str, body: str) -> dict:
    return {
        "schema_version": 1,
        "url": f"https://{outlet.lower().replace(' ', '')}.example/{slug}",
        "outlet": outlet,
        "title": slug.replace("-", " ").capitalize(),
        "body": with_footer(body),
    }


def write_input(path: Path, articles: list[dict]) -> str:
    path.write_bytes(b"".join(orjson.dumps(item) + b"\n" for item in articles))
    return str(path)


def stored_state(es, settings: Settings, doc_id: str) -> dict:
    return es.get(index=settings.learned_state_index, id=doc_id)["_source"]["state"]


def test_a_restarted_worker_strips_learned_chrome_and_keeps_the_rarity_weights(settings, es, tmp_path):
    learning = [article(OUTLET, f"story-{number}", body) for number, body in enumerate(BODIES)]
    first = WorkerProcess(settings, tmp_path / "first.log")
    try:
        ingest(settings, first, [write_input(tmp_path / "learning.jsonl", learning)])
    finally:
        first.stop()  # a clean shutdown: what it learned since its last flush is merged in
    assert first.process.returncode == 0, first.log()[-3000:]

    courier = stored_state(es, settings, outlet_id(OUTLET))
    assert courier["articles_seen"] == len(BODIES)
    assert [articles for key, articles, _ in courier["lines"] if key == line_key(FOOTER)] == [len(BODIES)]
    assert stored_state(es, settings, DOCUMENTS_ID) == {"documents": len(BODIES)}

    # What a worker loads at start: the rarity weights of what the first worker saw, not flat ones.
    counts: dict[str, int] = {}
    shards = es.mget(index=settings.learned_state_index, ids=[shard_id(shard) for shard in range(FREQUENCY_SHARDS)])
    for shard in shards["docs"]:
        counts.update(shard["_source"]["state"]["counts"] if shard["found"] else {})
    frequencies = asyncio.run(loaded_frequencies(settings))
    assert frequencies.documents == len(BODIES)
    everywhere = next(key for key, count in counts.items() if count == len(BODIES))  # the footer's words
    once = next(key for key, count in counts.items() if count == 1)
    assert frequencies.idf(everywhere) == 1.0
    assert frequencies.idf(once) == pytest.approx(math.log((1 + len(BODIES)) / 2) + 1)

    after = [article(OUTLET, "library-reopens", AFTER_RESTART), article("Hill Gazette", "library", AFTER_RESTART)]
    second = WorkerProcess(settings, tmp_path / "second.log")
    try:
        ingest(settings, second, [write_input(tmp_path / "after.jsonl", after)])
    finally:
        second.stop()
    assert second.process.returncode == 0, second.log()[-3000:]
    es.indices.refresh(index=settings.articles_alias)
    hits = es.search(index=settings.articles_alias, query={"ids": {"values": [article_id(a["url"]) for a in after]}})
    documents = {hit["_source"]["outlet"]: hit["_source"] for hit in hits["hits"]["hits"]}
    # The new process's first article of the outlet loses the footer that the other process learned ...
    assert FOOTER not in documents[OUTLET]["body"]
    assert documents[OUTLET]["boilerplate_lines_removed"] == 1
    assert AFTER_RESTART.split("\n")[1] in documents[OUTLET]["body"]
    # ... which one article alone cannot tell from the article: another outlet's copy keeps it.
    assert FOOTER in documents["Hill Gazette"]["body"]
    # Both processes' counts are in the shared state: merged, not overwritten.
    assert stored_state(es, settings, outlet_id(OUTLET))["articles_seen"] == len(BODIES) + 1
    assert stored_state(es, settings, DOCUMENTS_ID) == {"documents": len(BODIES) + len(after)}


async def loaded_frequencies(settings: Settings) -> DocumentFrequencies:
    frequencies = DocumentFrequencies(record_changes=True)
    learned = LearnedState(settings, None, frequencies, run_here)
    try:
        await learned.ready()
    finally:
        await learned.close()
    return frequencies


async def run_here(call: Callable[[], ResultT]) -> ResultT:
    return call()


def test_workers_flushing_at_the_same_time_lose_no_counts(local_services):
    rounds, workers = 5, 3
    with isolated_deployment(local_services) as settings:
        courier, documents, outlet_key_count, seen_by_each = asyncio.run(flush_concurrently(settings, rounds, workers))
    assert courier["articles_seen"] == rounds * workers
    assert [articles for key, articles, _ in courier["lines"] if key == "footer"] == [rounds * workers]
    assert documents == outlet_key_count == rounds * workers
    assert seen_by_each == [rounds * workers] * workers


async def flush_concurrently(settings: Settings, rounds: int, workers: int) -> tuple[dict, int, int, list[int]]:
    """`workers` learners each counting one article per round, all flushing at once after each round;
    returns the stored outlet, article count and count of the key every article has, and the article
    count each learner took back after a last flush."""
    learners = [BoilerplateLearner.from_settings(settings, record_changes=True) for _ in range(workers)]
    frequencies = [DocumentFrequencies(record_changes=True) for _ in range(workers)]
    states = [LearnedState(settings, *pair, run_here) for pair in zip(learners, frequencies, strict=True)]
    client = async_client(settings)
    try:
        await asyncio.gather(*(state.ready() for state in states))
        for round_number in range(rounds):
            for worker, (learner, counts) in enumerate(zip(learners, frequencies, strict=True)):
                learner.observe(OUTLET, f"{worker}-{round_number}", ["footer", f"line {worker} {round_number}"])
                counts.add(["e:valley-courier", f"n:{worker}{round_number}"])
            await asyncio.gather(*(state.flush() for state in states))
        for state in states:  # one after the other: each reads back what all the others stored
            await state.flush()
        assert all(learner.is_repeated(OUTLET, "footer") for learner in learners)
        index = settings.learned_state_index
        courier = (await client.get(index=index, id=outlet_id(OUTLET)))["_source"]["state"]
        documents = (await client.get(index=index, id=DOCUMENTS_ID))["_source"]["state"]["documents"]
        shard = (await client.get(index=index, id=shard_id(key_shard("e:valley-courier"))))["_source"]["state"]
        return courier, documents, shard["counts"]["e:valley-courier"], [counts.documents for counts in frequencies]
    finally:
        await client.close()
        await asyncio.gather(*(state.close() for state in states))
