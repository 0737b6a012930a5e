"""What an enriched article mentions: entity ids, and watch-list keywords after search's folding."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsflow import paths
from newsflow.alerts.terms import WatchList, article_time, mentions_of, normalise
from newsflow.errors import ConfigError


@pytest.fixture
def watch_list(tmp_path: Path) -> WatchList:
    path = tmp_path / "watchlist.yaml"
    path.write_text(
        """
keywords:
  - id: merger
    phrases: [merger, mergers, اندماج]
  - id: ceasefire
    phrases: [cease-fire, ceasefire, وقف إطلاق النار]
  - id: islamic-state-al-qaeda-merger
    phrases: [merger, اندماج]
    entities: [org:islamic-state, org:al-qaeda]
""",
        encoding="utf-8",
    )
    return WatchList.load(path)


def found(watch_list: WatchList, text: str, entity_ids: tuple[str, ...] = ()) -> list[str]:
    return sorted(keyword.id for keyword in watch_list.matches(text, entity_ids))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A MERGER of two groups", ["merger"]),
        ("Talks on the mergers", ["merger"]),
        ("a merge is not a merger", ["merger"]),
        ("they merged", []),
        ("the Cease-Fire holds", ["ceasefire"]),
        ("the cease fire holds", ["ceasefire"]),
        ("أعلن الاندماج", ["merger"]),  # article
        ("والاندماج بين التنظيمين", ["merger"]),  # conjunction + article
        ("للاندماج", ["merger"]),  # ل + article written لل
        ("وقفُ إطلاقِ النّار", ["ceasefire"]),  # diacritics
        ("وقف اطلاق النار", ["ceasefire"]),  # hamza seat dropped
        ("وقف إطلاق الصواريخ", []),  # only part of the phrase
    ],
)
def test_keywords_match_after_folding(watch_list, text, expected):
    assert found(watch_list, text) == expected


def test_a_keyword_with_entities_needs_them_all(watch_list):
    assert found(watch_list, "merger talks", ("org:islamic-state",)) == ["merger"]
    assert found(watch_list, "merger talks", ("org:islamic-state", "org:al-qaeda")) == [
        "islamic-state-al-qaeda-merger",
        "merger",
    ]


def test_normalise_folds_case_width_and_digits():
    assert normalise("ＭＥＲＧＥＲ ٣") == "merger 3"


def test_the_example_watch_list_loads():
    watch_list = WatchList.load(paths.project_root() / "deploy" / "watchlist.example.yaml")
    assert watch_list.keywords


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- merger", "`keywords` list"),
        ("keywords:\n  - phrases: [merger]", "non-empty `id`"),
        ("keywords:\n  - id: merger\n    phrases: []", "`phrases` must be"),
        ("keywords:\n  - id: merger\n    phrases: ['--']", "a phrase has no words"),
        ("keywords:\n  - id: merger\n    phrases: [merger]\n    entities: org:islamic-state", "`entities` must be"),
    ],
)
def test_a_bad_watch_list_is_a_config_error(tmp_path, content, message):
    path = tmp_path / "watchlist.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        WatchList.load(path)


def article(**fields) -> dict:
    return {
        "id": "a" * 32,
        "outlet": "reuters",
        "title": "Merger talks",
        "body": "Officials discussed the merger.",
        "entity_ids": ["org:islamic-state", "org:al-qaeda", "org:islamic-state"],
        "story_id": "s1",
        "duplicate_status": "original",
        "published_at": "2026-01-05T10:00:00+00:00",
        "ingested_at": "2026-01-05T10:03:00+00:00",
        **fields,
    }


def test_mentions_of_an_article_are_its_entities_and_keywords_once_each(watch_list):
    mentions = mentions_of(article(), 1.0, watch_list)
    assert [mention.term for mention in mentions] == [
        "org:islamic-state",
        "org:al-qaeda",
        "keyword:merger",
        "keyword:islamic-state-al-qaeda-merger",
    ]
    assert all(mention.counted and mention.outlet == "reuters" and mention.story_id == "s1" for mention in mentions)


def test_a_syndicated_copy_mentions_without_counting(watch_list):
    mentions = mentions_of(article(duplicate_status="syndicated", outlet="bbc"), 1.0, None)
    assert [(mention.term, mention.counted, mention.outlet) for mention in mentions] == [
        ("org:islamic-state", False, "bbc"),
        ("org:al-qaeda", False, "bbc"),
    ]


def test_article_time_falls_back_to_the_other_field():
    assert article_time(article(), "published_at") == 1_767_607_200.0
    assert article_time(article(published_at=None), "published_at") == 1_767_607_380.0
    assert article_time(article(published_at=None, ingested_at=None), "ingested_at") is None
