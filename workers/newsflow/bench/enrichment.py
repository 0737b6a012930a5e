"""Part 1: enrichment per core, no I/O — the worker's own `Enricher`, whole and stage by stage.

The whole-chain figure is `Enricher.enrich_batch` over batches of the
worker's batch size, exactly as the worker calls it. For the breakdown, a
second pass runs with a clock around each stage the `Enricher` calls — the
stage functions it imports and the methods of the stage objects it holds — so
the breakdown follows whatever the chain is wired to do; time outside those
calls is reported as `other`. CPU time of the calling thread is the "per core"
figure (other processes on the machine slow the wall clock, not it).
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from newsflow import pipeline
from newsflow.bench import corpus
from newsflow.models import SourceMessage
from newsflow.pipeline import Enricher
from newsflow.settings import Settings

# light: no model NER and no embeddings, for high-volume feeds; full: every stage on.
PROFILES: dict[str, dict[str, Any]] = {"light": {"entities_model_ner": False, "story_embeddings": False}, "full": {}}
GOAL_PER_CORE = {"light": 1000, "full": 60}
# Models and word lists load on first use; the warm-up batch is not measured, so the figures are a
# long-running worker's. Light: enough articles to meet every word list the language stage loads.
WARMUP_ARTICLES = {"light": 500, "full": 50}
# Functions the pipeline module calls, and methods of the stage objects an Enricher holds -> stage.
STAGE_FUNCTIONS = {
    "parse_message": "validate",
    "normalise": "normalise",
    "extract": "extract",
    "detect_language": "language",
    "fingerprint": "fingerprint",
    "sign_near_duplicates": "neardup",
    "add_story_features": "stories",
}
STAGE_METHODS = {"clean": "boilerplate", "annotate": "entities"}
# Stage -> the setting that turns it on (None: always on), to name stages the chain is missing.
STAGE_SETTINGS = {
    "validate": None,
    "normalise": None,
    "extract": None,
    "boilerplate": "boilerplate_enabled",
    "language": None,
    "entities": "entities_enabled",
    "fingerprint": None,
    "neardup": "neardup_enabled",
    "stories": "stories_enabled",
}

T = TypeVar("T")


def profile_settings(profile: str, **overrides: Any) -> Settings:
    return Settings(**{**PROFILES[profile], **overrides})


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class StageClock:
    """CPU and wall seconds, and calls, per stage."""

    cpu_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    wall_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def wrap(self, name: str, function: Callable[..., T]) -> Callable[..., T]:
        def timed(*args: Any, **kwargs: Any) -> T:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.cpu_s[name] += time.thread_time() - cpu
                self.wall_s[name] += time.perf_counter() - wall

        return timed


@contextlib.contextmanager
def clocked_stages(enricher: Enricher, clock: StageClock) -> Iterator[None]:
    """Put the clock around every stage the enricher calls; undo it afterwards."""
    undo: list[Callable[[], None]] = []
    for function_name, stage in STAGE_FUNCTIONS.items():
        original = getattr(pipeline, function_name, None)
        if original is not None:
            setattr(pipeline, function_name, clock.wrap(stage, original))
            undo.append(lambda name=function_name, function=original: setattr(pipeline, name, function))
    for holder in vars(enricher).values():
        for method_name, stage in STAGE_METHODS.items():
            if callable(getattr(holder, method_name, None)):
                setattr(holder, method_name, clock.wrap(stage, getattr(holder, method_name)))
                undo.append(lambda holder=holder, name=method_name: delattr(holder, name))
    try:
        yield
    finally:
        for restore in undo:
            restore()


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def json_round_trip(messages: Iterable[SourceMessage]) -> None:
    """The do-nothing pipeline: parse each message and serialise it again."""
    for message in messages:
        orjson.dumps(orjson.loads(message.value))


def measure_baseline(messages: Sequence[SourceMessage]) -> dict[str, float]:
    clock = StageClock()
    clock.wrap("baseline", json_round_trip)(messages)
    return {
        "per_s": _rate(len(messages), clock.cpu_s["baseline"]),
        "wall_per_s": _rate(len(messages), clock.wall_s["baseline"]),
    }


def enrich_all(enricher: Enricher, messages: Sequence[SourceMessage], clock: StageClock) -> None:
    for batch in chunks(messages, enricher.settings.batch_size):
        clock.wrap("chain", enricher.enrich_batch)(list(batch))


def measure_profile(profile: str, messages: Sequence[SourceMessage], baseline_per_s: float) -> dict[str, Any]:
    """Articles per core-second of the whole chain and of each stage in it."""
    settings = profile_settings(profile)
    warmup = list(corpus.messages(WARMUP_ARTICLES[profile], start=len(messages)))
    enricher = Enricher(settings)
    enricher.enrich_batch(warmup)
    whole = StageClock()
    enrich_all(enricher, messages, whole)
    # A fresh enricher for the breakdown, so what the first one learnt from these messages does not make
    # this pass cheaper; warmed up alike (its stages' caches start empty).
    enricher = Enricher(settings)
    enricher.enrich_batch(warmup)
    stages = StageClock()
    with clocked_stages(enricher, stages):
        enrich_all(enricher, messages, stages)
    chain_cpu_s = stages.cpu_s.pop("chain")
    stages.cpu_s["other"] = max(0.0, chain_cpu_s - sum(stages.cpu_s.values()))
    chain_per_s = _rate(len(messages), whole.cpu_s["chain"])
    enabled = [s for s, setting in STAGE_SETTINGS.items() if setting is None or getattr(settings, setting, False)]
    return {
        "articles": len(messages),
        "batch_size": settings.batch_size,
        "chain_per_s": chain_per_s,
        "chain_wall_per_s": _rate(len(messages), whole.wall_s["chain"]),
        "ms_per_article": 1000 / chain_per_s,
        "chain_vs_baseline": chain_per_s / baseline_per_s,
        "goal_per_s": GOAL_PER_CORE[profile],
        "meets_goal": chain_per_s >= GOAL_PER_CORE[profile],
        "stages": {
            stage: {
                "per_s": _rate(len(messages), seconds),
                "ms_per_article": 1000 * seconds / len(messages),
                "share": seconds / chain_cpu_s,
            }
            for stage, seconds in stages.cpu_s.items()
        },
        # Enabled by the settings but never called by the Enricher: not wired into the worker yet.
        "not_in_chain": [stage for stage in enabled if stage not in stages.cpu_s],
    }


def run(profiles: Sequence[str], counts: dict[str, int]) -> dict[str, Any]:
    largest = max(counts[profile] for profile in profiles)
    messages = list(corpus.messages(largest))
    baseline = measure_baseline(messages)
    result: dict[str, Any] = {"baseline": {"name": "orjson parse + serialise", **baseline}}
    for profile in profiles:
        result[profile] = measure_profile(profile, messages[: counts[profile]], baseline["per_s"])
    return result
