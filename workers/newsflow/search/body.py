"""The search request and the Elasticsearch query body built from it (pure: no I/O).

Text matching: each document is matched through the sub-fields of its own detected language
(english; arabic_text, plus arabic_skeleton at a low weight for spelling variants of names;
standard for the rest), phrases through the unstemmed `.exact` sub-fields. A part of the query
that names a known entity also matches the articles that carry its canonical id, in any language.
Each clause is a named query, so every hit says why it matched (`matched_queries`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson

from newsflow.search.entity_lookup import EntityMention, EntityTable
from newsflow.search.query_text import ParsedQuery, QueryError, parse_query

ANALYSED_LANGUAGES = ("en", "ar")
FACET_SIZE = 10
SNIPPET_CHARS = 160
MAX_PAGE_SIZE = 100
# Elasticsearch's index.max_result_window: collapsed results page by offset and stop there.
MAX_COLLAPSED_OFFSET = 10_000
GROUP_PREVIEW_SIZE = 3
ENTITY_MATCH_BOOST = 3.0  # about a good BM25 match of one word: an entity-only hit ranks among the text hits
SKELETON_BOOST = 0.3  # vowel-less Arabic forms find name variants but are ambiguous
# Private-use characters mark highlights, so that the text around them can be escaped safely later.
MARK_START, MARK_END = "\ue000", "\ue001"

Sort = Literal["relevance", "date"]
Collapse = Literal["none", "duplicates", "stories"]
COLLAPSE_FIELDS = {"duplicates": "duplicate_group", "stories": "story_group"}
SORTS: dict[str, list[Any]] = {
    # `id` breaks ties, so that search_after pages neither skip nor repeat hits.
    "relevance": ["_score", {"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
    "date": [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
}
# request field -> indexed field: each is both a filter and a facet (terms aggregation of the same name)
FILTER_FIELDS = {
    "outlets": "outlets",
    "outlet_countries": "outlet_country",
    "languages": "language",
    "entity_ids": "entity_ids",
    "entity_types": "entities.type",
    "story_ids": "story_id",
    "duplicate_statuses": "duplicate_status",
}


# The search parameters as the CLI and the HTTP API name them (each filter singular: it is repeated)
# -> the SearchRequest field; since, until, size, sort, collapse and cursor keep their names.
PARAMETER_FIELDS = {
    "q": "query",
    "outlet": "outlets",
    "country": "outlet_countries",
    "lang": "languages",
    "entity": "entity_ids",
    "entity_type": "entity_types",
    "story": "story_ids",
    "duplicate_status": "duplicate_statuses",
}


@dataclass(frozen=True)
class SearchRequest:
    query: str = ""
    outlets: list[str] = field(default_factory=list)
    outlet_countries: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    entity_ids: list[str] = field(default_factory=list)
    entity_types: list[str] = field(default_factory=list)
    story_ids: list[str] = field(default_factory=list)
    duplicate_statuses: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    size: int = 10
    sort: Sort = "relevance"
    collapse: Collapse = "duplicates"
    cursor: str | None = None  # from the previous page's result

    @classmethod
    def from_parameters(cls, **parameters: Any) -> SearchRequest:
        """The request for the parameters of `newsflow search` or `/api/search`, by their names there."""
        return cls(**{PARAMETER_FIELDS.get(name, name): value for name, value in parameters.items()})

    def __post_init__(self) -> None:
        if not 0 <= self.size <= MAX_PAGE_SIZE:
            raise QueryError(f"size must be between 0 and {MAX_PAGE_SIZE}, got {self.size}")
        if self.sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}, got {self.sort!r}")
        if self.collapse not in ("none", *COLLAPSE_FIELDS):
            raise QueryError(f"collapse must be none, duplicates or stories, got {self.collapse!r}")
        if self.since and self.until and self.since >= self.until:
            raise QueryError("since must be before until")


@dataclass(frozen=True)
class Page:
    """Where a page starts: after a hit's sort values, or (collapsed results) at an offset."""

    search_after: list[Any] | None = None
    offset: int = 0


def encode_cursor(request: SearchRequest, page: Page) -> str:
    state = {"sort": request.sort, "collapse": request.collapse, "after": page.search_after, "offset": page.offset}
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def decode_cursor(request: SearchRequest) -> Page:
    if not request.cursor:
        return Page()
    try:
        state = orjson.loads(base64.urlsafe_b64decode(request.cursor + "=" * (-len(request.cursor) % 4)))
        after, offset = state["after"], state["offset"]
        valid = (after is None or isinstance(after, list)) and isinstance(offset, int) and offset >= 0
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        valid = False
    if not valid:
        raise QueryError("the cursor is not one this search returned")
    if (state.get("sort"), state.get("collapse")) != (request.sort, request.collapse):
        raise QueryError("the cursor belongs to a search with another sort or collapse")
    return Page(after, offset)


def _language_clause(language: str | None, text: str) -> dict[str, Any]:
    """Match `text` (every word) in the documents of one language, through that language's sub-fields."""

    def all_words(fields: list[str], boost: float = 1.0) -> dict[str, Any]:
        return {
            "multi_match": {"query": text, "fields": fields, "type": "cross_fields", "operator": "and", "boost": boost}
        }

    if language is None:  # every language without its own analysis
        return {
            "bool": {
                "must_not": [{"terms": {"language": list(ANALYSED_LANGUAGES)}}],
                "must": [all_words(["title^2", "body"])],
            }
        }
    matches = [all_words([f"title.{language}^2", f"body.{language}"])]
    if language == "ar":
        matches.append(all_words(["title.ar_skeleton^2", "body.ar_skeleton"], SKELETON_BOOST))
    return {"bool": {"filter": [{"term": {"language": language}}], "should": matches, "minimum_should_match": 1}}


def text_clause(text: str, name: str) -> dict[str, Any]:
    """Every word of `text`, each document in its own language's analysis."""
    per_language = [_language_clause(language, text) for language in (*ANALYSED_LANGUAGES, None)]
    return {"bool": {"should": per_language, "minimum_should_match": 1, "_name": name}}


def phrase_clause(phrase: str, name: str) -> dict[str, Any]:
    return {
        "multi_match": {"query": phrase, "fields": ["title.exact^2", "body.exact"], "type": "phrase", "_name": name}
    }


def entity_clause(mention: EntityMention) -> dict[str, Any]:
    return {
        "constant_score": {
            "filter": {"term": {"entity_ids": mention.entity_id}},
            "boost": ENTITY_MATCH_BOOST,
            "_name": f"entity:{mention.entity_id}",
        }
    }


def _text_or_entity(clause: dict[str, Any], mention: EntityMention) -> dict[str, Any]:
    return {"bool": {"should": [clause, entity_clause(mention)], "minimum_should_match": 1}}


def _word_clauses(text: str, entities: EntityTable | None) -> list[dict[str, Any]]:
    """All words must match; a run of words that names an entity matches by its text or by the entity's id."""
    clauses = []
    position = 0
    for mention in entities.mentions(text) if entities else []:
        before = text[position : mention.start].strip()
        if before:
            clauses.append(text_clause(before, f"text:{before}"))
        clauses.append(_text_or_entity(text_clause(mention.surface, f"text:{mention.surface}"), mention))
        position = mention.end
    rest = text[position:].strip()
    if rest:
        clauses.append(text_clause(rest, f"text:{rest}"))
    return clauses


def _phrase_clause(phrase: str, entities: EntityTable | None) -> dict[str, Any]:
    """A phrase is one unit: it stands for an entity only when it is exactly one of its names."""
    clause = phrase_clause(phrase, f"phrase:{phrase}")
    mentions = entities.mentions(phrase) if entities else []
    if len(mentions) == 1 and mentions[0].surface == phrase:
        return _text_or_entity(clause, mentions[0])
    return clause


def query_clauses(parsed: ParsedQuery, entities: EntityTable | None) -> tuple[list[dict], list[dict]]:
    """(must, must_not) for the parsed search box text."""
    must = _word_clauses(" ".join(parsed.words), entities) if parsed.words else []
    must.extend(_phrase_clause(phrase, entities) for phrase in parsed.phrases)
    must_not = [
        {"multi_match": {"query": part, "fields": ["title.exact", "body.exact"], "type": "phrase"}}
        for part in parsed.excluded
    ]
    return must, must_not


def _filters(request: SearchRequest) -> list[dict[str, Any]]:
    # Skip syndication stubs whose original has not arrived yet: they have no text.
    filters: list[dict[str, Any]] = [{"exists": {"field": "body"}}]
    for attribute, indexed_field in FILTER_FIELDS.items():
        values = getattr(request, attribute)
        if values:
            filters.append({"terms": {indexed_field: values}})
    if request.since or request.until:
        bounds = {"gte": request.since, "lt": request.until}
        filters.append({"range": {"published_at": {k: v.isoformat() for k, v in bounds.items() if v}}})
    return filters


def build_body(request: SearchRequest, entities: EntityTable | None = None) -> dict[str, Any]:
    """The search body; raises QueryError for input that cannot be searched as meant."""
    parsed = parse_query(request.query)
    page = decode_cursor(request)
    must, must_not = query_clauses(parsed, entities)
    body: dict[str, Any] = {
        "query": {"bool": {"must": must or [{"match_all": {}}], "must_not": must_not, "filter": _filters(request)}},
        "size": request.size,
        "sort": SORTS[request.sort],
        "track_total_hits": True,
        "_source": {"excludes": ["body", "entities", "syndicated"]},
        "highlight": {
            "fields": {
                **{f"title.{sub}": {"number_of_fragments": 0} for sub in ("exact", "en", "ar", "ar_skeleton")},
                "title": {"number_of_fragments": 0},
                **{f"body.{sub}": {} for sub in ("exact", "en", "ar", "ar_skeleton")},
                # An entity-only hit has no matching words: show the start of the text instead.
                "body": {"no_match_size": SNIPPET_CHARS},
            },
            "fragment_size": SNIPPET_CHARS,
            "number_of_fragments": 1,
            "pre_tags": [MARK_START],
            "post_tags": [MARK_END],
        },
        "aggs": {
            **{facet: {"terms": {"field": indexed, "size": FACET_SIZE}} for facet, indexed in FILTER_FIELDS.items()},
            "published": {"auto_date_histogram": {"field": "published_at", "buckets": 30}},
        },
    }
    if request.collapse == "none":
        if page.search_after is not None:
            body["search_after"] = page.search_after
    else:
        # Elasticsearch allows search_after with collapse only when sorting on the collapse field alone.
        if page.offset + request.size > MAX_COLLAPSED_OFFSET:
            raise QueryError(f"collapsed results can be paged to {MAX_COLLAPSED_OFFSET} hits; narrow the search")
        body["from"] = page.offset
        body["collapse"] = {
            "field": COLLAPSE_FIELDS[request.collapse],
            "inner_hits": {
                "name": "group",
                "size": GROUP_PREVIEW_SIZE + 1,  # the hit itself is one of them
                "sort": [{"published_at": {"order": "asc", "missing": "_last"}}],
                "_source": ["id", "title", "outlet", "language", "published_at", "url"],
            },
        }
    return body
