"""An alert about one spike of one term, and its message/document form (schemas/alert.v1.json).

One spike is one alert id (term + the spike's first window), so every update of a spike, and its
closing, overwrites the same Elasticsearch document and shares the Kafka message key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from newsflow.alerts.terms import term_kind

if TYPE_CHECKING:
    from newsflow.alerts.detector import WindowCount

SCHEMA_VERSION = 1
TOP_OUTLETS = 10
TOP_STORIES = 10


class AlertEvent(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Alert:
    """The state of a spike after one of its events; windows are given by their start (epoch seconds)."""

    event: AlertEvent
    term: str
    window_s: float
    started: float  # the spike's first window
    detected: float  # the window whose closing opened the alert
    last_window: float  # the spike's latest window above the stay threshold
    count: int  # articles in last_window
    baseline: float  # expected articles per window when the spike opened
    stddev: float
    score: float  # -log10 tail probability of `count`
    peak_count: int
    peak_score: float
    windows: int  # windows above the stay threshold so far
    evidence: WindowCount  # over those windows

    @property
    def id(self) -> str:
        return alert_id(self.term, self.started)

    def as_document(self) -> dict[str, Any]:
        evidence = self.evidence
        top_outlets = sorted(evidence.outlets.items(), key=lambda item: (-item[1], item[0]))[:TOP_OUTLETS]
        stories = sorted(evidence.story_ids.items(), key=lambda item: (-item[1], item[0]))[:TOP_STORIES]
        window_end = self.last_window + self.window_s
        return {
            "schema_version": SCHEMA_VERSION,
            "id": self.id,
            "event": self.event.value,
            "status": "closed" if self.event is AlertEvent.CLOSED else "open",
            "term": self.term,
            "term_kind": term_kind(self.term),
            "window_s": self.window_s,
            "window": {"start": isoformat(self.last_window), "end": isoformat(window_end)},
            "started_at": isoformat(self.started),
            "detected_at": isoformat(self.detected + self.window_s),
            "ended_at": isoformat(window_end) if self.event is AlertEvent.CLOSED else None,
            "count": self.count,
            "baseline": round(self.baseline, 3),
            "baseline_stddev": round(self.stddev, 3),
            "ratio": round(self.count / self.baseline, 2),
            "score": round(self.score, 2),
            "peak_count": self.peak_count,
            "peak_score": round(self.peak_score, 2),
            "total_count": evidence.count,
            "windows": self.windows,
            "outlet_count": len(evidence.outlets),
            "top_outlets": [{"outlet": outlet, "count": count} for outlet, count in top_outlets],
            "article_ids": list(evidence.article_ids),
            "story_ids": [story for story, _ in stories],
        }


def alert_id(term: str, started: float) -> str:
    return hashlib.sha256(f"{term}\n{round(started * 1000)}".encode()).hexdigest()[:32]


def isoformat(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()
