"""Typed records that flow through the pipeline.

`SourceMessage` is what came off Kafka; `Article` is the record every stage
reads and enriches; `DeadLetter` is a message that can never be processed,
with its reason. Stages are plain functions over these records.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from newsflow.errors import PermanentError

if TYPE_CHECKING:
    from newsflow.stages.neardup import Signature
    from newsflow.stories.features import ArticleFeatures


@dataclass(frozen=True, slots=True)
class SourceMessage:
    """One Kafka record, as received (value bytes untouched)."""

    value: bytes
    key: bytes | None
    topic: str
    partition: int
    offset: int
    # The record's Kafka timestamp (ms since the epoch, UTC); it picks the month index of an article
    # without published_at, and re-delivery, the retry topic and dead-letter replay keep it.
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """A named-entity mention in `Article.text` (offsets are character offsets into it)."""

    start: int
    end: int
    text: str
    type: str  # PER, ORG, LOC, MISC
    entity_id: str  # canonical id from the alias table, or a normalised key `<type>:<key>` when unknown
    source: str  # "table" or "model"


@dataclass(slots=True)
class Article:
    """An article being enriched. Fields after `source` are filled by the stages."""

    id: str
    url: str
    canonical_url: str
    outlet: str
    title: str
    body: str
    content_type: str
    published_at: datetime | None
    source: SourceMessage
    language_hint: str | None = None
    author: str | None = None
    tags: list[str] = field(default_factory=list)
    outlet_country: str | None = None
    # Filled by the stages
    text: str = ""
    language: str = "und"
    language_confidence: float = 0.0
    languages: list[str] = field(default_factory=list)
    title_language: str = "und"
    content_hash: str = ""
    # The text's words case-folded, one space apart, in UTF-8 (fingerprint): the content hash is taken of
    # them and the near-duplicate shingles are cut from them.
    folded_words: bytes | None = None
    boilerplate_lines_removed: int = 0
    entities: list[Mention] = field(default_factory=list)
    signature: Signature | None = None  # MinHash for near-duplicate search
    near_duplicate_of: str | None = None
    near_duplicate_similarity: float | None = None
    story_features: ArticleFeatures | None = None  # what story matching compares (entities, numbers, terms, embedding)
    story_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message refused for good, with the reason; its bytes go to the dead-letter topic unchanged."""

    message: SourceMessage
    error: PermanentError
    failed_at: datetime

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers carrying the dead-letter record (schemas/dead_letter.v1.json)."""
        fields = {
            "schema_version": "1",
            "error_code": self.error.code,
            "reason": self.error.detail,
            "stage": self.error.stage,
            "source_topic": self.message.topic,
            "source_partition": str(self.message.partition),
            "source_offset": str(self.message.offset),
            "failed_at": self.failed_at.isoformat(),
            "worker": WORKER_NAME,
        }
        return [(f"newsflow.{name}", value.encode("utf-8")) for name, value in fields.items()]


WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"
