"""Spike alerts end to end: enriched articles on the real broker -> `newsflow alerts run` subprocess ->
one alert document in the real Elasticsearch and one call to a local webhook receiver; after a
restart, the baselines learnt before it.

Articles carry their own `ingested_at` (the detector works in article time), so the whole history,
the burst and what follows are published at once and the test does not wait for windows to pass.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from newsflow.alerts.app import app_id
from newsflow.es.client import sync_client
from newsflow.kafka.admin import admin_client, connect
from newsflow.kafka.reader import read_records
from newsflow.schemas import validator
from newsflow.settings import Settings
from newsflow.worker.process import WorkerProcess, settings_env

from .conftest import isolated_deployment

WINDOW_S = 2.0
WINDOWS = 40
BURST_WINDOWS = (30, 31)  # of org:hamas
BACKGROUND_PER_WINDOW = 4
BURST_PER_WINDOW = 24
OUTLETS = ("reuters", "bbc", "aljazeera", "alarabiya", "afp")
DEADLINE_S = 180.0


class WebhookReceiver:
    """A local HTTP server that records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append(orjson.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"


@pytest.fixture(scope="module")
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def alert_settings(local_services: dict, webhook: WebhookReceiver) -> Iterator[Settings]:
    overrides = {
        "topic_partitions": 2,
        "alerts_window_s": WINDOW_S,
        "alerts_grace_s": 1.0,
        "alerts_warmup_windows": 5,
        "alerts_webhook_url": webhook.url,
        "alerts_webhook_backoff_s": 0.2,
    }
    with isolated_deployment(local_services, **overrides) as settings:
        try:
            yield settings
        finally:
            # The spike worker's own topics (mentions, table changelogs) are named after its app id.
            admin = admin_client(settings)
            try:
                admin.delete_topics([topic for topic in admin.list_topics() if topic.startswith(app_id(settings))])
            finally:
                admin.close()


class SpikeWorker(WorkerProcess):
    """A real `newsflow alerts run` subprocess; its output goes to a log file."""

    command = ("alerts", "run")


@pytest.fixture(scope="module")
def spike_worker(alert_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpikeWorker]:
    running = SpikeWorker(alert_settings, tmp_path_factory.mktemp("spikes") / "spikes.log")
    yield running
    running.stop()


def enriched_article(
    number: int, at: float, outlet: str, entity_ids: list[str], story_id: str | None = None
) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(at, UTC).isoformat()
    return {
        "id": f"{number:032x}",
        "outlet": outlet,
        "language": "en",
        "title": f"Report {number}",
        "body": "Officials spoke to reporters.",
        "published_at": stamp,
        "ingested_at": stamp,
        "entity_ids": entity_ids,
        "story_id": story_id,
        "duplicate_status": "original",
    }


def articles(first_window: float, windows: range, burst: str, burst_windows: tuple[int, ...]) -> list[dict[str, Any]]:
    """Steady mentions of two terms over five outlets; `burst` six times as often in `burst_windows`."""
    documents = []
    for window in windows:
        start = first_window + window * WINDOW_S
        for number in range(BACKGROUND_PER_WINDOW):
            at = start + WINDOW_S * number / BACKGROUND_PER_WINDOW
            outlet = OUTLETS[(window + number) % len(OUTLETS)]
            documents.append(enriched_article(window * 100 + number, at, outlet, ["org:hamas", "org:un"]))
        if window in burst_windows:
            for number in range(BURST_PER_WINDOW - BACKGROUND_PER_WINDOW):
                at = start + WINDOW_S * (number + 0.5) / BURST_PER_WINDOW
                outlet = OUTLETS[number % len(OUTLETS)]
                article = enriched_article(window * 100 + 50 + number, at, outlet, [burst], f"story-{burst}")
                documents.append(article)
    return sorted(documents, key=lambda document: document["ingested_at"])


def publish(settings: Settings, documents: list[dict[str, Any]]) -> None:
    producer = connect(KafkaProducer, settings, "test-producer", acks="all")
    try:
        for document in documents:
            producer.send(settings.topic_enriched, key=document["id"].encode(), value=orjson.dumps(document))
        producer.flush()
    finally:
        producer.close()


def wait_for(condition: Callable[[], Any], what: str, worker: SpikeWorker) -> Any:
    """Poll until `condition` returns something true; fail at once if the worker died."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        assert worker.process.poll() is None, f"the spike worker exited:\n{worker.log()[-5000:]}"
        if result := condition():
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{worker.log()[-5000:]}")


def closed_alerts(settings: Settings, term: str) -> list[dict[str, Any]]:
    """Alert documents of `term` whose spike is over (a closed document is final)."""
    with sync_client(settings) as es:
        es.indices.refresh(index=settings.alerts_index)
        response = es.search(index=settings.alerts_index, size=100, query={"term": {"term": term}})
    return [hit["_source"] for hit in response["hits"]["hits"] if hit["_source"]["status"] == "closed"]


def alert_count(settings: Settings) -> int:
    with sync_client(settings) as es:
        es.indices.refresh(index=settings.alerts_index)
        return es.count(index=settings.alerts_index)["count"]


@pytest.fixture(scope="module")
def history(alert_settings: Settings, spike_worker: SpikeWorker) -> float:
    """Forty windows of both terms, ending a few windows ago, with a burst of org:hamas; the first window's
    start. Returns once its alert is closed, so everything before it has been processed."""
    first_window = (time.time() // WINDOW_S - WINDOWS - 5) * WINDOW_S
    publish(alert_settings, articles(first_window, range(WINDOWS), "org:hamas", BURST_WINDOWS))
    wait_for(lambda: closed_alerts(alert_settings, "org:hamas"), "the closed org:hamas alert", spike_worker)
    return first_window


def test_a_burst_gives_one_alert_document_and_one_webhook_call(alert_settings, spike_worker, webhook, history):
    (alert,) = closed_alerts(alert_settings, "org:hamas")
    wait_for(lambda: webhook.bodies, "the webhook call", spike_worker)
    assert alert_count(alert_settings) == 1
    assert not list(validator("alert.v1.json").iter_errors(alert))
    assert alert["term"] == "org:hamas" and alert["term_kind"] == "entity"
    assert datetime.fromisoformat(alert["started_at"]).timestamp() == history + BURST_WINDOWS[0] * WINDOW_S
    assert alert["windows"] == len(BURST_WINDOWS) and alert["peak_count"] == BURST_PER_WINDOW
    assert alert["baseline"] == pytest.approx(BACKGROUND_PER_WINDOW, rel=0.2)
    assert alert["outlet_count"] == len(OUTLETS) and len(alert["article_ids"]) > 0
    assert alert["story_ids"] == ["story-org:hamas"]

    # One call, for the opening; updates and the closing are on the topic and in the index only.
    assert [(body["event"], body["id"]) for body in webhook.bodies] == [("opened", alert["id"])]
    events = [orjson.loads(record.value) for record in read_records(alert_settings, alert_settings.topic_alerts)]
    assert [(event["event"], event["id"]) for event in events] == [
        ("opened", alert["id"]),
        ("updated", alert["id"]),
        ("closed", alert["id"]),
    ]
    listed = subprocess.run(
        [sys.executable, "-m", "newsflow", "alerts", "list", "--since", "1h", "--json"],
        env=settings_env(alert_settings),
        capture_output=True,
        check=True,
    )
    assert [orjson.loads(line)["id"] for line in listed.stdout.splitlines()] == [alert["id"]]


def test_baselines_survive_a_restart(alert_settings, spike_worker, webhook, history):
    spike_worker.restart()
    # The timeline goes on where the history stopped: org:un bursts two windows after the restart.
    after = range(WINDOWS, WINDOWS + 6)
    publish(alert_settings, articles(history, after, "org:un", (WINDOWS + 2,)))
    (alert,) = wait_for(lambda: closed_alerts(alert_settings, "org:un"), "the closed org:un alert", spike_worker)
    # Measured against the baseline learnt before the restart: a term the detector had forgotten would be
    # compared with the floor for new terms (0.5), and a detector that forgot when it started would still
    # be warming up and raise nothing.
    assert alert["baseline"] == pytest.approx(BACKGROUND_PER_WINDOW, rel=0.2)
    assert datetime.fromisoformat(alert["started_at"]).timestamp() == history + (WINDOWS + 2) * WINDOW_S
    wait_for(lambda: any(body["id"] == alert["id"] for body in webhook.bodies), "the webhook call", spike_worker)
    assert alert_count(alert_settings) == 2
