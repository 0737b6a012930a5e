"""Open windows of mention counts per term, closed into the detector when the watermark passes their end.

The live worker and `alerts replay` both drive a `SpikeTracker`: `add` each mention, `close_until`
a watermark (a time before which no more mentions are expected). Only the storage differs: plain
dicts in replay, changelog-backed faust tables (one view per partition) in the worker.
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping

from newsflow.alerts.alert import Alert
from newsflow.alerts.detector import Detector, WindowCount
from newsflow.alerts.terms import Mention

WindowKey = tuple[str, float]  # (term, window start)


def window_start(at: float, window_s: float) -> float:
    return math.floor(at / window_s) * window_s


class SpikeTracker:
    def __init__(self, detector: Detector, windows: MutableMapping[WindowKey, WindowCount]) -> None:
        self.detector = detector
        self.windows = windows

    def add(self, mention: Mention) -> bool:
        """Count a mention in its window; False if that window of the term is already closed (late)."""
        window_s = self.detector.params.window_s
        window = math.floor(mention.at / window_s) * window_s  # window_start, inlined: called per mention
        state = self.detector.states.get(mention.term)
        if state is not None and window <= state.last_window:
            return False
        key = (mention.term, window)
        counts = self.windows.get(key) or WindowCount()
        counts.add(mention)
        self.windows[key] = counts
        return True

    def close_until(self, watermark: float) -> list[Alert]:
        """Close every window that ends at or before `watermark`, oldest first; then bring open spikes of
        terms without mentions up to date."""
        window_s = self.detector.params.window_s
        last_closed = window_start(watermark, window_s) - window_s
        closing = sorted((start, term) for term, start in self.windows if start <= last_closed)
        if self.detector.started is None:
            self.detector.started = closing[0][0] if closing else last_closed
        alerts: list[Alert] = []
        for start, term in closing:
            alerts += self.detector.close_window(term, start, self.windows.pop((term, start)))
        return alerts + self.detector.advance(last_closed)
