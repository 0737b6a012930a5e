"""`alerts replay`: the detector over a file of timestamped articles, offline."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
from typer.testing import CliRunner

from newsflow.alerts.alert import AlertEvent
from newsflow.alerts.replay import Replay
from newsflow.cli import alerts as alerts_cli

from .series import START, poisson

BURST_WINDOW = 150


def enriched(number: int, at: float, outlet: str, entity_ids: list[str]) -> dict:
    stamp = datetime.fromtimestamp(at, UTC).isoformat()
    return {
        "id": f"{number:032x}",
        "outlet": outlet,
        "title": "t",
        "body": "b",
        "entity_ids": entity_ids,
        "story_id": None,
        "duplicate_status": "original",
        "published_at": stamp,
        "ingested_at": stamp,
    }


def stream(window_s: float) -> list[dict]:
    """A term at about 10 articles per window from 6 outlets, four times that for two windows."""
    rng = random.Random(4)
    documents = []
    for window in range(BURST_WINDOW + 20):
        count = poisson(rng, 40 if window in (BURST_WINDOW, BURST_WINDOW + 1) else 10)
        for _ in range(count):
            at = START + window * window_s + rng.uniform(0, window_s)
            documents.append(enriched(len(documents), at, f"outlet-{rng.randrange(6)}", ["org:hamas", "loc:gaza"]))
    return sorted(documents, key=lambda document: document["published_at"])


def test_replay_raises_one_alert_for_the_burst(params):
    replay = Replay(params, watch_list=None)
    for document in stream(params.window_s):
        replay.feed(document)
    alerts = replay.finish()
    opened = [alert for alert in alerts if alert.event is AlertEvent.OPENED]
    assert sorted(alert.term for alert in opened) == ["loc:gaza", "org:hamas"]
    assert all(
        round((alert.detected - START) / params.window_s) in (BURST_WINDOW, BURST_WINDOW + 1) for alert in opened
    )
    assert replay.counts.late == 0 and replay.counts.mentions == 2 * replay.counts.articles


def test_an_article_for_a_closed_window_is_late(params):
    replay = Replay(params, watch_list=None, grace_s=10)
    replay.feed(enriched(1, START + 5, "a", ["org:un"]))
    replay.feed(enriched(2, START + 3 * params.window_s, "a", ["org:un"]))  # closes the first windows
    replay.feed(enriched(3, START + 7, "b", ["org:un"]))
    assert replay.counts.late == 1


def test_replay_command_prints_the_alerts(tmp_path: Path, params):
    source = tmp_path / "articles.jsonl"
    source.write_bytes(b"".join(orjson.dumps(document) + b"\n" for document in stream(params.window_s)))
    result = CliRunner().invoke(alerts_cli.app, ["replay", "--from", str(source), "--json"])
    assert result.exit_code == 0, result.output
    documents = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert sorted(document["term"] for document in documents) == ["loc:gaza", "org:hamas"]
    assert all(document["event"] == "opened" for document in documents)
    assert "articles/s" in result.stderr
