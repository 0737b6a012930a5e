"""Stage 1: bytes off Kafka -> a typed `Article`, or a PermanentError saying why not."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from jsonschema.exceptions import best_match

from newsflow.errors import PermanentError
from newsflow.models import Article, SourceMessage
from newsflow.schemas import quick_validator, validator
from newsflow.urls import article_id, canonical_url

ARTICLE_SCHEMA = "article.v1.json"
STAGE = "validate"


def parse_message(message: SourceMessage, *, max_message_bytes: int, max_body_chars: int) -> Article:
    """Decode, parse and schema-check one message; refuse it with a precise reason otherwise."""
    if len(message.value) > max_message_bytes:
        raise PermanentError(
            "message_too_large", f"{len(message.value)} bytes exceeds max_message_bytes={max_message_bytes}", STAGE
        )
    try:
        # orjson reads the UTF-8 itself (a str would be encoded back to UTF-8 for it); the text says why not.
        payload = orjson.loads(message.value)
    except orjson.JSONDecodeError:
        payload = _payload_of_text(message.value)
    if not isinstance(payload, dict):
        raise PermanentError("schema_violation", f"expected a JSON object, got {type(payload).__name__}", STAGE)
    # The fast validator accepts the usual, valid message; jsonschema's best match says why one is refused.
    error = (
        None
        if quick_validator(ARTICLE_SCHEMA).is_valid(payload)
        else best_match(validator(ARTICLE_SCHEMA).iter_errors(payload))
    )
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise PermanentError("schema_violation", f"{where}: {error.message}", STAGE)
    if len(payload["body"]) > max_body_chars:
        raise PermanentError(
            "body_too_long", f"body has {len(payload['body'])} characters, max_body_chars={max_body_chars}", STAGE
        )
    return _article_from_payload(payload, message)


def _payload_of_text(value: bytes) -> Any:
    """The JSON of `value` read as text, or a PermanentError saying why it is not UTF-8 or not JSON."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PermanentError("invalid_encoding", f"not UTF-8: {exc}", STAGE) from None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise PermanentError("invalid_json", str(exc), STAGE) from None


def _article_from_payload(payload: dict[str, Any], message: SourceMessage) -> Article:
    published = payload.get("published_at")
    try:
        published_at = datetime.fromisoformat(published) if published else None
    except ValueError as exc:  # RFC 3339 allows a few spellings that Python does not parse
        raise PermanentError("schema_violation", f"published_at: {exc}", STAGE) from None
    return Article(
        id=article_id(payload["url"]),
        url=payload["url"],
        canonical_url=canonical_url(payload["url"]),
        outlet=payload["outlet"],
        title=payload["title"],
        body=payload["body"],
        content_type=payload.get("content_type", "text/plain"),
        published_at=published_at,
        source=message,
        language_hint=payload.get("language"),
        author=payload.get("author"),
        tags=payload.get("tags", []),
        outlet_country=payload.get("outlet_country"),
    )
