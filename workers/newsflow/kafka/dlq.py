"""Reading the dead-letter topic: each record's value is the original message, its headers the reason."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kafka.consumer.fetcher import ConsumerRecord

from newsflow.kafka.reader import read_records
from newsflow.settings import Settings

HEADER_PREFIX = "newsflow."
INTEGER_FIELDS = ("schema_version", "source_partition", "source_offset")


def dead_letter_view(record: ConsumerRecord) -> dict[str, Any]:
    """The JSON view of a dead letter's headers (schemas/dead_letter.v1.json)."""
    view: dict[str, Any] = {
        name.removeprefix(HEADER_PREFIX): value.decode("utf-8")
        for name, value in record.headers
        if name.startswith(HEADER_PREFIX)
    }
    for name in INTEGER_FIELDS:
        view[name] = int(view[name])
    view["source_key"] = record.key.decode("utf-8", errors="replace") if record.key else None
    return view


def count_by_reason(settings: Settings) -> Counter[str]:
    return Counter(dead_letter_view(record)["error_code"] for record in read_records(settings, settings.topic_dlq))
