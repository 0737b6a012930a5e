"""`newsflow alerts evaluate`: the detector against bursts injected into a synthetic stream, next to the
fixed-threshold rule Kibana offers (alert when a term's count in a window reaches T), tuned on the
same stream; the report is a Markdown section of docs/alerts.md.

The stream is written to a JSON Lines file and replayed from it by the same `Replay` as
`newsflow alerts replay`, so the replay rate includes reading and parsing.

Scoring: an alert opened (closed window that raised it) within an injected burst's windows, for
the burst's term, detects it, with a delay of that window's index in the burst (0: the burst's
first window raised it). Any other alert is false, decoys (one-outlet bursts) included.

With significant terms on, the title and lead words of the synthetic articles (filler text, in stable
proportions; watch-list words are excluded) are counted too, and reported apart (their terms share no
state with the others). No burst is injected on them: their alerts outside every burst are false; those
during a burst echo the burst's extra articles, whose filler words rise with them.

The oracle bound: what the same tests (one window, and the sum of two) would catch if they knew each
term's true expected count in every window instead of learning it, at the tail probability that spends
exactly the false-alert budget. Its false alerts are computed (Poisson tails of the generator's means),
its recall simulated from the generator's distributions, with the detector's guards. It tells how much
of what the detector misses no test could catch at that budget.
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import yaml
from scipy.stats import poisson

from newsflow.alerts.alert import AlertEvent
from newsflow.alerts.detector import DetectorParams
from newsflow.alerts.replay import Replay, read_articles
from newsflow.alerts.synthetic import DAY_S, LANGUAGES, OUTLET_WEIGHTS, Burst, StreamSpec, SyntheticStream
from newsflow.alerts.terms import SIGNIFICANT_PREFIX, SignificantTerms, WatchList

REPORT_START = "<!-- evaluation:start (written by `newsflow alerts evaluate`) -->"
REPORT_END = "<!-- evaluation:end -->"
# Baseline bands of the recall tables: expected mentions per window when the burst starts.
BANDS = (0.0, 2.0, 5.0, 10.0)
# The goal of the issue: recall for bursts of at least this size lasting at least this many windows.
GOAL_SIZE, GOAL_WINDOWS = 3.0, 2
FALSE_ALERTS_BUDGET_PER_DAY = 1.0
TALLY_CHUNK = 5_000_000
# Simulated copies of each burst (and the window before it) the oracle's recall is averaged over.
ORACLE_REPLICATES = 1_000


@dataclass
class RuleScore:
    false_per_day: float
    decoys_alerted: int
    delays: dict[int, int | None]  # real (not decoy) burst number -> delay in windows, None: missed

    def recall(self, bursts: Sequence[Burst], selected: Callable[[Burst], bool]) -> tuple[int, int]:
        """(detected, total) of the selected real bursts."""
        chosen = [number for number, burst in enumerate(bursts) if not burst.decoy and selected(burst)]
        return sum(self.delays[number] is not None for number in chosen), len(chosen)


@dataclass
class OracleBound:
    """The tests given the true expected counts: the tail probability that spends the false-alert budget,
    and the probability of detecting each real burst."""

    tail: float
    false_per_day: float
    detection: dict[int, float]  # real burst number -> probability

    def recall(self, bursts: Sequence[Burst], selected: Callable[[Burst], bool]) -> float:
        chosen = [self.detection[number] for number, burst in enumerate(bursts) if not burst.decoy and selected(burst)]
        return float(np.mean(chosen)) if chosen else math.nan


@dataclass
class Evaluation:
    spec: StreamSpec
    params: DetectorParams
    articles: int = 0
    mentions: int = 0
    generate_s: float = 0.0
    replay_s: float = 0.0
    bursts: list[Burst] = field(default_factory=list)
    detector: RuleScore | None = None
    thresholds: list[tuple[int, RuleScore]] = field(default_factory=list)  # chosen fixed-threshold rules
    oracle: OracleBound | None = None
    significant_per_article: int | None = None  # significant terms counted per article; None: not counted
    significant_terms: int = 0  # distinct significant terms seen
    significant_alerts: int = 0  # alerts opened on them outside every injected burst (false)
    significant_echoes: int = 0  # alerts opened on them during an injected burst (its articles' filler words)

    @property
    def replay_rate(self) -> float:
        return self.articles / self.replay_s if self.replay_s else 0.0


def evaluate(
    spec: StreamSpec,
    params: DetectorParams,
    workdir: Path,
    progress: Callable[[str], None] = lambda _: None,
    significant_per_article: int | None = None,
) -> Evaluation:
    stream = SyntheticStream(spec)
    result = Evaluation(spec, params, bursts=stream.bursts, significant_per_article=significant_per_article)
    workdir.mkdir(parents=True, exist_ok=True)
    articles_file, watch_list_file = workdir / "stream.jsonl", workdir / "watchlist.yaml"
    watch_list_file.write_text(yaml.safe_dump(stream.watch_list(), allow_unicode=True), encoding="utf-8")
    (workdir / "bursts.json").write_bytes(orjson.dumps(stream.bursts, option=orjson.OPT_INDENT_2))
    progress(f"writing {spec.days:g} days of synthetic articles to {articles_file}")
    started = time.perf_counter()
    with articles_file.open("wb") as out:
        for document in stream.articles():
            out.write(orjson.dumps(document) + b"\n")
            result.articles += 1
    result.generate_s = time.perf_counter() - started

    progress(f"replaying {result.articles:,} articles")
    watch_list = WatchList.load(watch_list_file)
    significant = SignificantTerms(significant_per_article, watch_list) if significant_per_article else None
    replay = Replay(params, watch_list, significant=significant)
    significant_seen: set[str] = set()
    term_index = {term: index for index, term in enumerate(stream.terms)}
    counts = np.zeros((spec.terms, spec.windows), dtype=np.int32)
    cells = array("q")
    tally_s = 0.0
    started = time.perf_counter()
    for document in read_articles(articles_file):
        mentions = replay.feed(document)
        # The counts the fixed-threshold rule sees: the detector's counts (syndicated copies not counted).
        tally_started = time.perf_counter()
        window = int((mentions[0].at - spec.start) // spec.window_s) if mentions else 0
        cells.extend(
            term_index[mention.term] * spec.windows + window
            for mention in mentions
            if mention.counted and mention.term in term_index
        )
        if significant:
            significant_seen.update(mention.term for mention in mentions if mention.term not in term_index)
        if len(cells) >= TALLY_CHUNK:
            counts += np.bincount(cells, minlength=counts.size).reshape(counts.shape).astype(np.int32)
            cells = array("q")
        tally_s += time.perf_counter() - tally_started
    alerts = replay.finish()
    result.replay_s = time.perf_counter() - started - tally_s
    counts += np.bincount(cells, minlength=counts.size).reshape(counts.shape).astype(np.int32)
    result.mentions = replay.counts.mentions

    cover = BurstCover(stream.bursts, term_index, spec)
    opened = np.zeros_like(counts, dtype=bool)
    result.significant_terms = len(significant_seen)
    in_burst = (cover.number >= 0).any(axis=0)  # per window: some burst is on
    for alert in alerts:
        if alert.event is not AlertEvent.OPENED:
            continue
        window = int((alert.detected - spec.start) // spec.window_s)
        if not alert.term.startswith(SIGNIFICANT_PREFIX):
            opened[term_index[alert.term], window] = True
        elif in_burst[window]:
            result.significant_echoes += 1
        else:
            result.significant_alerts += 1
    result.detector = cover.score(opened)
    result.thresholds = tune_fixed_threshold(counts, cover, result.detector)
    progress("computing the oracle bound")
    result.oracle = oracle_bound(stream, params)
    return result


def oracle_threshold(expected: np.ndarray, tail: float, params: DetectorParams) -> np.ndarray:
    """The smallest count of a window (or pair of windows) with these expected counts that the oracle
    calls a spike: P(X >= count) <= tail under Poisson, and the detector's count guards."""
    # Stepped up from the guards: the tail is fast to compute, scipy's quantile is not.
    threshold = np.maximum(params.min_count, np.ceil(params.min_ratio * expected))
    over = poisson.sf(threshold - 1, expected) > tail
    while over.any():
        threshold[over] += 1
        over[over] = poisson.sf(threshold[over] - 1, expected[over]) > tail
    return threshold


def oracle_bound(stream: SyntheticStream, params: DetectorParams) -> OracleBound:
    spec = stream.spec
    # One day of windows covers the daily cycle: every term's expected count in each, and in each pair.
    day = [spec.start + index * spec.window_s for index in range(round(DAY_S / spec.window_s))]
    single = np.stack([stream.language_expected(at).sum(axis=0) for at in day], axis=1)
    pair = single + np.roll(single, 1, axis=1)

    def false_per_day(tail: float) -> float:
        # Every window over a threshold counted as an alert (a bound: a spike's later windows do not open one,
        # and the outlet guard would stop a few).
        return sum(
            float(poisson.sf(oracle_threshold(expected, tail, params) - 1, expected).sum())
            for expected in (single, pair)
        )

    low, high = -15.0, -1.0  # log10 of the tail: within the budget at low, over it at high
    for _ in range(12):  # to 0.4 % of the tail
        middle = (low + high) / 2
        low, high = (middle, high) if false_per_day(10**middle) <= FALSE_ALERTS_BUDGET_PER_DAY else (low, middle)
    tail = 10**low
    rng = np.random.default_rng(spec.seed)
    term_index = {term: index for index, term in enumerate(stream.terms)}
    detection = {
        number: _oracle_detection(stream, number, burst, term_index[burst.term], tail, params, rng)
        for number, burst in enumerate(stream.bursts)
        if not burst.decoy
    }
    return OracleBound(tail, false_per_day(tail), detection)


def _oracle_detection(
    stream: SyntheticStream,
    number: int,
    burst: Burst,
    term: int,
    tail: float,
    params: DetectorParams,
    rng: np.random.Generator,
) -> float:
    """Share of simulated copies of the burst (with the window before it) in which the oracle fires on one of
    its windows: counts and outlets drawn as the generator draws them (background per language over its
    outlets' weights, the burst's extra articles evenly over its outlets)."""
    spec = stream.spec
    outlets = [name for language in LANGUAGES for name in stream.outlets[language]]
    starts = [burst.start + offset * spec.window_s for offset in range(-1, burst.windows)]
    by_language = np.stack([stream.language_expected(at)[:, term] for at in starts])  # (windows + 1, languages)
    expected = by_language.sum(axis=1)
    shape = (ORACLE_REPLICATES, len(starts), len(outlets))
    published = np.zeros(shape, dtype=np.int64)
    first = 0
    for row, language in enumerate(LANGUAGES):
        weights = OUTLET_WEIGHTS[language]
        background = rng.poisson(np.broadcast_to(by_language[:, row], shape[:2]))
        published[..., first : first + len(weights)] = rng.multinomial(background, weights)
        first += len(weights)
    burst_outlets = [outlets.index(name) for name in stream.burst_outlets(number, burst, term)]
    extra = rng.poisson(np.broadcast_to((burst.size - 1) * expected[1:], (ORACLE_REPLICATES, burst.windows)))
    published[:, 1:, burst_outlets] += rng.multinomial(extra, [1 / len(burst_outlets)] * len(burst_outlets))
    pairs = published[:, 1:] + published[:, :-1]
    fired = (published[:, 1:].sum(axis=2) >= oracle_threshold(expected[1:], tail, params)) & _outlets_ok(
        published[:, 1:], params
    )
    fired |= (pairs.sum(axis=2) >= oracle_threshold(expected[1:] + expected[:-1], tail, params)) & _outlets_ok(
        pairs, params
    )
    return float(fired.any(axis=1).mean())


def _outlets_ok(published: np.ndarray, params: DetectorParams) -> np.ndarray:
    """The detector's outlet guards over the last axis (articles per outlet)."""
    total = published.sum(axis=-1)
    distinct = (published > 0).sum(axis=-1)
    return (distinct >= params.min_outlets) & (published.max(axis=-1) <= params.max_outlet_share * total)


class BurstCover:
    """Which burst, if any, covers each (term, window) cell; scores where a rule opened alerts."""

    def __init__(self, bursts: Sequence[Burst], term_index: dict[str, int], spec: StreamSpec) -> None:
        self.bursts = bursts
        self.number = np.full((spec.terms, spec.windows), -1, dtype=np.int32)
        self.first = [round((burst.start - spec.start) / spec.window_s) for burst in bursts]
        self.term = [term_index[burst.term] for burst in bursts]
        for number, burst in enumerate(bursts):
            self.number[self.term[number], self.first[number] : self.first[number] + burst.windows] = number
        self.decoy = np.array([burst.decoy for burst in bursts], dtype=bool)
        self.days = spec.days

    def score(self, opened: np.ndarray) -> RuleScore:
        """`opened`: True where a rule opened an alert (term, window)."""
        covering = self.number[opened]
        in_burst = covering[covering >= 0]
        decoys = np.unique(in_burst[self.decoy[in_burst]])
        false = int((covering < 0).sum()) + int(self.decoy[in_burst].sum())
        delays: dict[int, int | None] = {}
        for number, burst in enumerate(self.bursts):
            if burst.decoy:
                continue
            row = opened[self.term[number], self.first[number] : self.first[number] + burst.windows]
            delays[number] = int(np.argmax(row)) if row.any() else None
        return RuleScore(false / self.days, len(decoys), delays)


def threshold_openings(counts: np.ndarray, threshold: int) -> np.ndarray:
    """Where a fixed threshold opens an alert: the first window of each run of windows at or above it."""
    above = counts >= threshold
    opened = above.copy()
    opened[:, 1:] &= ~above[:, :-1]
    return opened


def tune_fixed_threshold(counts: np.ndarray, cover: BurstCover, detector: RuleScore) -> list[tuple[int, RuleScore]]:
    """Fixed thresholds tuned on the stream: the lowest within the false-alert budget, and the highest
    that detects as many of the goal's bursts as the detector (at whatever false-alert cost), when one does."""
    by_threshold: dict[int, RuleScore] = {}
    for threshold in range(1, int(counts.max()) + 2):
        by_threshold[threshold] = cover.score(threshold_openings(counts, threshold))
        if by_threshold[threshold].false_per_day <= FALSE_ALERTS_BUDGET_PER_DAY:
            break
    within_budget = max(by_threshold)
    wanted, _ = detector.recall(cover.bursts, goal_burst)
    as_sensitive = max(
        (t for t, rule in by_threshold.items() if rule.recall(cover.bursts, goal_burst)[0] >= wanted), default=None
    )
    tuned = [(within_budget, by_threshold[within_budget])]
    return tuned if as_sensitive is None else [*tuned, (as_sensitive, by_threshold[as_sensitive])]


def goal_burst(burst: Burst) -> bool:
    return burst.size >= GOAL_SIZE and burst.windows >= GOAL_WINDOWS


def band_of(burst: Burst) -> float:
    return max(low for low in BANDS if burst.baseline >= low)


def band_label(low: float) -> str:
    following = [high for high in BANDS if high > low]
    return f"{low:g}–{following[0]:g}" if following else f"≥ {low:g}"


def _ratio(found: int, total: int) -> str:
    return f"{found / total:.2f} ({found}/{total})" if total else "–"


def markdown(result: Evaluation, command: str) -> str:
    spec, params, detector, oracle = result.spec, result.params, result.detector, result.oracle
    assert detector is not None and oracle is not None
    bursts = result.bursts
    real = [burst for burst in bursts if not burst.decoy]
    goal_sets = {
        f"{band_label(low)}": (lambda burst, low=low: goal_burst(burst) and band_of(burst) == low) for low in BANDS
    }
    rules = [("detector", detector)] + [(f"fixed threshold ≥ {t}", rule) for t, rule in result.thresholds]
    lines = [
        REPORT_START,
        "",
        f"Measured with `{command}`.",
        "",
        f"**Stream**: {spec.days:g} simulated days of {spec.window_s / 60:g}-minute windows, {spec.terms:,} terms "
        f"({spec.keyword_terms} of them watch-list keywords found in the text, the others entity ids), each with a "
        f"mean of {spec.rates[0]:g} to {spec.rates[1]:g} mentions per window (log-uniform), a daily cycle of "
        f"±{spec.daily_amplitude:.0%} (English peaking at 14:00 UTC, Arabic at 10:00), 12 outlets in two languages, "
        f"{spec.syndicated_share:.0%} syndicated copies: {result.articles:,} articles, {result.mentions:,} mentions. "
        f"{len(real)} bursts (×{', ×'.join(f'{size:g}' for size in spec.burst_sizes)} the expected count, for "
        f"{', '.join(str(w) for w in spec.burst_windows)} windows, from 3 to 6 outlets) and "
        f"{len(bursts) - len(real)} one-outlet decoys (×5, 2 windows).",
        "",
        f"**Detector** (defaults): window {params.window_s:g} s, half-life {params.half_life_windows:g} windows, "
        f"warm-up {params.warmup_windows} windows, open score {params.open_score:g}, stay score "
        f"{params.stay_score:g}, at least {params.min_count} articles, {params.min_ratio:g}× the baseline, "
        f"{params.min_outlets} outlets, top outlet ≤ {params.max_outlet_share:.0%}.",
        "",
        f"Recall of the goal's bursts (≥ ×{GOAL_SIZE:g} the expected count for ≥ {GOAL_WINDOWS} windows) by "
        "baseline (expected mentions per window when the burst starts), and the share of those detected that "
        "were detected within one window:",
        "",
        "| rule | false alerts / day | decoys alerted | "
        + " | ".join(f"recall, baseline {label}" for label in goal_sets)
        + " | delay ≤ 1 window |",
        "|---|---:|---:|" + "---:|" * (len(goal_sets) + 1),
    ]
    for name, rule in rules:
        recalls = " | ".join(_ratio(*rule.recall(bursts, selected)) for selected in goal_sets.values())
        goal_delays = [
            delay for number, delay in rule.delays.items() if delay is not None and goal_burst(bursts[number])
        ]
        prompt = _ratio(sum(delay <= 1 for delay in goal_delays), len(goal_delays))
        lines.append(f"| {name} | {rule.false_per_day:.2f} | {rule.decoys_alerted} | {recalls} | {prompt} |")
    bounds = " | ".join(f"{oracle.recall(bursts, selected):.2f}" for selected in goal_sets.values())
    if len(result.thresholds) < 2:
        lines.append("| no fixed threshold detects as many of the goal's bursts as the detector | | | |")
    lines += [
        f"| oracle bound (true expected counts, p ≤ {oracle.tail:.1e}) | {oracle.false_per_day:.2f} "
        f"(computed) | – | {bounds} | – |",
        "",
        "The oracle bound is the recall of the same two tests (the window, and the sum of the window and the one "
        "before) with the same guards, given each term's true expected count in every window instead of a "
        f"learnt one, at the tail probability that spends the whole false-alert budget ({oracle.tail:.1e} per "
        "test, from the Poisson tails of the stream's expected counts); its recall is the mean over the bursts of "
        f"their probability of detection, simulated from the generator's distributions ({ORACLE_REPLICATES:,} "
        "copies each). What it misses, no test of the counts can catch at this budget.",
        "",
        "Detector recall by burst (size × expected count, windows) and baseline (expected mentions per window "
        "when it starts), · the oracle bound, and the delay of detected bursts in windows (0: raised by the "
        "burst's first window):",
        "",
        "| burst | " + " | ".join(f"baseline {band_label(low)}" for low in BANDS) + " | delay median / max |",
        "|---|" + "---:|" * (len(BANDS) + 1),
    ]
    for size in spec.burst_sizes:
        for windows in spec.burst_windows:
            cells = []
            for low in BANDS:

                def selected(burst: Burst, size: float = size, windows: int = windows, low: float = low) -> bool:
                    return burst.size == size and burst.windows == windows and band_of(burst) == low

                found, total = detector.recall(bursts, selected)
                cells.append(f"{_ratio(found, total)} · {oracle.recall(bursts, selected):.2f}" if total else "–")
            delays = sorted(
                delay
                for number, delay in detector.delays.items()
                if delay is not None and bursts[number].size == size and bursts[number].windows == windows
            )
            delay_text = f"{delays[len(delays) // 2]} / {delays[-1]}" if delays else "–"
            lines.append(
                f"| ×{size:g}, {windows} window{'s' if windows > 1 else ''} | {' | '.join(cells)} | {delay_text} |"
            )
    mentions_rate = result.mentions / result.replay_s if result.replay_s else math.nan
    if result.significant_per_article:
        lines += [
            "",
            f"**Significant terms** (on in this run, at most {result.significant_per_article} per article, "
            f"{params.significant_max_terms:,} remembered): the synthetic titles and leads gave "
            f"{result.significant_terms:,} distinct significant terms (filler words and their pairs). No burst is "
            f"injected on them: outside the bursts they alerted **{result.significant_alerts / spec.days:.2f} times "
            f"a day** ({result.significant_alerts} in {spec.days:g} days; false alerts, on top of the detector's "
            f"above), and {result.significant_echoes} times during a burst, whose extra articles carry filler words "
            "too (a rise of those words, which real articles of a story would not share). The replay rate below "
            "includes counting them.",
        ]
    lines += [
        "",
        f"**Replay**: {result.articles:,} articles ({spec.days:g} days) in {result.replay_s:.0f} s: "
        f"**{result.replay_rate:,.0f} articles/s** ({mentions_rate:,.0f} mentions/s), reading and parsing included, "
        f"one process; generating the stream took {result.generate_s:.0f} s.",
        "",
        REPORT_END,
    ]
    return "\n".join(lines)


def write_report(report_file: Path, section: str) -> None:
    """Replace the evaluation section of the report file (or append it)."""
    text = report_file.read_text(encoding="utf-8") if report_file.exists() else ""
    if REPORT_START in text and REPORT_END in text:
        before, rest = text.split(REPORT_START, 1)
        text = before + section + rest.split(REPORT_END, 1)[1]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    report_file.write_text(text, encoding="utf-8")
