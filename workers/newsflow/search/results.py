"""Run a search and shape the response as plain data for the CLI, the HTTP API and the page.

Highlights come back with private-use markers around the matched words; `snippet` replaces them
with «» for terminals, `snippet_html`/`title_html` escape the article text first and then mark the
matches with <mark>, so article text can never become markup.
"""

from __future__ import annotations

import html
from typing import Any

from elasticsearch import Elasticsearch

from newsflow.search.body import (
    FILTER_FIELDS,
    MARK_END,
    MARK_START,
    Page,
    SearchRequest,
    build_body,
    encode_cursor,
)
from newsflow.search.entity_lookup import EntityTable

RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur", "ps", "yi"})
TITLE_FIELDS = ("title.exact", "title.en", "title.ar", "title", "title.ar_skeleton")
SNIPPET_FIELDS = ("body.exact", "body.en", "body.ar", "body.ar_skeleton", "body")


def _plain(text: str) -> str:
    return text.replace(MARK_START, "").replace(MARK_END, "")


def marked_html(text: str) -> str:
    """Escaped text with the highlight markers as <mark> elements."""
    escaped = html.escape(text, quote=True)
    return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def marked_terminal(text: str) -> str:
    return text.replace(MARK_START, "«").replace(MARK_END, "»")


def _first(highlight: dict[str, list[str]], names: tuple[str, ...]) -> str | None:
    for name in names:
        if highlight.get(name):
            return " ".join(highlight[name][0].split())
    return None


def text_direction(language: str | None) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def why_matched(matched_queries: list[str], entities: EntityTable | None) -> list[dict[str, str]]:
    """Named clauses (`text:…`, `phrase:…`, `entity:<id>`) as reasons a reader understands."""
    reasons = []
    for name in sorted(set(matched_queries)):
        kind, _, value = name.partition(":")
        if kind == "entity":
            label = (entities.label(value) if entities else None) or value
            reasons.append({"kind": "entity", "entity_id": value, "label": label})
        else:
            reasons.append({"kind": kind, "text": value})
    return reasons


def _hit(raw: dict[str, Any], entities: EntityTable | None) -> dict[str, Any]:
    source = raw["_source"]
    # A marker character inside an article can at worst add a <mark>: everything else is escaped.
    highlight = raw.get("highlight", {})
    title = _first(highlight, TITLE_FIELDS) or _plain(source.get("title") or "")
    snippet = _first(highlight, SNIPPET_FIELDS) or ""
    hit = {
        "id": raw["_id"],
        "score": raw.get("_score"),
        "title": _plain(title),
        "title_html": marked_html(title),
        "snippet": marked_terminal(snippet),
        "snippet_html": marked_html(snippet),
        "outlet": source.get("outlet"),
        "outlets": source.get("outlets") or [],
        "outlet_country": source.get("outlet_country"),
        "url": source.get("url"),
        "language": source.get("language"),
        "direction": text_direction(source.get("language")),
        "published_at": source.get("published_at"),
        "duplicate_status": source.get("duplicate_status"),
        "duplicate_of": source.get("duplicate_of"),
        "story_id": source.get("story_id"),
        "entity_ids": source.get("entity_ids") or [],
        "matched": why_matched(raw.get("matched_queries", []), entities),
    }
    group = raw.get("inner_hits", {}).get("group")
    if group:
        others = [inner["_source"] for inner in group["hits"]["hits"] if inner["_id"] != raw["_id"]]
        hit["group"] = {
            "key": raw["fields"][next(iter(raw["fields"]))][0],
            "size": group["hits"]["total"]["value"],
            "others": others[: len(group["hits"]["hits"]) - 1],
        }
    return hit


def _facets(aggregations: dict[str, Any], entities: EntityTable | None) -> dict[str, list[dict[str, Any]]]:
    facets: dict[str, list[dict[str, Any]]] = {}
    for facet in FILTER_FIELDS:
        buckets = [{"key": b["key"], "count": b["doc_count"]} for b in aggregations[facet]["buckets"]]
        if facet == "entity_ids":
            for bucket in buckets:
                bucket["label"] = (entities.label(bucket["key"]) if entities else None) or bucket["key"]
        facets[facet] = buckets
    facets["published"] = [
        {"key": b["key_as_string"], "count": b["doc_count"]} for b in aggregations["published"]["buckets"]
    ]
    return facets


def search(
    client: Elasticsearch, alias: str, request: SearchRequest, entities: EntityTable | None = None
) -> dict[str, Any]:
    """Run the search; a plain-data result (hits, total, facets, next cursor). Raises QueryError on bad input."""
    body = build_body(request, entities)
    response = client.search(index=alias, **body)
    raw_hits = response["hits"]["hits"]
    hits = [_hit(raw, entities) for raw in raw_hits]
    next_cursor = None
    if len(raw_hits) == request.size and raw_hits:
        page = Page(offset=body["from"] + len(raw_hits)) if "collapse" in body else Page(raw_hits[-1]["sort"])
        next_cursor = encode_cursor(request, page)
    return {
        "query": request.query,
        "total": response["hits"]["total"]["value"],
        "hits": hits,
        "next_cursor": next_cursor,
        "facets": _facets(response["aggregations"], entities),
    }
