"""Worker log lines: one JSON object per record (or plain text), with the Kafka coordinates of the
message concerned, and never a secret of the settings (masked even if some library prints it)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from newsflow.models import SourceMessage
from newsflow.settings import Settings

REDACTED = "***"
# `extra` fields that the JSON lines carry when a record has them.
CONTEXT_FIELDS = ("message_key", "topic", "partition", "offset", "error_code", "stage")
TEXT_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"


def message_context(message: SourceMessage) -> dict[str, Any]:
    """`extra` for a log record about one message: its key and where it sits on Kafka."""
    return {
        "message_key": message.key.decode("utf-8", errors="replace") if message.key else None,
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
    }


def secret_values(settings: Settings) -> list[str]:
    secrets = (settings.es_password, settings.es_api_key, settings.kafka_sasl_password)
    return [secret for secret in secrets if secret]


class WorkerLogFormatter(logging.Formatter):
    def __init__(self, as_json: bool, secrets: Iterable[str] = ()) -> None:
        super().__init__(TEXT_FORMAT)
        self._as_json = as_json
        self._secrets = list(secrets)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def format(self, record: logging.LogRecord) -> str:
        if not self._as_json:
            return self._redact(super().format(record))
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        entry.update((name, getattr(record, name)) for name in CONTEXT_FIELDS if hasattr(record, name))
        if record.exc_info:
            entry["exception"] = self._redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def logging_config(settings: Settings, loglevel: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the worker (faust's own logs included)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "worker": {
                "()": WorkerLogFormatter,
                "as_json": settings.log_format == "json",
                "secrets": secret_values(settings),
            }
        },
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "worker", "stream": "ext://sys.stdout"}
        },
        "root": {"level": loglevel.upper(), "handlers": ["default"]},
    }
