"""`newsflow alerts replay`: the detector over a file of timestamped enriched articles, offline.

The same `SpikeTracker` as the live worker, with dicts for state. Windows close when the latest
article time, less the grace, passes their end, as in the worker while articles keep coming; an
article older than a closed window of its term is late and not counted, as in the worker.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from newsflow.alerts.alert import Alert
from newsflow.alerts.detector import Detector, DetectorParams
from newsflow.alerts.terms import Mention, SignificantTerms, WatchList, article_time, mentions_of
from newsflow.alerts.tracker import SpikeTracker, window_start
from newsflow.errors import ConfigError


@dataclass(slots=True)
class ReplayCounts:
    articles: int = 0
    untimed: int = 0  # articles without a time: skipped
    mentions: int = 0
    late: int = 0  # mentions for a window of their term already closed


@dataclass
class Replay:
    params: DetectorParams
    watch_list: WatchList | None
    time_field: str = "published_at"
    grace_s: float = 0.0
    significant: SignificantTerms | None = None
    alerts: list[Alert] = field(default_factory=list)
    counts: ReplayCounts = field(default_factory=ReplayCounts)

    def __post_init__(self) -> None:
        self.tracker = SpikeTracker(Detector(self.params, {}, started=None), {})
        self._latest = -math.inf
        self._next_close = -math.inf

    def feed(self, document: dict) -> list[Mention]:
        """Count one article's mentions (returned), closing the windows its time makes complete."""
        self.counts.articles += 1
        at = article_time(document, self.time_field)
        if at is None:
            self.counts.untimed += 1
            return []
        mentions = mentions_of(document, at, self.watch_list, self.significant)
        self.counts.mentions += len(mentions)
        self.counts.late += sum(not self.tracker.add(mention) for mention in mentions)
        self._latest = max(self._latest, at)
        if self._latest - self.grace_s >= self._next_close:
            self._close_until(self._latest - self.grace_s)
        return mentions

    def finish(self) -> list[Alert]:
        """Close the last windows (spikes still open stay open); every alert event, in order."""
        if self._latest > -math.inf:
            self._close_until(window_start(self._latest, self.params.window_s) + self.params.window_s)
        return self.alerts

    def _close_until(self, watermark: float) -> None:
        self.alerts += self.tracker.close_until(watermark)
        self._next_close = window_start(watermark, self.params.window_s) + self.params.window_s


def read_articles(path: Path) -> Iterator[dict]:
    """Enriched articles from a JSON Lines file (one document per line, as on articles.enriched)."""
    try:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    try:
                        yield orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        raise ConfigError(f"{path}:{number}: not a JSON document ({exc})") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
