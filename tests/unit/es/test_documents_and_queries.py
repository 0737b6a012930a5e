from datetime import UTC, datetime

import orjson

from newsflow.es.indexer import article_document
from newsflow.es.indices import ARTICLES_TEMPLATE, FINGERPRINTS_TEMPLATE, render_template
from newsflow.models import SourceMessage
from newsflow.pipeline import Enricher
from newsflow.schemas import load_json, validator
from newsflow.settings import Settings

SETTINGS = Settings(index_shards=3, index_replicas=1, index_refresh_interval="5s")


def enriched(payload: dict):
    return Enricher(SETTINGS).enrich_message(
        SourceMessage(orjson.dumps(payload), None, "articles.raw", 1, 7, 1_764_150_000_000)
    )


def test_enriched_document_matches_its_schema_and_the_index_mapping():
    article = enriched(
        {
            "schema_version": 1,
            "url": "https://example.com/x",
            "outlet": "Example",
            "title": "Lavrov meets Guterres",
            "body": "Russian Foreign Minister Sergei Lavrov met UN Secretary-General Antonio Guterres in New York.",
            "published_at": "2026-11-20T10:00:00+03:00",
        }
    )
    document = article_document(article, datetime(2026, 11, 26, tzinfo=UTC))
    assert not list(validator("enriched_article.v1.json").iter_errors(document))
    mapped = set(load_json(ARTICLES_TEMPLATE)["template"]["mappings"]["properties"])
    assert set(document) <= mapped
    # syndicated copies are recorded by the update scripts, never sent by the worker
    assert "syndicated" in mapped - set(document)
    assert document["outlets"] == ["Example"]
    assert document["language"] == "en"
    assert document["source"] == {
        "topic": "articles.raw",
        "partition": 1,
        "offset": 7,
        "timestamp": "2025-11-26T09:40:00+00:00",
    }


def test_templates_take_pattern_shards_replicas_and_refresh_from_settings():
    for template_file in (ARTICLES_TEMPLATE, FINGERPRINTS_TEMPLATE):
        rendered = render_template(template_file, "x-articles-v*", SETTINGS)
        assert rendered["index_patterns"] == ["x-articles-v*"]
        assert rendered["template"]["settings"]["index"] == {
            "number_of_shards": 3,
            "number_of_replicas": 1,
            "refresh_interval": "5s",
        }
        assert not any(key.startswith("_comment") for key in rendered)
        assert rendered["template"]["mappings"]["dynamic"] == "strict"
    # the file itself is left untouched for the next render
    assert load_json(ARTICLES_TEMPLATE)["template"]["settings"]["index"]["number_of_shards"] == 1
