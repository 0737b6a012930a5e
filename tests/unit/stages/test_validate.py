import orjson
import pytest

from newsflow.errors import PermanentError
from newsflow.models import SourceMessage
from newsflow.stages.validate import parse_message
from newsflow.urls import article_id

LIMITS = {"max_message_bytes": 10_000, "max_body_chars": 1_000}
VALID = {
    "schema_version": 1,
    "url": "https://www.example.com/world/1?utm_source=x",
    "outlet": "Example Post",
    "title": "Lavrov meets Bortnikov",
    "body": "Moscow (EP) - Russian officials met on Monday.",
    "published_at": "2026-11-20T10:00:00Z",
    "tags": ["russia"],
}


def message(value: bytes | dict) -> SourceMessage:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return SourceMessage(value=raw, key=b"k", topic="articles.raw", partition=2, offset=41)


def refusal(value: bytes | dict) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        parse_message(message(value), **LIMITS)
    return caught.value


def test_valid_message_becomes_a_typed_article_keyed_by_canonical_url():
    article = parse_message(message(VALID), **LIMITS)
    assert article.id == article_id("https://example.com/world/1")
    assert article.canonical_url == "https://example.com/world/1"
    assert article.published_at.year == 2026 and article.published_at.utcoffset().total_seconds() == 0
    assert article.tags == ["russia"]
    assert article.content_type == "text/plain"
    assert article.source.offset == 41


@pytest.mark.parametrize(
    ("value", "code", "mentions"),
    [
        (b"{not json", "invalid_json", ""),
        (b"\xff\xfe\x00garbage", "invalid_encoding", "UTF-8"),
        (b"[1, 2]", "schema_violation", "object"),
        ({**VALID, "title": 42}, "schema_violation", "title"),
        ({k: v for k, v in VALID.items() if k != "url"}, "schema_violation", "url"),
        ({**VALID, "published_at": "yesterday"}, "schema_violation", "published_at"),
        ({**VALID, "schema_version": 2}, "schema_violation", "schema_version"),
        ({**VALID, "unexpected": True}, "schema_violation", "unexpected"),
        ({**VALID, "body": "x" * 1_001}, "body_too_long", "max_body_chars"),
        (b" " * 10_001, "message_too_large", "max_message_bytes"),
    ],
)
def test_bad_messages_are_refused_with_a_precise_reason(value, code, mentions):
    error = refusal(value)
    assert error.code == code
    assert mentions in error.detail
    assert error.stage == "validate"
