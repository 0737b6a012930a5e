"""Significant terms: title and lead words on no watch list, counted as terms of their own, bounded."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsflow.alerts.alert import AlertEvent
from newsflow.alerts.detector import Detector
from newsflow.alerts.replay import Replay
from newsflow.alerts.terms import SignificantTerms, WatchList, mentions_of
from newsflow.settings import Settings

from .series import START, poisson, window_count

COMMON = ["government", "officials", "talks", "minister", "security", "meeting", "report", "plan", "region", "support"]


@pytest.fixture
def watch_list(tmp_path: Path) -> WatchList:
    path = tmp_path / "watchlist.yaml"
    path.write_text("keywords:\n  - id: merger\n    phrases: [merger talks, اندماج]\n", encoding="utf-8")
    return WatchList.load(path)


def article(title: str, body: str = "", entities: tuple[str, ...] = (), **fields) -> dict:
    return {
        "id": "a1",
        "outlet": "reuters",
        "title": title,
        "body": body,
        "entities": [{"id": f"x:{text}", "type": "ORG", "text": text, "source": "rules", "start": 0, "end": 1}
                     for text in entities],
        "entity_ids": [f"x:{text}" for text in entities],
        "story_id": None,
        "duplicate_status": "original",
        **fields,
    }  # fmt: skip


def test_title_words_and_pairs_pass_the_filter(watch_list):
    significant = SignificantTerms(per_article=20, watch_list=watch_list)
    document = article("The Hamas cholera outbreak spreads, 2026 merger talks", entities=("Hamas",))
    # Not: a stop word (the), an entity's name (Hamas), a number, the watch list's words (merger, talks).
    assert significant.of(document) == [
        "significant:cholera",
        "significant:outbreak",
        "significant:cholera outbreak",
        "significant:spreads",
        "significant:outbreak spreads",
    ]


def test_arabic_words_are_folded_and_watch_list_words_excluded_with_their_prefixes(watch_list):
    significant = SignificantTerms(per_article=20, watch_list=watch_list)
    # والاندماج is the watch list's اندماج with attached و and ال; الكوليرا is الكوليرا without its article.
    assert significant.of(article("والاندماج في الكوليرا")) == ["significant:كوليرا"]


def test_the_lead_follows_the_title_within_the_per_article_limit(watch_list):
    document = article("Cholera outbreak", body="Doctors warn " + "cholera " * 50 + "vaccines")
    assert SignificantTerms(per_article=20, watch_list=None).of(document) == [
        "significant:cholera",
        "significant:outbreak",
        "significant:cholera outbreak",
        "significant:doctors",
        "significant:warn",
        "significant:doctors warn",
        "significant:warn cholera",
        "significant:cholera cholera",
    ]  # "vaccines" is past the lead
    assert SignificantTerms(per_article=2, watch_list=None).of(document) == [
        "significant:cholera",
        "significant:outbreak",
    ]


def test_significant_terms_are_off_unless_asked(watch_list):
    assert SignificantTerms.from_settings(Settings(), watch_list) is None
    on = SignificantTerms.from_settings(Settings(alerts_significant_terms=True, alerts_significant_per_article=2), None)
    assert on is not None and on.per_article == 2
    document = article("Cholera outbreak", entities=("Hamas",))
    assert [mention.term for mention in mentions_of(document, 1.0, None, on)] == [
        "x:Hamas",
        "significant:cholera",
        "significant:outbreak",
    ]


def timed(document: dict, number: int, at: float, outlet: str) -> dict:
    stamp = datetime.fromtimestamp(at, UTC).isoformat()
    return {**document, "id": f"{number:032x}", "outlet": outlet, "published_at": stamp, "ingested_at": stamp}


def test_an_unforeseen_topic_alerts_and_everyday_words_do_not(params):
    """A day and a half of titles of everyday words from six outlets, then a story no watch list foresaw."""
    rng = random.Random(9)
    documents = []
    burst_windows = (430, 431)
    for window in range(440):
        start = START + window * params.window_s
        for _ in range(poisson(rng, 20)):
            title = " ".join(rng.sample(COMMON, 4))
            documents.append(timed(article(title), len(documents), start + rng.uniform(0, 300), f"o{rng.randrange(6)}"))
        if window in burst_windows:
            for number in range(12):
                title = f"cholera outbreak {rng.choice(COMMON)}"
                documents.append(timed(article(title), len(documents), start + rng.uniform(0, 300), f"o{number % 5}"))
    replay = Replay(params, None, significant=SignificantTerms(per_article=12, watch_list=None))
    for document in sorted(documents, key=lambda document: document["published_at"]):
        replay.feed(document)
    opened = [alert for alert in replay.finish() if alert.event is AlertEvent.OPENED]
    assert {alert.term for alert in opened} == {
        "significant:cholera",
        "significant:outbreak",
        "significant:cholera outbreak",
    }
    assert all(round((alert.detected - START) / params.window_s) in burst_windows for alert in opened)


def test_the_least_frequent_significant_terms_are_forgotten_beyond_the_limit(params):
    detector = Detector(replace(params, significant_max_terms=2, warmup_windows=1), {}, started=None)
    window = START + 10 * params.window_s
    for term, count in [("significant:often", 9), ("significant:sometimes", 4), ("significant:rarely", 1)]:
        detector.close_window(term, START, window_count(count))
    detector.close_window("org:un", START, window_count(1))  # an entity is never forgotten for the limit
    # A rare term in a spike is kept while the spike is open.
    detector.close_window("significant:new", START, window_count(1))
    detector.close_window("significant:new", window, window_count(40, outlets=6))
    assert detector.states["significant:new"].spike is not None
    detector.advance(window)
    assert sorted(detector.states) == ["org:un", "significant:new", "significant:often"]
