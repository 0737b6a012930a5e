from datetime import UTC, datetime

import pytest

from newsflow.entities.extractor import EntityExtractor
from newsflow.models import Article, SourceMessage
from newsflow.settings import Settings


@pytest.fixture(scope="session")
def table_only() -> EntityExtractor:
    return EntityExtractor(Settings(entities_model_ner=False))


@pytest.fixture(scope="session")
def with_model() -> EntityExtractor:
    return EntityExtractor(Settings())


def _article(text: str, language: str) -> Article:
    message = SourceMessage(value=b"", key=None, topic="t", partition=0, offset=0)
    return Article(
        id=text[:8],
        url="https://example.org/a",
        canonical_url="https://example.org/a",
        outlet="example",
        title="",
        body=text,
        content_type="text/plain",
        published_at=datetime.now(UTC),
        source=message,
        text=text,
        language=language,
    )


@pytest.fixture
def make_article():
    return _article
