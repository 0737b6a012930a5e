"""Part 5: does the worker's in-memory state stay bounded over a long stream?

The long run sends generated articles through the worker's own enrichment
chain (`Enricher`, light profile) and, with the real code, every part of the
worker that keeps state from one article to the next: the boilerplate learner
(what `BoilerplateRemover.clean` records per outlet), the near-duplicate memory
(`RecentSignatures`, fed with the chain's MinHash signatures) and the story
state (one `StoryAssigner`, fed batch by batch as `Stories.resolve` does when
the stories index has no candidates: its held stories, bounded by count and
by time, the story of each article placed lately, the document frequencies).
Elasticsearch is left out. It runs in a child process (`python -m
newsflow.bench.memory`), so its RSS is that of this path alone; the worker's
own RSS is sampled during the end-to-end runs.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

import orjson

from newsflow.bench import corpus, enrichment
from newsflow.bench.e2e import rss_bytes
from newsflow.errors import NewsflowError
from newsflow.es.dedup import RECENT_SIGNATURES, RecentSignatures
from newsflow.models import Article
from newsflow.pipeline import Enricher
from newsflow.stages.boilerplate import BoilerplateLearner
from newsflow.stories.assign import HELD_WINDOWS, PLACED_PER_STORY, RECENT_STORIES, StoryAssigner
from newsflow.stories.scoring import MAX_FREQUENCY_KEYS

BATCH = 500
SAMPLES = 20


def deep_size(root: object, seen: set[int] | None = None) -> int:
    """Bytes of everything reachable from `root` (shared objects once; classes, modules and functions not).
    Objects whose id is in `seen` are not counted; those counted are added to it."""
    seen = set() if seen is None else seen
    stack = [root]
    size = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | ModuleType | FunctionType):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
        if isinstance(obj, dict):
            # The collector does not visit a dict's string keys (they cannot hold a cycle).
            stack.extend(obj)
    return size


def place_stories(assigner: StoryAssigner, articles: list[Article]) -> None:
    """As `Stories.resolve` places a batch with no stored candidates and no known stories: the batch's
    key frequencies first, then each article joins a held story or opens one."""
    placed = [article for article in articles if article.story_features is not None]
    key_terms = [assigner.prepare(article.story_features)[0] for article in placed]
    # The stream's clock, not this machine's: a live worker meets an article once it is published, and
    # the generated dates pass today after ~630,000 articles (a worker takes a date past now for a wrong one).
    now = max((article.published_at for article in placed if article.published_at), default=datetime.now(UTC))
    for article, terms in zip(placed, key_terms, strict=True):
        assigner.assign(article, article.story_features, terms, [], now)


def story_state_sizes(assigner: StoryAssigner) -> dict[str, int]:
    """Bytes and entries of each part of the assigner's state; an object two parts share counts in the first."""
    seen: set[int] = set()
    sizes = {}
    for name, part in (
        ("held_stories", assigner.recent),
        ("placed_ids", assigner.placed),
        ("document_frequencies", assigner.scorer.frequencies),
    ):
        sizes[f"{name}_bytes"] = deep_size(part, seen)
        sizes[f"{name}_entries"] = len(part)
    return sizes


def long_run(articles: int, samples: int, on_sample: Callable[[dict[str, Any]], None]) -> None:
    settings = enrichment.profile_settings("light")
    learner = BoilerplateLearner.from_settings(settings)
    enricher = Enricher(settings, learner)
    recent = RecentSignatures(RECENT_SIGNATURES)
    assigner = StoryAssigner(settings)
    every = max(BATCH, articles // samples // BATCH * BATCH)
    started = time.perf_counter()
    for start in range(0, articles, BATCH):
        count = min(BATCH, articles - start)
        batch = enricher.enrich_batch(list(corpus.messages(count, start))).articles
        for article in batch:
            recent.candidates(article)
            recent.add(article)
        place_stories(assigner, batch)
        done = start + count
        if done % every == 0 or done == articles:
            on_sample(
                {
                    "articles": done,
                    "seconds": time.perf_counter() - started,
                    "rss_bytes": rss_bytes(os.getpid()),
                    "recent_signatures_bytes": deep_size(recent),
                    "recent_signatures_entries": len(recent),
                    "boilerplate_learner_bytes": deep_size(learner),
                    **story_state_sizes(assigner),
                }
            )


def state_part(
    samples: list[dict[str, Any]], name: str, bound: int, bounded_from_articles: int | None = None
) -> dict[str, Any]:
    """A part's size at the end, per entry held, and its growth since it first held `bound` entries or,
    for a part also bounded by time, since `bounded_from_articles` articles (None: neither in this run)."""
    bounded = next(
        (
            sample
            for sample in samples
            if sample[f"{name}_entries"] >= bound
            or (bounded_from_articles is not None and sample["articles"] >= bounded_from_articles)
        ),
        None,
    )
    last = samples[-1]
    entries, size = last[f"{name}_entries"], last[f"{name}_bytes"]
    return {
        "entries": entries,
        "bytes": size,
        "bytes_per_entry": size / entries if entries else float("nan"),
        "bounded_at_articles": None if bounded is None else bounded["articles"],
        "growth_after_bound_bytes": None if bounded is None else size - bounded[f"{name}_bytes"],
    }


def articles_holding_stories() -> int:
    """How many bench articles span the time a worker holds a story (their dates are PUBLISHED_STEP apart)."""
    held_for = HELD_WINDOWS * timedelta(hours=enrichment.profile_settings("light").story_window_hours)
    return math.ceil(held_for / corpus.PUBLISHED_STEP)


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Growth after the near-duplicate memory reached its bound (the learner's bounds come sooner),
    and per part of the state its size per entry held and growth after its own bound."""
    bounded = next(
        (sample for sample in samples if sample["recent_signatures_entries"] >= RECENT_SIGNATURES), samples[-1]
    )
    last = samples[-1]
    return {
        "articles": last["articles"],
        "seconds": last["seconds"],
        "bounded_at_articles": bounded["articles"],
        "rss_mb": {
            name: sample["rss_bytes"] / 2**20
            for name, sample in (("first", samples[0]), ("bounded", bounded), ("last", last))
        },
        "rss_growth_after_bound_mb": (last["rss_bytes"] - bounded["rss_bytes"]) / 2**20,
        "recent_signatures": state_part(samples, "recent_signatures", RECENT_SIGNATURES),
        "boilerplate_learner": {
            "bytes": last["boilerplate_learner_bytes"],
            "growth_after_bound_bytes": last["boilerplate_learner_bytes"] - bounded["boilerplate_learner_bytes"],
        },
        "story_state": {
            "held_stories": state_part(samples, "held_stories", RECENT_STORIES, articles_holding_stories()),
            "placed_ids": state_part(samples, "placed_ids", RECENT_STORIES * PLACED_PER_STORY),
            "document_frequencies": state_part(samples, "document_frequencies", MAX_FREQUENCY_KEYS),
        },
        "samples": samples,
    }


def run(articles: int, log_path: Path, on_progress: Callable[[str], None]) -> dict[str, Any]:
    """The long run in a child process. Its samples come back as JSON lines on stdout; each is also
    written to `log_path` and reported as it comes, so that a run of tens of minutes shows its
    progress and one cut short still leaves its samples."""
    command = [sys.executable, "-m", "newsflow.bench.memory", "--articles", str(articles), "--samples", str(SAMPLES)]
    samples = []
    with log_path.open("wb") as log, subprocess.Popen(command, stdout=subprocess.PIPE) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith(b"{"):
                log.write(line)
                log.flush()
                sample = orjson.loads(line)
                samples.append(sample)
                on_progress(f"memory: {sample['articles']:,} articles, RSS {sample['rss_bytes'] / 2**20:.0f} MB")
    if child.returncode:
        raise NewsflowError(f"memory benchmark exited with {child.returncode} after {len(samples)} samples")
    return summarise(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, required=True)
    parser.add_argument("--samples", type=int, default=SAMPLES)
    options = parser.parse_args()
    long_run(options.articles, options.samples, lambda sample: print(orjson.dumps(sample).decode(), flush=True))


if __name__ == "__main__":
    main()
