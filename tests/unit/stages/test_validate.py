import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsflow.errors import PermanentError
from newsflow.models import SourceMessage
from newsflow.schemas import quick_validator, validator
from newsflow.stages.validate import ARTICLE_SCHEMA, parse_message
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


# Values around each field's rules: wrong types, limits, near-miss dates and codes.
FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.floats(allow_nan=False),
    st.sampled_from(["", "x" * 201, "2026-11-20T10:00:00Z", "2026-11-20 10:00", "2026-02-30T10:00:00Z"]),
    st.sampled_from(["en", "en-GB", "EN", "en\n", "e", "text/html", "text/xml", "GB", "gb"]),
    st.text(max_size=5),
    st.lists(st.text(max_size=3), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*VALID, "content_type", "language", "outlet_country", "x"]), FIELD_VALUES))
def test_the_fast_validator_accepts_only_what_jsonschema_accepts(changes):
    payload = {**VALID, **changes}
    if quick_validator(ARTICLE_SCHEMA).is_valid(payload):
        assert next(validator(ARTICLE_SCHEMA).iter_errors(payload), None) is None
