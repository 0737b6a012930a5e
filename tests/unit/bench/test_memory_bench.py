"""The memory benchmark's accounting, on small constructed objects (no long run)."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest

from newsflow.bench import corpus, enrichment, memory, report
from newsflow.bench.memory import deep_size
from newsflow.pipeline import Enricher
from newsflow.stories.assign import HELD_WINDOWS, StoryAssigner


def test_deep_size_counts_the_string_keys_of_a_dict() -> None:
    key = "k" * 10_000
    assert deep_size({key: 1}) >= sys.getsizeof({key: 1}) + sys.getsizeof(key)


def test_deep_size_counts_an_object_shared_with_an_earlier_part_once() -> None:
    shared = "s" * 10_000
    seen: set[int] = set()
    first, second = [shared], (shared,)
    assert deep_size(first, seen) >= sys.getsizeof(shared)
    assert deep_size(second, seen) == sys.getsizeof(second)


@pytest.fixture(scope="module")
def long_run_samples() -> list[dict]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(memory, "BATCH", 20)
        samples: list[dict] = []
        memory.long_run(60, 3, samples.append)
    return samples


def test_long_run_samples_every_part_of_the_state(long_run_samples: list[dict]) -> None:
    assert [sample["articles"] for sample in long_run_samples] == [20, 40, 60]
    last = long_run_samples[-1]
    assert last["recent_signatures_entries"] == 60
    # Every bench article has story features: each is placed, in a story held.
    assert last["placed_ids_entries"] == 60
    assert 1 <= last["held_stories_entries"] <= 60
    assert last["document_frequencies_entries"] > 0
    assert all(last[f"{part}_bytes"] > 0 for part in ("held_stories", "placed_ids", "document_frequencies"))


def test_summary_reports_each_story_state_part_against_its_own_bound(long_run_samples: list[dict]) -> None:
    summary = memory.summarise(long_run_samples)
    held = summary["story_state"]["held_stories"]
    assert held["bounded_at_articles"] is None and held["growth_after_bound_bytes"] is None
    assert held["bytes_per_entry"] == held["bytes"] / held["entries"]
    # Held stories are also bounded by time: from the articles spanning it on.
    assert memory.state_part(long_run_samples, "held_stories", 10_000, 40)["bounded_at_articles"] == 40
    held_for = HELD_WINDOWS * timedelta(hours=enrichment.profile_settings("light").story_window_hours)
    articles = memory.articles_holding_stories()
    assert (articles - 1) * corpus.PUBLISHED_STEP < held_for <= articles * corpus.PUBLISHED_STEP
    # The first sample holds as many signatures as it reaches: that bound is reached at once.
    bounded = memory.state_part(long_run_samples, "recent_signatures", 20)
    assert bounded["bounded_at_articles"] == 20
    last, first = long_run_samples[-1], long_run_samples[0]
    assert bounded["growth_after_bound_bytes"] == last["recent_signatures_bytes"] - first["recent_signatures_bytes"]
    result = {"meta": {"date": "now", "machine": {"cores": 2}, "commit": "abc"}, "memory": {"long_run": summary}}
    rendered = report.table(result)
    assert rendered.row_count >= 6


def test_place_stories_places_a_batch_as_the_worker_does() -> None:
    settings = enrichment.profile_settings("light")
    articles = Enricher(settings).enrich_batch(list(corpus.messages(30))).articles
    assigner = StoryAssigner(settings)
    memory.place_stories(assigner, articles)
    assert list(assigner.placed) == [article.id for article in articles]
    assert set(assigner.placed.values()) == {story.id for story in map(assigner.recent.get, assigner.placed.values())}
    sizes = memory.story_state_sizes(assigner)
    assert sizes["held_stories_entries"] == len(assigner.recent)
    # Parts share objects (story ids are article ids): each is counted once, in the first part reaching it.
    parts = (assigner.recent, assigner.placed, assigner.scorer.frequencies)
    assert sum(sizes[f"{name}_bytes"] for name in report.STORY_STATE_PARTS) == deep_size(parts) - sys.getsizeof(parts)
