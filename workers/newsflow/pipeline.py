"""The enrichment chain over one Kafka batch: pure, no I/O.

Every message comes out either as an enriched `Article` or as a `DeadLetter`
with the reason; nothing is dropped. Per-message stages run one message at a
time; stages that gain from batching (MinHash signing, model NER) run once per
batch. Elasticsearch-side steps (duplicate resolution, stories, indexing)
happen in `newsflow.es.indexer`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from newsflow.entities.extractor import EntityExtractor
from newsflow.errors import PermanentError
from newsflow.logs import message_context
from newsflow.models import Article, DeadLetter, SourceMessage
from newsflow.settings import Settings
from newsflow.stages.boilerplate import BoilerplateLearner, BoilerplateRemover
from newsflow.stages.extract import extract
from newsflow.stages.fingerprint import fingerprint
from newsflow.stages.language import detect_language
from newsflow.stages.neardup import near_duplicate_signer, sign_near_duplicates
from newsflow.stages.normalise import normalise
from newsflow.stages.validate import parse_message
from newsflow.stories.embedding import sentence_encoder
from newsflow.stories.features import add_story_features

log = logging.getLogger(__name__)


@dataclass(slots=True)
class BatchResult:
    articles: list[Article] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


class Enricher:
    """One per worker process: it holds the loaded models and what the stages learn as the stream goes
    by (outlet chrome)."""

    def __init__(self, settings: Settings, boilerplate_learner: BoilerplateLearner | None = None) -> None:
        self.settings = settings
        self.boilerplate = BoilerplateRemover(settings, boilerplate_learner)
        self.entities = EntityExtractor(settings)

    def enrich_message(self, message: SourceMessage) -> Article:
        settings = self.settings
        article = parse_message(
            message, max_message_bytes=settings.max_message_bytes, max_body_chars=settings.max_body_chars
        )
        # Chrome goes before language detection, so the language is measured on the article alone.
        article = self.boilerplate.clean(extract(normalise(article)))
        article = detect_language(article, settings.language_min_confidence)
        return fingerprint(article)

    def enrich_batch(self, messages: list[SourceMessage]) -> BatchResult:
        result = BatchResult()
        for message in messages:
            try:
                result.articles.append(self.enrich_message(message))
            except PermanentError as error:
                result.dead_letters.append(DeadLetter(message, error, datetime.now(UTC)))
            except Exception as exc:  # a bug met by this message: dead-letter it (replayable after the fix), go on
                log.exception("enriching failed unexpectedly", extra=message_context(message))
                error = PermanentError("internal_error", f"{type(exc).__name__}: {exc}", "enrich")
                result.dead_letters.append(DeadLetter(message, error, datetime.now(UTC)))
        self.entities.annotate(result.articles)
        if self.settings.neardup_enabled:
            sign_near_duplicates(result.articles, near_duplicate_signer())
        if self.settings.stories_enabled:
            # Last: canonical entity ids are story features.
            add_story_features(
                result.articles,
                sentence_encoder() if self.settings.story_embeddings else None,
                self.settings.story_embedding_chars,
            )
        return result
