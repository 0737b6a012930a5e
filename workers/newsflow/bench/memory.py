"""Part 5: does the worker's in-memory state stay bounded over a long stream?

The long run drives, with the real code, every part of the worker that keeps
state from one article to the next: the boilerplate learner (what
`BoilerplateRemover.clean` records per outlet) and the near-duplicate memory
(`RecentSignatures`, fed with real MinHash signatures). Stateless stages are
left out so that a million articles take minutes. It runs in a child process
(`python -m newsflow.bench.memory`), so its RSS is that of this path alone;
the worker's own RSS is sampled during the end-to-end runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

import orjson

from newsflow.bench import corpus
from newsflow.bench.e2e import rss_bytes
from newsflow.errors import NewsflowError
from newsflow.es.dedup import RECENT_SIGNATURES, RecentSignatures
from newsflow.models import SourceMessage
from newsflow.settings import Settings
from newsflow.stages.boilerplate import BoilerplateLearner, line_key
from newsflow.stages.extract import extract
from newsflow.stages.neardup import near_duplicate_signer, sign_near_duplicates
from newsflow.stages.normalise import normalise
from newsflow.stages.validate import parse_message

BATCH = 500
SAMPLES = 20


def deep_size(root: object) -> int:
    """Bytes of everything reachable from `root` (shared objects once; classes, modules and functions not)."""
    seen: set[int] = set()
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


def long_run(articles: int, samples: int, on_sample: Callable[[dict[str, Any]], None]) -> None:
    settings = Settings()
    learner = BoilerplateLearner.from_settings(settings)
    recent = RecentSignatures(RECENT_SIGNATURES)
    signer = near_duplicate_signer()
    every = max(BATCH, articles // samples // BATCH * BATCH)
    started = time.perf_counter()
    for start in range(0, articles, BATCH):
        batch = []
        for index in range(start, min(articles, start + BATCH)):
            message = SourceMessage(orjson.dumps(corpus.article(index)), None, "bench", 0, index)
            article = parse_message(
                message, max_message_bytes=settings.max_message_bytes, max_body_chars=settings.max_body_chars
            )
            batch.append(extract(normalise(article)))
        for article in batch:
            learner.observe(article.outlet, article.id, (line_key(line) for line in article.text.split("\n")))
        sign_near_duplicates(batch, signer)
        for article in batch:
            recent.candidates(article)
            recent.add(article)
        done = start + len(batch)
        if done % every == 0 or done == articles:
            on_sample(
                {
                    "articles": done,
                    "seconds": time.perf_counter() - started,
                    "rss_bytes": rss_bytes(os.getpid()),
                    "recent_signatures_bytes": deep_size(recent),
                    "recent_signatures_entries": len(recent),
                    "boilerplate_learner_bytes": deep_size(learner),
                }
            )


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Growth after the near-duplicate memory reached its bound (the learner's bounds come sooner),
    and state per article held."""
    bounded = next(
        (sample for sample in samples if sample["recent_signatures_entries"] >= RECENT_SIGNATURES), samples[-1]
    )
    last = samples[-1]
    entries = last["recent_signatures_entries"]
    return {
        "articles": last["articles"],
        "seconds": last["seconds"],
        "bounded_at_articles": bounded["articles"],
        "rss_mb": {
            name: sample["rss_bytes"] / 2**20
            for name, sample in (("first", samples[0]), ("bounded", bounded), ("last", last))
        },
        "rss_growth_after_bound_mb": (last["rss_bytes"] - bounded["rss_bytes"]) / 2**20,
        "recent_signatures": {
            "entries": entries,
            "bytes": last["recent_signatures_bytes"],
            "bytes_per_article": last["recent_signatures_bytes"] / entries if entries else float("nan"),
            "growth_after_bound_bytes": last["recent_signatures_bytes"] - bounded["recent_signatures_bytes"],
        },
        "boilerplate_learner": {
            "bytes": last["boilerplate_learner_bytes"],
            "growth_after_bound_bytes": last["boilerplate_learner_bytes"] - bounded["boilerplate_learner_bytes"],
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
