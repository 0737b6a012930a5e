"""Constructed windows and count series for the alert tests."""

from __future__ import annotations

import math
import random
from dataclasses import replace

from newsflow.alerts.alert import Alert
from newsflow.alerts.detector import Detector, DetectorParams, WindowCount
from newsflow.alerts.terms import Mention

START = 1_767_571_200.0  # 2026-01-05T00:00:00Z, a window boundary
DAY_WINDOWS = 288


def window_count(count: int, outlets: int = 5, prefix: str = "a", rng: random.Random | None = None) -> WindowCount:
    """`count` articles spread round-robin (or at random with `rng`) over `outlets` outlets."""
    counts = WindowCount()
    for number in range(count):
        outlet = rng.randrange(outlets) if rng else number % outlets
        counts.add(Mention("t", 0.0, f"{prefix}{number}", f"outlet-{outlet}", None, True))
    return counts


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method for small means, a rounded normal above (enough for test series)."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def daily_series(rng: random.Random, mean: float, days: float, amplitude: float = 0.6) -> list[int]:
    """Poisson counts of 5-minute windows around `mean`, with a daily cycle peaking at 14:00 UTC."""
    windows = round(days * DAY_WINDOWS)
    return [
        poisson(rng, mean * (1 + amplitude * math.cos(2 * math.pi * (index / DAY_WINDOWS - 14 / 24))))
        for index in range(windows)
    ]


def fresh_detector(params: DetectorParams, **overrides: float) -> Detector:
    return Detector(replace(params, **overrides), states={}, started=None)


def run_series(detector: Detector, term: str, counts: list[int], outlets: int = 5, first: float = START) -> list[Alert]:
    """Close one window per count, in order (a zero count closes the window as empty); every alert event."""
    rng = random.Random(1)
    alerts = []
    for index, count in enumerate(counts):
        window = first + index * detector.params.window_s
        observed = window_count(count, outlets, f"w{index}-", rng) if count else None
        alerts += detector.close_window(term, window, observed)
    return alerts


def overdispersed_series(rng: random.Random, mean: float, days: float, dispersion: float) -> list[int]:
    """Counts with the daily cycle of `daily_series` whose variance is `dispersion` times their mean (Poisson
    counts of a gamma-distributed rate): news that comes in waves of its own, not a burst."""
    windows = round(days * DAY_WINDOWS)
    counts = []
    for index in range(windows):
        expected = mean * (1 + 0.6 * math.cos(2 * math.pi * (index / DAY_WINDOWS - 14 / 24)))
        shape = expected / (dispersion - 1)  # var = expected + expected² / shape = dispersion × expected
        counts.append(poisson(rng, rng.gammavariate(shape, expected / shape)))
    return counts
