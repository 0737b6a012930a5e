"""The search API's query parameters and response models: they document it in the published OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class SearchParameters(BaseModel):
    """The query parameters of /api/search, named as `SearchRequest.from_parameters` takes them."""

    q: str = Field("", description='words (all must match), "phrases", -excluded', max_length=2000)
    outlet: list[str] = Field([], description="outlet (repeatable)")
    country: list[str] = Field([], description="outlet country (repeatable)")
    lang: list[str] = Field([], description="detected language, e.g. en, ar (repeatable)")
    entity: list[str] = Field([], description="canonical entity id (repeatable)")
    entity_type: list[str] = Field([], description="PER, ORG, LOC, MISC (repeatable)")
    story: list[str] = Field([], description="story id (repeatable)")
    duplicate_status: list[str] = Field([], description="original, near_duplicate")
    since: datetime | None = Field(None, description="published at or after (ISO 8601)")
    until: datetime | None = Field(None, description="published before (ISO 8601)")
    size: int = Field(10, ge=0, le=100)
    sort: Literal["relevance", "date"] = "relevance"
    collapse: Literal["none", "duplicates", "stories"] = Field(
        "duplicates", description="one hit per original, or per story"
    )
    cursor: str | None = Field(None, description="next_cursor of the previous page", max_length=4096)


class MatchReason(BaseModel):
    kind: Literal["text", "phrase", "entity"] = Field(description="text or phrase: the words; entity: its id")
    text: str | None = Field(None, description="the words of the query that matched (text, phrase)")
    entity_id: str | None = Field(None, description="canonical id the article carries (entity)")
    label: str | None = Field(None, description="the entity's name (entity)")


class GroupMember(BaseModel):
    id: str
    title: str | None = None
    outlet: str | None = None
    language: str | None = None
    published_at: str | None = None
    url: str | None = None


class Group(BaseModel):
    key: str = Field(description="the duplicate group (original's id) or story id the hit stands for")
    size: int = Field(description="articles in the group, this one included")
    others: list[GroupMember] = Field(description="a few other members, oldest first")


class Hit(BaseModel):
    id: str
    score: float | None
    title: str = Field(description="plain text; escape before display")
    title_html: str = Field(description="escaped title, matches in <mark>: safe to insert as HTML")
    snippet: str = Field(description="plain text with matches between « and »")
    snippet_html: str = Field(description="escaped excerpt, matches in <mark>: safe to insert as HTML")
    outlet: str | None
    outlets: list[str] = Field(description="the outlet and those that syndicated the same text")
    outlet_country: str | None
    url: str | None
    language: str | None
    direction: Literal["ltr", "rtl"]
    published_at: str | None
    duplicate_status: str | None
    duplicate_of: str | None
    story_id: str | None
    entity_ids: list[str]
    matched: list[MatchReason] = Field(description="why the article matched")
    group: Group | None = None


class Bucket(BaseModel):
    key: str
    count: int
    label: str | None = None


class Facets(BaseModel):
    outlets: list[Bucket]
    outlet_countries: list[Bucket]
    languages: list[Bucket]
    entity_ids: list[Bucket]
    entity_types: list[Bucket]
    story_ids: list[Bucket]
    duplicate_statuses: list[Bucket]
    published: list[Bucket] = Field(description="date histogram; the interval adapts to the range")


class SearchResponse(BaseModel):
    query: str
    total: int = Field(description="matching articles (before collapsing)")
    hits: list[Hit]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
    facets: Facets


class Article(BaseModel):
    id: str
    direction: Literal["ltr", "rtl"]
    source: dict[str, Any] = Field(description="the indexed document; text fields are plain text")


class Story(BaseModel):
    id: str
    size: int
    outlets: list[Bucket]
    languages: list[Bucket]
    first_published: str | None
    last_published: str | None
    articles: list[GroupMember]


class Problem(BaseModel):
    error: str = Field(description="stable machine-readable code")
    detail: Any = Field(description="what was wrong, for people")
