"""Cross-language entity search and story collapse on a real node, over documents written as the worker writes them."""

from __future__ import annotations

import pytest

from newsflow.es.indices import IndexNames, current_month, script_id
from newsflow.search import SearchRequest, entity_table, search

ISLAMIC_STATE = {"id": "org:islamic-state", "type": "ORG", "text": "", "source": "table", "start": 0, "end": 0}
DOCUMENTS = {
    "en-daesh": ("en", "Daesh claims the attack", "Daesh said its fighters carried out the raid.", "story-1"),
    "ar-daesh": ("ar", "داعش يتبنى الهجوم", "أعلن تنظيم داعش مسؤوليته عن الهجوم على القاعدة.", "story-1"),
    "ar-state": ("ar", "تنظيم الدولة يهاجم", "هاجم مسلحو الدولة الإسلامية قرية في الصحراء.", None),
    "en-sport": ("en", "Cup final tonight", "The club plays the cup final in Muscat tonight.", None),
}


def document(doc_id: str, language: str, title: str, body: str, story_id: str | None) -> dict:
    about_entity = doc_id != "en-sport"
    return {
        "id": doc_id,
        "url": f"https://example.test/{doc_id}",
        "outlet": "Test Wire",
        "outlets": ["Test Wire"],
        "title": title,
        "body": body,
        "language": language,
        "published_at": "2026-03-03T10:00:00Z",
        "entities": [ISLAMIC_STATE] if about_entity else [],
        "entity_ids": ["org:islamic-state"] if about_entity else [],
        "duplicate_status": "original",
        "story_id": story_id,
    }


@pytest.fixture(scope="module")
def find(settings, es):
    for doc_id, fields in DOCUMENTS.items():
        es.update(
            index=IndexNames.from_settings(settings).month_index(current_month()),
            id=doc_id,
            script={"id": script_id(settings, "upsert_article"), "params": {"doc": document(doc_id, *fields)}},
            scripted_upsert=True,
            upsert={},
        )
    es.indices.refresh(index=settings.articles_alias)
    entities = entity_table()

    def run(**fields):
        return search(es, settings.articles_alias, SearchRequest(**fields), entities)

    return run


def reasons(result) -> dict[str, set[str]]:
    return {hit["id"]: {r.get("entity_id") or f"{r['kind']}:{r['text']}" for r in hit["matched"]} for hit in result}


@pytest.mark.parametrize("query", ["ISIS", "isis", "Daesh", "داعش", "Islamic State"])
def test_every_name_finds_every_article_about_the_entity_in_every_language(find, query):
    result = find(query=query, collapse="none")
    assert {hit["id"] for hit in result["hits"]} == {"en-daesh", "ar-daesh", "ar-state"}


def test_each_hit_says_whether_its_text_or_only_the_entity_matched(find):
    arabic = reasons(find(query="داعش", collapse="none")["hits"])
    assert arabic["ar-daesh"] == {"text:داعش", "org:islamic-state"}
    assert arabic["en-daesh"] == arabic["ar-state"] == {"org:islamic-state"}
    english = reasons(find(query="Daesh", collapse="none")["hits"])
    assert english["en-daesh"] == {"text:Daesh", "org:islamic-state"}


def test_text_matches_rank_above_entity_only_matches(find):
    hits = find(query="داعش", collapse="none")["hits"]
    assert hits[0]["id"] == "ar-daesh"


def test_stories_collapse_to_one_hit_with_their_size(find):
    result = find(query="ISIS", collapse="stories")
    groups = {hit["id"]: hit.get("group", {}).get("size") for hit in result["hits"]}
    assert len(groups) == 2 and sorted(groups.values()) == [1, 2]
    story_hit = next(hit for hit in result["hits"] if hit["group"]["size"] == 2)
    assert story_hit["group"]["key"] == "story-1" and story_hit["story_id"] == "story-1"
    assert {member["id"] for member in story_hit["group"]["others"]} | {story_hit["id"]} == {"en-daesh", "ar-daesh"}


def test_entity_facets_carry_labels_and_filter(find):
    result = find(entity_types=["ORG"], size=0)
    assert result["total"] == 3
    assert result["facets"]["entity_ids"] == [{"key": "org:islamic-state", "count": 3, "label": "Islamic State"}]
