"""Worker log lines: JSON with the message's Kafka coordinates, secrets masked in every format."""

from __future__ import annotations

import logging
import sys

import orjson

from newsflow.logs import REDACTED, WorkerLogFormatter, message_context, secret_values
from newsflow.models import SourceMessage
from newsflow.settings import Settings

SECRETS = Settings(es_password="pw-123", es_api_key="key-456", kafka_sasl_password="scram-789")


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("newsflow.worker", logging.WARNING, __file__, 1, message, args, None)
    entry.__dict__.update(extra)
    return entry


def test_json_lines_carry_the_message_key_and_offset() -> None:
    message = SourceMessage(b"{}", b"abc123", "articles.raw", 2, 41)
    line = WorkerLogFormatter(as_json=True).format(
        record("dead-lettered: %s", "invalid_json", **message_context(message), error_code="invalid_json")
    )
    entry = orjson.loads(line)
    assert entry["message"] == "dead-lettered: invalid_json"
    assert (entry["message_key"], entry["topic"], entry["partition"], entry["offset"]) == (
        "abc123",
        "articles.raw",
        2,
        41,
    )
    assert entry["error_code"] == "invalid_json" and entry["level"] == "WARNING"


def test_every_secret_of_the_settings_is_masked_in_messages_and_tracebacks() -> None:
    assert sorted(secret_values(SECRETS)) == ["key-456", "pw-123", "scram-789"]
    for as_json in (True, False):
        formatter = WorkerLogFormatter(as_json, secret_values(SECRETS))
        try:
            raise ValueError("auth failed for pw-123")
        except ValueError:
            failing = record("connecting with %s and %s", "key-456", "scram-789")
            failing.exc_info = sys.exc_info()
        line = formatter.format(failing)
        assert not any(secret in line for secret in secret_values(SECRETS))
        assert REDACTED in line


def test_settings_repr_hides_the_secrets() -> None:
    assert not any(secret in repr(SECRETS) for secret in secret_values(SECRETS))
