"""Spike detection of one term against its own recent baseline: pure, no I/O, shared by the live worker
and `newsflow alerts replay`. The method and the choice of defaults are explained in docs/alerts.md.

Per closed window of a term:

* **Baseline**: the term's level (mentions per window, exponentially weighted, half-life in windows)
  times its own daily profile (a factor per hour of the day, UTC, learnt with weight `PROFILE_WEIGHT`
  per window and kept at mean 1), so that a term busy every afternoon is not news every afternoon;
  the variance is the expected count times the term's dispersion (exponentially weighted mean of
  squared forecast error / expected count, at least 1: Poisson or wider), so that it follows the daily
  cycle instead of lagging behind it. A young history is averaged plainly (weight 1/n until that is
  smaller than the EW weight), so the first windows are not biased towards zero. After the warm-up,
  counts are clipped at expected + `CLIP_SIGMAS` standard deviations before they update the baseline,
  so a spike barely moves the baseline it is measured against.
* **Tail test**: P(X >= count) under a negative binomial with the baseline's mean and variance (Poisson
  when the variance is not above the mean); the score is -log10 of that probability. It is applied to
  the window alone and to the window with the one before (sums of their expected counts and variances,
  as they were before either was folded in): a burst too small to stand out in one window stands out
  over two, one window later.
* **Guards**: a spike opens only with a score of at least `open_score`, a count of at least `min_count`
  and `min_ratio` times the baseline, at least `min_outlets` distinct outlets, and no single outlet
  holding more than `max_outlet_share` of the articles (one outlet cannot trigger it alone); over two
  windows, the second must itself score at least `stay_score` (the burst is still on).
* **Hysteresis**: an open spike stays open while windows score at least `stay_score` (each such window
  updates the alert), and closes after `close_after` windows below it: one spike, one alert.
* **Bounded significant terms**: at most `significant_max_terms` significant terms are remembered; beyond,
  the least frequent ones without an open spike are forgotten at each window's end (Space-Saving's
  eviction: a frequent term keeps its history, a forgotten one is a new term if it returns).
* **Cold start**: history is counted from the detector's first window (`started`); a term first seen
  later is known to have had no mentions since then. No term can open a spike before `warmup_windows`
  of history, so the first windows of a fresh detector never alert, and a term never seen before is
  compared with a floor of `MIN_BASELINE` mentions per window, not with zero.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from newsflow.alerts.alert import Alert, AlertEvent
from newsflow.alerts.terms import SIGNIFICANT_PREFIX, Mention

if TYPE_CHECKING:
    from newsflow.settings import Settings

# Expected mentions per window assumed for a term with (almost) no history: a never-seen term needs
# several articles in one window before the tail test calls it unusual.
MIN_BASELINE = 0.5
CLIP_SIGMAS = 3.0
# Daily profile: one factor per hour of the day; each window moves its hour's factor this much towards
# what it saw (12 windows of 5 minutes an hour: an hour's factor has a memory of about a week).
PROFILE_HOURS = 24
PROFILE_WEIGHT = 0.05
# A factor never drops below this: the level is divided by it.
MIN_PROFILE_FACTOR = 0.1
# A term whose baseline has faded below this (mentions per window) and has no open spike is forgotten;
# if it comes back, it is a term with no mentions since the detector started, which is what it was.
FORGET_BELOW = 0.01
# Zero windows folded one by one at most this many times; beyond, the level only decays.
MAX_STEPWISE_ZEROS = 1000
# Terms of a tail sum at most (very overdispersed baselines converge slowly; the bound covers the rest).
MAX_TAIL_TERMS = 10_000
# Evidence kept per window and per spike: enough to show in an alert, bounded in the changelog.
MAX_SAMPLE_ARTICLES = 10
MAX_OUTLETS = 100
MAX_STORIES = 20
# The dispersion is learnt over a day, not over the level's hours: a ratio of squared errors needs many
# more windows than a mean to settle, and learnt over 3 hours its noise alone (about ±15 %) widened the
# tail test half of the time, costing recall at the same false-alert rate.
DISPERSION_WEIGHT = 1 - 0.5 ** (1 / 288)


@dataclass(frozen=True, slots=True)
class DetectorParams:
    window_s: float
    half_life_windows: float
    warmup_windows: int
    min_count: int
    min_ratio: float
    min_outlets: int
    max_outlet_share: float
    open_score: float
    stay_score: float
    close_after: int
    significant_max_terms: int

    @classmethod
    def from_settings(cls, settings: Settings) -> DetectorParams:
        return cls(
            window_s=settings.alerts_window_s,
            half_life_windows=settings.alerts_baseline_half_life_windows,
            warmup_windows=settings.alerts_warmup_windows,
            min_count=settings.alerts_min_count,
            min_ratio=settings.alerts_min_ratio,
            min_outlets=settings.alerts_min_outlets,
            max_outlet_share=settings.alerts_max_outlet_share,
            open_score=settings.alerts_open_score,
            stay_score=settings.alerts_stay_score,
            close_after=settings.alerts_close_after,
            significant_max_terms=settings.alerts_significant_max_terms,
        )

    @property
    def alpha(self) -> float:
        """Weight of the newest window in the exponentially weighted baseline."""
        return 1 - 0.5 ** (1 / self.half_life_windows)


@dataclass(slots=True)
class WindowCount:
    """Mentions of one term in one window (or over a spike): articles counted, and evidence to show.

    `outlets` counts every publication, syndicated copies included (they show how far a text spread);
    `count` counts each text once, so one wire story copied by ten outlets is one article.
    """

    count: int = 0
    outlets: dict[str, int] = field(default_factory=dict)
    article_ids: list[str] = field(default_factory=list)
    story_ids: dict[str, int] = field(default_factory=dict)

    def add(self, mention: Mention) -> None:
        # The hot path of counting (every mention): no helper calls.
        outlets = self.outlets
        if mention.outlet in outlets:
            outlets[mention.outlet] += 1
        elif len(outlets) < MAX_OUTLETS:
            outlets[mention.outlet] = 1
        if mention.counted:
            self.count += 1
            if len(self.article_ids) < MAX_SAMPLE_ARTICLES:
                self.article_ids.append(mention.article_id)
        if mention.story_id:
            _bump(self.story_ids, mention.story_id, 1, MAX_STORIES)

    def merge(self, other: WindowCount) -> None:
        self.count += other.count
        for outlet, count in other.outlets.items():
            _bump(self.outlets, outlet, count, MAX_OUTLETS)
        self.article_ids.extend(other.article_ids[: MAX_SAMPLE_ARTICLES - len(self.article_ids)])
        for story, count in other.story_ids.items():
            _bump(self.story_ids, story, count, MAX_STORIES)

    def top_outlet_share(self) -> float:
        total = sum(self.outlets.values())
        return max(self.outlets.values()) / total if total else 0.0

    def copy(self) -> WindowCount:
        return WindowCount(self.count, dict(self.outlets), list(self.article_ids), dict(self.story_ids))

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "outlets": self.outlets,
            "article_ids": self.article_ids,
            "story_ids": self.story_ids,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowCount:
        return cls(
            count=data["count"],
            outlets=dict(data["outlets"]),
            article_ids=list(data["article_ids"]),
            story_ids=dict(data["story_ids"]),
        )


def _bump(counter: dict[str, int], key: str, by: int, max_keys: int) -> None:
    """Count `key`; a new key beyond `max_keys` is not added (the first ones seen are kept)."""
    if key in counter:
        counter[key] += by
    elif len(counter) < max_keys:
        counter[key] = by


@dataclass(slots=True)
class Spike:
    """An open spike of a term: its first window, its latest window above the stay threshold, and
    what it has gathered (evidence over all its hot windows)."""

    started: float
    detected: float  # the window whose closing opened the spike (started, or the one after)
    last_hot: float
    baseline: float
    stddev: float
    count: int
    score: float
    peak_count: int
    peak_score: float
    windows: int = 1
    quiet: int = 0
    evidence: WindowCount = field(default_factory=WindowCount)

    def as_dict(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in SPIKE_FIELDS}, "evidence": self.evidence.as_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Spike:
        return cls(**{**data, "evidence": WindowCount.from_dict(data["evidence"])})


SPIKE_FIELDS = tuple(name for name in Spike.__dataclass_fields__ if name != "evidence")


@dataclass(slots=True)
class TermState:
    """What the detector remembers of a term: its baseline after `last_window`, and an open spike."""

    last_window: float
    history: int
    level: float = 0.0  # mentions per window, daily profile divided out
    dispersion: float = 1.0  # variance / expected count of the forecast errors
    profile: list[float] | None = None  # factor per hour of the day (UTC); None until learning starts
    previous: WindowCount | None = None  # the window at last_window, if it had mentions...
    previous_mean: float = 0.0  # ...and its expected count and variance before it was folded in
    previous_variance: float = 0.0
    spike: Spike | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "last_window": self.last_window,
            "history": self.history,
            "level": self.level,
            "dispersion": self.dispersion,
            "profile": self.profile,
            "previous": self.previous.as_dict() if self.previous else None,
            "previous_mean": self.previous_mean,
            "previous_variance": self.previous_variance,
            "spike": self.spike.as_dict() if self.spike else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TermState:
        return cls(
            last_window=data["last_window"],
            history=data["history"],
            level=data["level"],
            dispersion=data["dispersion"],
            profile=data["profile"],
            previous=WindowCount.from_dict(data["previous"]) if data.get("previous") else None,
            previous_mean=data["previous_mean"],
            previous_variance=data["previous_variance"],
            spike=Spike.from_dict(data["spike"]) if data.get("spike") else None,
        )


class Detector:
    """Closes windows of terms, in order per term, into alerts; state lives in `states` (a dict for
    replay, a changelog-backed faust table in the worker), written back after every change."""

    def __init__(self, params: DetectorParams, states: MutableMapping[str, TermState], started: float | None) -> None:
        self.params = params
        self.states = states
        # Start of the first window this detector closed: the beginning of every term's history.
        self.started = started

    def close_window(self, term: str, window: float, observed: WindowCount | None) -> list[Alert]:
        """Fold one closed window of `term` (None: no mentions) into its state; windows in between count
        as empty. A window at or before the last one folded is ignored (already counted)."""
        step = self.params.window_s
        if self.started is None:
            self.started = window
        state = self.states.get(term)
        if state is None:
            # Mentioned for the first time: no mentions in any window since the detector started.
            history = max(0, round((window - self.started) / step))
            state = TermState(last_window=window - step, history=history)
        elif window <= state.last_window:
            return []
        alerts = self._fold_empty_windows(term, state, round((window - state.last_window) / step) - 1)
        alerts += self._evaluate(term, state, window, observed or WindowCount())
        self.states[term] = state
        return alerts

    def advance(self, window: float) -> list[Alert]:
        """Bring every open spike up to `window` (terms not mentioned since are quiet), forget terms whose
        baseline has faded, and the least frequent significant terms beyond `significant_max_terms`."""
        alerts: list[Alert] = []
        decay = 1 - self.params.alpha
        significant: list[tuple[float, str]] = []  # (level, term) of those that may be forgotten
        significant_kept = 0
        for term, state in list(self.states.items()):
            if state.last_window < window:
                if state.spike is not None:
                    alerts += self.close_window(term, window, None)
                elif state.level * decay ** ((window - state.last_window) / self.params.window_s) < FORGET_BELOW:
                    del self.states[term]
                    continue
            if term.startswith(SIGNIFICANT_PREFIX):
                significant_kept += 1
                if state.spike is None:
                    significant.append((state.level, term))
        for _, term in heapq.nsmallest(significant_kept - self.params.significant_max_terms, significant):
            del self.states[term]
        return alerts

    def expected(self, state: TermState) -> tuple[float, float]:
        """Expected count of the window after `last_window`, and its variance (at least Poisson's)."""
        mean = max(state.level * self._profile_factor(state, state.last_window + self.params.window_s), MIN_BASELINE)
        return mean, max(state.dispersion, 1.0) * mean

    def _evaluate(self, term: str, state: TermState, window: float, observed: WindowCount) -> list[Alert]:
        params = self.params
        mean, variance = self.expected(state)
        count = observed.count
        alerts: list[Alert] = []
        if state.spike is not None:
            score = tail_score(count, mean, variance)
            if score >= params.stay_score:
                _extend(state.spike, window, observed, score)
                alerts.append(self._alert(AlertEvent.UPDATED, term, state.spike))
            else:
                alerts += self._quiet(term, state)
        elif state.history >= params.warmup_windows:
            state.spike = self._open(state, window, observed, mean, variance)
            if state.spike is not None:
                alerts.append(self._alert(AlertEvent.OPENED, term, state.spike))
        # During the warm-up there is no baseline to clip against yet.
        warm = state.history >= params.warmup_windows
        self._fold_count(state, min(count, mean + CLIP_SIGMAS * math.sqrt(variance)) if warm else count)
        state.previous = observed if count else None
        state.previous_mean, state.previous_variance = mean, variance
        return alerts

    def _open(
        self, state: TermState, window: float, observed: WindowCount, mean: float, variance: float
    ) -> Spike | None:
        """A new spike if this window, or this window with the previous one, passes the guards and the test.
        Cheap tests come first: most windows of most terms stop at the count."""
        params = self.params
        if observed.count >= max(params.min_count, params.min_ratio * mean) and self._enough_outlets(observed):
            score = tail_score(observed.count, mean, variance)
            if score >= params.open_score:
                return self._spike(window, window, observed, observed.copy(), score, mean, variance)
        previous = state.previous
        if previous is None:
            return None
        pair_mean, pair_variance = state.previous_mean + mean, state.previous_variance + variance
        if (
            previous.count + observed.count < max(params.min_count, params.min_ratio * pair_mean)
            or tail_score(observed.count, mean, variance) < params.stay_score
        ):
            return None
        pair = previous.copy()
        pair.merge(observed)
        if not self._enough_outlets(pair):
            return None
        score = tail_score(pair.count, pair_mean, pair_variance)
        if score < params.open_score:
            return None
        spike = self._spike(window - params.window_s, window, observed, pair, score, mean, variance)
        spike.peak_count = max(observed.count, previous.count)
        spike.windows = 2
        return spike

    @staticmethod
    def _spike(
        started: float,
        window: float,
        observed: WindowCount,
        evidence: WindowCount,
        score: float,
        mean: float,
        variance: float,
    ) -> Spike:
        return Spike(
            started=started,
            detected=window,
            last_hot=window,
            baseline=mean,
            stddev=math.sqrt(variance),
            count=observed.count,
            score=score,
            peak_count=observed.count,
            peak_score=score,
            evidence=evidence,
        )

    def _enough_outlets(self, counts: WindowCount) -> bool:
        return (
            len(counts.outlets) >= self.params.min_outlets and counts.top_outlet_share() <= self.params.max_outlet_share
        )

    def _quiet(self, term: str, state: TermState) -> list[Alert]:
        spike = state.spike
        assert spike is not None
        spike.quiet += 1
        if spike.quiet < self.params.close_after:
            return []
        state.spike = None
        return [self._alert(AlertEvent.CLOSED, term, spike)]

    def _fold_empty_windows(self, term: str, state: TermState, windows: int) -> list[Alert]:
        alerts: list[Alert] = []
        for _ in range(min(windows, MAX_STEPWISE_ZEROS)):
            if state.spike is not None:
                alerts += self._quiet(term, state)
            self._fold_count(state, 0.0)
        if windows > MAX_STEPWISE_ZEROS:
            decay = (1 - self.params.alpha) ** (windows - MAX_STEPWISE_ZEROS)
            state.level *= decay
            state.history += windows - MAX_STEPWISE_ZEROS
            state.last_window += (windows - MAX_STEPWISE_ZEROS) * self.params.window_s
        if windows > 0:
            state.previous = None
        return alerts

    def _fold_count(self, state: TermState, count: float) -> None:
        """Fold the count of the window after `last_window` into the baseline; that window becomes the last."""
        window = state.last_window + self.params.window_s
        factor = self._profile_factor(state, window)
        forecast = state.level * factor
        level_before = state.level
        # Plain average while the history is young, exponentially weighted after.
        weight = max(self.params.alpha, 1 / (state.history + 1))
        state.level += weight * (count / factor - state.level)
        if state.history > 0:  # the first window had no forecast to miss
            error = count - forecast
            dispersion_weight = max(DISPERSION_WEIGHT, 1 / (state.history + 1))
            state.dispersion += dispersion_weight * (error * error / max(forecast, MIN_BASELINE) - state.dispersion)
        # The profile learns once the level means something (after the warm-up), kept at mean 1.
        if state.history >= self.params.warmup_windows and level_before > 0:
            profile = state.profile or [1.0] * PROFILE_HOURS
            hour = _hour(window)
            profile[hour] = max(MIN_PROFILE_FACTOR, factor + PROFILE_WEIGHT * (count / level_before - factor))
            scale = PROFILE_HOURS / sum(profile)
            state.profile = [value * scale for value in profile]
        state.history += 1
        state.last_window = window

    @staticmethod
    def _profile_factor(state: TermState, window: float) -> float:
        return state.profile[_hour(window)] if state.profile else 1.0

    def _alert(self, event: AlertEvent, term: str, spike: Spike) -> Alert:
        return Alert(
            event=event,
            term=term,
            window_s=self.params.window_s,
            started=spike.started,
            detected=spike.detected,
            last_window=spike.last_hot,
            count=spike.count,
            baseline=spike.baseline,
            stddev=spike.stddev,
            score=spike.score,
            peak_count=spike.peak_count,
            peak_score=spike.peak_score,
            windows=spike.windows,
            evidence=spike.evidence.copy(),
        )


def _hour(window: float) -> int:
    return int(window % 86_400 // 3600)


def _extend(spike: Spike, window: float, observed: WindowCount, score: float) -> None:
    spike.last_hot = window
    spike.count = observed.count
    spike.score = score
    spike.peak_count = max(spike.peak_count, observed.count)
    spike.peak_score = max(spike.peak_score, score)
    spike.windows += 1
    spike.quiet = 0
    spike.evidence.merge(observed)


def tail_score(count: int, mean: float, variance: float) -> float:
    """-log10 P(X >= count) for X negative binomial with this mean and variance (Poisson if the variance
    is not above the mean); 0 for counts at or below the mean, where the test has nothing to say."""
    if count <= mean:
        return 0.0
    return -log_upper_tail(count, mean, variance) / math.log(10)


def log_upper_tail(count: int, mean: float, variance: float) -> float:
    """Natural log of P(X >= count), summed upwards from `count` in log space (no underflow).

    Successive probabilities have the ratio mean/(k+1) (Poisson) or (k+r)/(k+1)·(1-q) (negative
    binomial, r = mean²/(variance-mean), q = mean/variance). Requires count > mean.
    """
    if variance <= mean * (1 + 1e-9):
        log_first = count * math.log(mean) - mean - math.lgamma(count + 1)

        def ratio(k: int) -> float:
            return mean / (k + 1)

        ratio_limit = 0.0
    else:
        size = mean * mean / (variance - mean)
        success = mean / variance
        log_first = (
            math.lgamma(count + size)
            - math.lgamma(size)
            - math.lgamma(count + 1)
            + size * math.log(success)
            + count * math.log1p(-success)
        )

        def ratio(k: int) -> float:
            return (k + size) / (k + 1) * (1 - success)

        ratio_limit = 1 - success
    total, term = 1.0, 1.0
    # count > mean is past the mode, where later ratios never exceed max(current, limit) < 1: the rest
    # is at most a geometric series, added as such when the sum is cut short (a slightly high tail).
    for k in range(count, count + MAX_TAIL_TERMS):
        step_ratio = ratio(k)
        term *= step_ratio
        total += term
        bound = max(step_ratio, ratio_limit)
        rest = term * bound / (1 - bound)
        if rest < 1e-12 * total:
            break
    else:
        total += rest
    return log_first + math.log(total)
