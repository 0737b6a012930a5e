"""Part 6: search latency over a large index, through the real template and query builder.

Corpus articles are enriched by the worker's `Enricher` (light profile, no
duplicate or story state) and written by its `ArticleIndexer` (scripted
upserts, which also set the collapse keys) into a bench index made from the
real template, without the Kafka hop. Then a deterministic mix of
queries — English and Arabic words, pairs, quoted entity names, outlet and
language filters, date ranges, date sort and filtered browsing — goes through
`newsflow.search.search`, facets and highlights included, each timed at the
client.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from newsflow.bench import corpus
from newsflow.bench.e2e import percentile
from newsflow.bench.enrichment import chunks, profile_settings
from newsflow.es.client import async_client, sync_client
from newsflow.es.indexer import ArticleIndexer
from newsflow.models import Article
from newsflow.pipeline import Enricher
from newsflow.search import SearchRequest, entity_table, search
from newsflow.settings import Settings

LOAD_BATCH = 500
WARMUP_QUERIES = 50
QUERY_SEED = 7
_WORD = re.compile(r"\w{5,}")
# Function words are no queries; the list only needs the frequent long ones of the samples.
_COMMON = frozenset(
    ["about", "after", "their", "there", "which", "would", "could", "other", "these", "where", "while", "since"]
)
QUERY_MIX = [
    ("english word", 0.30),
    ("english pair", 0.15),
    ("arabic word", 0.15),
    ("entity phrase", 0.10),
    ("word + outlet", 0.10),
    ("word + language + dates", 0.05),
    ("browse outlet by date", 0.05),
    ("word by date", 0.10),
]


def search_settings(name_prefix: str) -> Settings:
    # Light enrichment; duplicate and story state are not what this part measures.
    return profile_settings("light", name_prefix=name_prefix, neardup_enabled=False, stories_enabled=False)


def load(settings: Settings, count: int) -> dict[str, Any]:
    """Enrich corpus articles from 0 on and write them as the worker does until the index holds
    `count` documents (an exact copy of an earlier article adds none: it is recorded on its original);
    enrichment of the next batch (in a thread) overlaps the writing of the current one."""
    enricher = Enricher(settings)

    def enrich(start: int, size: int) -> list[Article]:
        return enricher.enrich_batch(list(corpus.messages(size, start))).articles

    async def write(start: int, stop: int) -> None:
        es = async_client(settings)
        indexer = ArticleIndexer(es, settings)
        loop = asyncio.get_running_loop()
        batches = [(indices[0], len(indices)) for indices in chunks(range(start, stop), LOAD_BATCH)]
        try:
            with ThreadPoolExecutor(1) as pool:
                pending = loop.run_in_executor(pool, enrich, *batches[0])
                for following in [*batches[1:], None]:
                    articles = await pending
                    if following:
                        pending = loop.run_in_executor(pool, enrich, *following)
                    await indexer.index_batch(articles)
        finally:
            await es.close()

    started = time.perf_counter()
    articles = documents = 0
    with sync_client(settings) as es:
        while documents < count:
            asyncio.run(write(articles, articles + count - documents))
            articles += count - documents
            es.indices.refresh(index=settings.articles_alias)
            documents = es.count(index=settings.articles_alias)["count"]
    return {"articles": articles, "documents": documents, "seconds": time.perf_counter() - started}


def _vocabulary() -> dict[str, list[str]]:
    words = {}
    for language, sentences in corpus.sample_sentences().items():
        found = {w for s in sentences for w in _WORD.findall(s) if w.casefold() not in _COMMON and not w.isdigit()}
        words[language] = sorted(found)
    return words


def queries(count: int) -> list[tuple[str, SearchRequest]]:
    """`count` (kind, request) pairs drawn in the proportions of QUERY_MIX, the same every run."""
    rng = random.Random(QUERY_SEED)
    words = _vocabulary()
    names = [name for pairs in corpus.names().values() for pair in pairs for name in pair]
    outlets = [outlet.name for language in corpus.OUTLETS.values() for outlet in language]
    span_days = 30
    kinds, weights = zip(*QUERY_MIX, strict=True)
    result = []
    for kind in rng.choices(kinds, weights, k=count):
        word = rng.choice(words["ar"] if kind == "arabic word" else words["en"])
        since = corpus.FIRST_PUBLISHED + timedelta(days=rng.randrange(span_days))
        request = {
            "english word": SearchRequest(query=word),
            "english pair": SearchRequest(query=f"{word} {rng.choice(words['en'])}"),
            "arabic word": SearchRequest(query=word),
            "entity phrase": SearchRequest(query=f'"{rng.choice(names)}"'),
            "word + outlet": SearchRequest(query=word, outlets=[rng.choice(outlets)]),
            "word + language + dates": SearchRequest(
                query=word, languages=["en"], since=since, until=since + timedelta(days=7)
            ),
            "browse outlet by date": SearchRequest(outlets=[rng.choice(outlets)], sort="date"),
            "word by date": SearchRequest(query=word, sort="date"),
        }[kind]
        result.append((kind, request))
    return result


def baseline_body(request: SearchRequest) -> dict[str, Any]:
    """The floor of a search round trip: the same words as one `match` on `body` (or `match_all`),
    the same page size, without newsflow's per-language clauses, filters, facets, highlights or collapse."""
    query = {"match": {"body": request.query}} if request.query else {"match_all": {}}
    return {"query": query, "size": request.size}


def measure_queries(settings: Settings, count: int) -> dict[str, Any]:
    """Each planned query through `search`, each followed by its baseline, so both see the same load."""
    planned = queries(WARMUP_QUERIES + count)
    by_kind: dict[str, list[float]] = defaultdict(list)
    timings, baseline = [], []
    hits = 0
    entities = entity_table(tuple(settings.entity_files))  # as the CLI and the API pass it
    with sync_client(settings) as es:
        for position, (kind, request) in enumerate(planned):
            started = time.perf_counter()
            result = search(es, settings.articles_alias, request, entities)
            searched = time.perf_counter()
            es.search(index=settings.articles_alias, **baseline_body(request))
            elapsed, baseline_elapsed = searched - started, time.perf_counter() - searched
            if position >= WARMUP_QUERIES:
                timings.append(elapsed)
                baseline.append(baseline_elapsed)
                by_kind[kind].append(elapsed)
                hits += result["total"] > 0
    timings.sort()
    baseline.sort()
    p50, p99 = (1000 * percentile(timings, pct) for pct in (50, 99))
    base_p50, base_p99 = (1000 * percentile(baseline, pct) for pct in (50, 99))
    return {
        "queries": count,
        "with_hits": hits,
        "p50_ms": p50,
        "p99_ms": p99,
        "mean_ms": 1000 * sum(timings) / len(timings),
        "p50_ms_by_kind": {kind: 1000 * percentile(sorted(values), 50) for kind, values in by_kind.items()},
        "baseline": {"name": "one-field match, same words and page size", "p50_ms": base_p50, "p99_ms": base_p99},
        "p50_vs_baseline": p50 / base_p50,
        "p99_vs_baseline": p99 / base_p99,
    }


def run(settings: Settings, documents: int, query_count: int) -> dict[str, Any]:
    loaded = load(settings, documents)
    return {"load": loaded, **measure_queries(settings, query_count)}
