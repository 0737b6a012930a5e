"""`alerts evaluate` end to end on a tiny stream, and the report section it writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from newsflow.alerts.evaluation import (
    FALSE_ALERTS_BUDGET_PER_DAY,
    REPORT_END,
    REPORT_START,
    evaluate,
    goal_burst,
    markdown,
    oracle_bound,
    oracle_threshold,
    write_report,
)
from newsflow.alerts.synthetic import StreamSpec, SyntheticStream


def test_the_synthetic_stream_is_reproducible_and_ordered():
    spec = StreamSpec(days=0.25, terms=30, keyword_terms=3)
    first = list(SyntheticStream(spec).articles())
    assert first == list(SyntheticStream(spec).articles())
    times = [document["published_at"] for document in first]
    assert times == sorted(times)
    assert {document["language"] for document in first} == {"en", "ar"}
    assert any(document["duplicate_status"] == "syndicated" for document in first)


def test_evaluate_scores_the_detector_and_fixed_thresholds(tmp_path: Path, params):
    spec = StreamSpec(days=1, terms=40, keyword_terms=4, rates=(5.0, 20.0), bursts_per_day=18, decoys_per_day=3)
    result = evaluate(spec, params, tmp_path)
    assert result.articles > 0 and result.replay_rate > 0
    assert result.detector is not None and 1 <= len(result.thresholds) <= 2
    # The first fixed threshold keeps to the false-alert budget; a second, when there is one, catches as many of
    # the goal's bursts as the detector.
    assert result.thresholds[0][1].false_per_day <= FALSE_ALERTS_BUDGET_PER_DAY
    wanted, _ = result.detector.recall(result.bursts, goal_burst)
    assert all(rule.recall(result.bursts, goal_burst)[0] >= wanted for _, rule in result.thresholds[1:])
    found, total = result.detector.recall(result.bursts, lambda burst: burst.size >= 5)
    assert total > 0 and found > 0
    section = markdown(result, "newsflow alerts evaluate --days 1")
    assert section.startswith(REPORT_START) and section.endswith(REPORT_END)
    assert "articles/s" in section and "fixed threshold" in section and "oracle bound" in section
    assert result.oracle is not None and result.oracle.false_per_day <= 1


def test_evaluate_counts_significant_terms_apart(tmp_path: Path, params):
    spec = StreamSpec(days=1, terms=40, keyword_terms=4, rates=(5.0, 20.0), bursts_per_day=18, decoys_per_day=3)
    without = evaluate(spec, params, tmp_path / "off")
    result = evaluate(spec, params, tmp_path / "on", significant_per_article=12)
    # The synthetic filler words and their pairs, in stable proportions: counted, and no alert outside the bursts
    # (a burst's extra articles double this small stream's volume, and their filler words rise with them).
    assert result.significant_terms > 100 and result.significant_alerts == 0 and result.significant_echoes > 0
    assert result.detector is not None and without.detector is not None
    assert result.detector.delays == without.detector.delays  # the other terms' alerts are unchanged
    assert "**Significant terms**" in markdown(result, "newsflow alerts evaluate --days 1 --significant-terms")
    assert "**Significant terms**" not in markdown(without, "newsflow alerts evaluate --days 1")


def test_write_report_replaces_only_its_section(tmp_path: Path):
    report = tmp_path / "alerts.md"
    report.write_text(f"# Alerts\n\nbefore\n\n{REPORT_START}\nold\n{REPORT_END}\n\nafter\n", encoding="utf-8")
    write_report(report, f"{REPORT_START}\nnew\n{REPORT_END}")
    assert report.read_text(encoding="utf-8") == f"# Alerts\n\nbefore\n\n{REPORT_START}\nnew\n{REPORT_END}\n\nafter\n"


def test_the_oracle_spends_the_false_alert_budget_and_is_limited_by_the_counts(params):
    spec = StreamSpec(days=1, terms=60, keyword_terms=0, rates=(0.5, 20.0), bursts_per_day=100, decoys_per_day=0)
    stream = SyntheticStream(spec)
    oracle = oracle_bound(stream, params)
    # The loosest tail probability within one false alert a day: it spends (almost) all of it.
    assert 0.9 <= oracle.false_per_day <= FALSE_ALERTS_BUDGET_PER_DAY
    bursts = stream.bursts
    # A ×5 burst on a busy term is certain; a ×3 burst of two windows on a rare one is mostly a few articles.
    assert oracle.recall(bursts, lambda burst: burst.size == 5 and burst.baseline >= 10) > 0.99
    assert oracle.recall(bursts, lambda burst: burst.size == 3 and burst.windows == 2 and burst.baseline < 2) < 0.2
    expected = np.array([1.0, 10.0])
    # The smallest counts with P(X >= count) <= 1e-6 under Poisson(1) and Poisson(10) (above the guards).
    assert oracle_threshold(expected, 1e-6, params).tolist() == [10, 29]
