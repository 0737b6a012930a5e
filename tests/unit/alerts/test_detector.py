"""The detector on constructed series: bursts caught, steady or one-outlet traffic not, cold start."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, MutableMapping

import orjson
import pytest

from newsflow.alerts.alert import AlertEvent
from newsflow.alerts.detector import Detector, TermState, WindowCount, tail_score
from newsflow.alerts.terms import Mention

from .series import DAY_WINDOWS, START, daily_series, fresh_detector, overdispersed_series, run_series, window_count


def opened(alerts: list) -> list:
    return [alert for alert in alerts if alert.event is AlertEvent.OPENED]


def test_a_burst_of_three_times_the_baseline_is_caught_within_a_window(params):
    rng = random.Random(7)
    # Four days to learn the daily cycle, then a burst at 14:00 UTC, when the term is busiest.
    background = daily_series(rng, mean=12, days=4 + 14 / 24)
    burst_at = len(background)
    expected = 12 * (1 + 0.6 * math.cos(2 * math.pi * (burst_at / DAY_WINDOWS - 14 / 24)))
    counts = background + [round(3 * expected)] * 2 + daily_series(rng, mean=12, days=0.5)[: DAY_WINDOWS // 4]
    alerts = run_series(fresh_detector(params), "org:islamic-state", counts, outlets=6)
    (alert,) = opened(alerts)
    detected_window = round((alert.detected - START) / params.window_s)
    assert burst_at <= detected_window <= burst_at + 1
    assert alert.term == "org:islamic-state" and alert.count >= 2 * alert.baseline


def test_a_steady_high_volume_term_never_alerts(params):
    counts = daily_series(random.Random(3), mean=200, days=3)
    assert run_series(fresh_detector(params), "loc:gaza", counts, outlets=12) == []


def test_a_daily_cycle_is_learnt_not_alerted(params):
    counts = daily_series(random.Random(5), mean=15, days=4, amplitude=0.8)
    assert opened(run_series(fresh_detector(params), "per:netanyahu", counts, outlets=8)) == []


def cycle_mean(mean: float, index: int) -> float:
    """The expected count of window `index` of the series helpers' daily cycle."""
    return mean * (1 + 0.6 * math.cos(2 * math.pi * (index / DAY_WINDOWS - 14 / 24)))


def test_over_dispersed_traffic_is_learnt_not_alerted(params):
    counts = overdispersed_series(random.Random(2), mean=10, days=3, dispersion=4)
    # Waves a Poisson test (variance = mean) would call spikes, given even the true expected counts...
    poisson_scores = [tail_score(count, cycle_mean(10, i), cycle_mean(10, i)) for i, count in enumerate(counts)]
    assert max(poisson_scores[params.warmup_windows :]) > params.open_score
    detector = fresh_detector(params)
    # ...are the term's usual variance once its dispersion is learnt.
    assert opened(run_series(detector, "loc:gaza", counts, outlets=8)) == []
    assert 3 < detector.states["loc:gaza"].dispersion < 6


def test_a_burst_on_an_over_dispersed_term_is_still_caught(params):
    # Its waves learnt over three days, then five times its usual count for two windows at its busy hour.
    background = overdispersed_series(random.Random(4), mean=10, days=3 + 14 / 24, dispersion=4)
    burst_at = len(background)
    burst = [round(5 * cycle_mean(10, burst_at + offset)) for offset in range(2)]
    alerts = run_series(fresh_detector(params), "loc:gaza", background + burst + [5] * 10, outlets=8)
    (alert,) = opened(alerts)
    assert alert.started == START + burst_at * params.window_s
    assert alert.detected - alert.started <= params.window_s


def test_a_burst_from_one_outlet_does_not_alert(params):
    detector = fresh_detector(params)
    rng = random.Random(11)
    background = daily_series(rng, mean=10, days=1)
    alerts = run_series(detector, "org:al-qaeda", background, outlets=6)
    # A live blog: 60 more articles from one outlet, for three windows, over the usual coverage.
    for offset in range(3):
        window = START + (len(background) + offset) * params.window_s
        counts = window_count(10, outlets=6, prefix=f"b{offset}-")
        for number in range(60):
            counts.add(Mention("org:al-qaeda", window, f"blog{offset}-{number}", "live-blog", None, True))
        alerts += detector.close_window("org:al-qaeda", window, counts)
    assert opened(alerts) == []


def test_cold_start_does_not_fire_on_the_first_windows(params):
    detector = fresh_detector(params)
    # A term everywhere from the first window on: no history yet, so no baseline to exceed.
    alerts = run_series(detector, "org:islamic-state", [100] * params.warmup_windows, outlets=10)
    assert alerts == []


def test_a_new_term_after_the_warm_up_alerts_against_the_floor(params):
    detector = fresh_detector(params)
    run_series(detector, "org:un", [5] * (params.warmup_windows + 10))
    first_seen = START + (params.warmup_windows + 10) * params.window_s
    alerts = detector.close_window("per:new-name", first_seen, window_count(30, outlets=6))
    (alert,) = opened(alerts)
    assert alert.baseline == pytest.approx(0.5)  # MIN_BASELINE: never seen since the detector started


def test_one_spike_gives_one_alert_updated_then_closed(params):
    counts = [10] * 100 + [40, 45, 50, 42] + [10] * 10
    alerts = run_series(fresh_detector(params), "org:hamas", counts, outlets=6)
    events = [alert.event for alert in alerts]
    assert events == [AlertEvent.OPENED] + [AlertEvent.UPDATED] * 3 + [AlertEvent.CLOSED]
    assert len({alert.id for alert in alerts}) == 1
    closed = alerts[-1]
    assert closed.windows == 4 and closed.peak_count == 50 and closed.evidence.count == 40 + 45 + 50 + 42


def test_two_windows_open_a_burst_too_small_for_one(params):
    counts = [8] * 100 + [20, 20] + [8] * 5
    single = tail_score(20, 8, 8)
    assert single < params.open_score  # neither window alone is enough...
    alerts = run_series(fresh_detector(params), "org:hamas", counts, outlets=5)
    (alert,) = opened(alerts)
    # ...the two together are: detected at the second, started at the first.
    assert alert.detected - alert.started == params.window_s
    assert alert.started == START + 100 * params.window_s and alert.windows == 2


def test_an_open_spike_closes_when_its_term_goes_quiet(params):
    detector = fresh_detector(params)
    alerts = run_series(detector, "org:hamas", [10] * 100 + [60])
    assert [alert.event for alert in alerts] == [AlertEvent.OPENED]
    # No more mentions at all: the worker's ticks bring the term forward with empty windows.
    later = START + 110 * params.window_s
    closing = detector.advance(later)
    assert [alert.event for alert in closing] == [AlertEvent.CLOSED]
    assert detector.states["org:hamas"].spike is None


def test_state_in_json_gives_the_same_alerts_as_state_in_memory(params):
    counts = daily_series(random.Random(2), mean=9, days=1) + [35, 40, 30] + [9] * 20
    in_memory = run_series(fresh_detector(params), "org:islamic-state", counts, outlets=6)

    class JsonStates(MutableMapping):
        """Keeps each state as the worker's table does: a JSON document."""

        def __init__(self) -> None:
            self.documents: dict[str, bytes] = {}

        def __setitem__(self, term: str, state: TermState) -> None:
            self.documents[term] = orjson.dumps(state.as_dict())

        def __getitem__(self, term: str) -> TermState:
            return TermState.from_dict(orjson.loads(self.documents[term]))

        def __delitem__(self, term: str) -> None:
            del self.documents[term]

        def __iter__(self) -> Iterator[str]:
            return iter(self.documents)

        def __len__(self) -> int:
            return len(self.documents)

    restored = Detector(params, JsonStates(), started=None)
    assert [alert.as_document() for alert in run_series(restored, "org:islamic-state", counts, outlets=6)] == [
        alert.as_document() for alert in in_memory
    ]


@pytest.mark.parametrize(
    ("count", "mean", "variance"), [(20, 10.0, 10.0), (9, 1.5, 1.5), (40, 12.0, 30.0), (15, 2.0, 9.0)]
)
def test_tail_score_matches_a_direct_sum(count, mean, variance):
    if variance > mean:
        size, success = mean * mean / (variance - mean), mean / variance

        def log_pmf(k: int) -> float:
            return (
                math.lgamma(k + size) - math.lgamma(size) - math.lgamma(k + 1)
                + size * math.log(success) + k * math.log1p(-success)
            )  # fmt: skip
    else:

        def log_pmf(k: int) -> float:
            return k * math.log(mean) - mean - math.lgamma(k + 1)

    below = sum(math.exp(log_pmf(k)) for k in range(count))
    assert tail_score(count, mean, variance) == pytest.approx(-math.log10(1 - below), rel=1e-6)


def test_tail_score_of_extreme_counts_does_not_underflow():
    assert tail_score(500, 2.0, 2.0) > 300


def test_window_counts_count_texts_once_and_every_outlet():
    counts = WindowCount()
    counts.add(Mention("t", 0.0, "a1", "reuters", "s1", True))
    counts.add(Mention("t", 0.0, "a2", "bbc", "s1", False))  # a syndicated copy of a1
    assert counts.count == 1 and counts.outlets == {"reuters": 1, "bbc": 1}
    assert counts.article_ids == ["a1"] and counts.story_ids == {"s1": 2}
    assert counts.top_outlet_share() == 0.5
