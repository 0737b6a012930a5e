"""The enrichment chain over one Kafka batch: pure, no I/O.

Every message comes out either as an enriched `Article` or as a `DeadLetter`
with the reason; nothing is dropped. Elasticsearch-side steps (exact duplicate
resolution, indexing) happen in `newsflow.es.indexer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from newsflow.errors import PermanentError
from newsflow.models import Article, DeadLetter, SourceMessage
from newsflow.settings import Settings
from newsflow.stages.extract import extract
from newsflow.stages.fingerprint import fingerprint
from newsflow.stages.language import detect_language
from newsflow.stages.neardup import near_duplicate_signer, sign_near_duplicates
from newsflow.stages.normalise import normalise
from newsflow.stages.validate import parse_message


@dataclass(slots=True)
class BatchResult:
    articles: list[Article] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def enrich_message(message: SourceMessage, settings: Settings) -> Article:
    article = parse_message(
        message, max_message_bytes=settings.max_message_bytes, max_body_chars=settings.max_body_chars
    )
    article = extract(normalise(article))
    article = detect_language(article, settings.language_min_confidence)
    return fingerprint(article)


def enrich_batch(messages: list[SourceMessage], settings: Settings) -> BatchResult:
    result = BatchResult()
    for message in messages:
        try:
            result.articles.append(enrich_message(message, settings))
        except PermanentError as error:
            result.dead_letters.append(DeadLetter(message, error, datetime.now(UTC)))
    if settings.neardup_enabled:
        sign_near_duplicates(result.articles, near_duplicate_signer())
    return result
