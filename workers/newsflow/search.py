"""Full-text search with facets over the articles alias (library behind the CLI and, later, the API).

User text goes through `simple_query_string`, which never fails on syntax, and
each document is matched through the sub-field of its own detected language
(english / arabic analyzers, standard for the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from elasticsearch import Elasticsearch

ANALYSED_LANGUAGES = ("en", "ar")
FACET_SIZE = 10
SNIPPET_CHARS = 160


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""
    outlets: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    size: int = 10
    sort: Literal["relevance", "date"] = "relevance"


def _text_match(query: str, fields: list[str]) -> dict[str, Any]:
    return {"simple_query_string": {"query": query, "fields": fields, "default_operator": "and"}}


def text_query(query: str) -> dict[str, Any]:
    """Match each document in its own language's analysed fields."""
    per_language = [
        {
            "bool": {
                "filter": [{"term": {"language": language}}],
                "must": [_text_match(query, [f"title.{language}^2", f"body.{language}"])],
            }
        }
        for language in ANALYSED_LANGUAGES
    ]
    per_language.append(
        {
            "bool": {
                "must_not": [{"terms": {"language": list(ANALYSED_LANGUAGES)}}],
                "must": [_text_match(query, ["title^2", "body"])],
            }
        }
    )
    return {"bool": {"should": per_language, "minimum_should_match": 1}}


def build_body(request: SearchRequest) -> dict[str, Any]:
    # Skip syndication stubs whose original has not arrived yet: they have no text.
    filters: list[dict[str, Any]] = [{"exists": {"field": "body"}}]
    if request.outlets:
        filters.append({"terms": {"outlets": request.outlets}})
    if request.languages:
        filters.append({"terms": {"language": request.languages}})
    if request.since or request.until:
        bounds = {"gte": request.since, "lt": request.until}
        filters.append({"range": {"published_at": {k: v.isoformat() for k, v in bounds.items() if v}}})
    must = [text_query(request.query)] if request.query.strip() else [{"match_all": {}}]
    body: dict[str, Any] = {
        "query": {"bool": {"must": must, "filter": filters}},
        "size": request.size,
        "track_total_hits": True,
        "_source": {"excludes": ["body"]},
        "highlight": {
            "fields": {name: {} for name in ("title", "body", "title.*", "body.*")},
            "fragment_size": SNIPPET_CHARS,
            "number_of_fragments": 1,
            "pre_tags": ["«"],
            "post_tags": ["»"],
        },
        "aggs": {
            "outlets": {"terms": {"field": "outlets", "size": FACET_SIZE}},
            "languages": {"terms": {"field": "language", "size": FACET_SIZE}},
            "dates": {"date_histogram": {"field": "published_at", "calendar_interval": "day", "min_doc_count": 1}},
        },
    }
    if request.sort == "date":
        body["sort"] = [{"published_at": {"order": "desc", "missing": "_last"}}, "_score"]
    return body


def _snippet(hit: dict[str, Any]) -> str:
    highlight = hit.get("highlight", {})
    for name in ("body.en", "body.ar", "body", "title.en", "title.ar", "title"):
        if highlight.get(name):
            return " ".join(highlight[name][0].split())
    return ""


def search(client: Elasticsearch, alias: str, request: SearchRequest) -> dict[str, Any]:
    """Run the search; a plain-data result (hits, total, facets) ready for printing or JSON."""
    response = client.search(index=alias, **build_body(request))
    hits = [
        {
            "id": hit["_id"],
            "score": hit["_score"],
            "title": hit["_source"]["title"],
            "outlet": hit["_source"]["outlet"],
            "outlets": hit["_source"].get("outlets", []),
            "url": hit["_source"]["url"],
            "language": hit["_source"]["language"],
            "published_at": hit["_source"].get("published_at"),
            "snippet": _snippet(hit),
        }
        for hit in response["hits"]["hits"]
    ]
    aggregations = response["aggregations"]
    return {
        "query": request.query,
        "total": response["hits"]["total"]["value"],
        "hits": hits,
        "facets": {
            "outlets": {bucket["key"]: bucket["doc_count"] for bucket in aggregations["outlets"]["buckets"]},
            "languages": {bucket["key"]: bucket["doc_count"] for bucket in aggregations["languages"]["buckets"]},
            "dates": {bucket["key_as_string"][:10]: bucket["doc_count"] for bucket in aggregations["dates"]["buckets"]},
        },
    }
