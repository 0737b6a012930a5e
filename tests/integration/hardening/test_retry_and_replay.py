"""Transient refusals go through the retry topic, then to the dead-letter topic once the retry
rounds are spent; `newsflow dlq` lists, shows and replays them once the cause is gone.

Elasticsearch refuses each document with 429 while the articles index carries the
read-only-allow-delete block (what a full disk sets), and accepts them again once it is lifted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson
import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from newsflow.cli import dlq as dlq_cli
from newsflow.kafka.dlq import dead_letter_view, dead_letters
from newsflow.kafka.reader import read_records
from newsflow.settings import Settings

from .conftest import DedicatedServices, FaultWorker, produce, run_id, unique_articles, wait_for

REFUSED = 5
runner = CliRunner()


@pytest.fixture
def es(dedicated_services: DedicatedServices) -> Iterator[Elasticsearch]:
    with dedicated_services.admin_es() as client:
        yield client


def set_write_block(es: Elasticsearch, settings: Settings, blocked: bool) -> None:
    es.indices.put_settings(
        index=settings.articles_alias, settings={"index.blocks.read_only_allow_delete": blocked or None}
    )


def dlq(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setattr(dlq_cli, "load_settings", lambda: settings)
    result = runner.invoke(dlq_cli.app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_refused_documents_are_retried_then_dead_lettered_and_replayed_after_the_fix(
    fault_settings: Settings,
    es: Elasticsearch,
    dedicated_services: DedicatedServices,
    start_worker: Callable[..., FaultWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker = start_worker(bulk_max_retries=1, retry_delay_s=1.0, retry_max_attempts=1)
    run = run_id()
    produce(fault_settings, unique_articles(1, run, start=REFUSED))  # the worker is up and indexing
    wait_for(lambda: worker.metrics().get("newsflow_documents_indexed_total", 0) == 1, 180, "a first document")

    set_write_block(es, fault_settings, True)
    refused = unique_articles(REFUSED, run)
    produce(fault_settings, refused)
    # At least: one too many must fail the exact checks below, not wait out the deadline.
    try:
        wait_for(lambda: len(dead_letters(fault_settings)) >= REFUSED, 120, "the refused articles to be dead-lettered")
    except AssertionError as timed_out:
        # Seen twice in CI: the retried articles were indexed a second after their refusal, as if the block
        # had gone. Say whether it is still set and what the node logged about blocks.
        blocks = es.indices.get_settings(index=fault_settings.articles_alias, name="index.blocks*")
        logged = [line for line in dedicated_services.elasticsearch_log().splitlines() if "read-only" in line]
        raise AssertionError(f"{timed_out}; blocks now: {blocks}; node log: {logged[-5:]}") from timed_out
    set_write_block(es, fault_settings, False)

    retried = read_records(fault_settings, fault_settings.topic_retry)
    assert sorted(record.key for record in retried) == sorted(message.key for message in refused)
    assert {dict(record.headers)["newsflow.retry_attempt"] for record in retried} == {b"1"}
    assert worker.metrics()["newsflow_retries_total"] >= REFUSED

    listed = orjson.loads(dlq(fault_settings, monkeypatch, "list", "--json"))
    assert [row["dead_letter"]["error_code"] for row in listed] == ["retries_exhausted"] * REFUSED
    assert all("429 cluster_block_exception" in row["dead_letter"]["reason"] for row in listed)
    # The dead letter names the original message on articles.raw, not its copy on the retry topic.
    assert {row["dead_letter"]["source_topic"] for row in listed} == {fault_settings.topic_raw}
    shown = orjson.loads(dlq(fault_settings, monkeypatch, "show", str(listed[0]["offset"]), "--json"))
    assert orjson.loads(shown["value_preview"])["url"].startswith(f"https://faults.example/{run}/")

    assert "would replay 5" in dlq(
        fault_settings, monkeypatch, "replay", "--error-code", "retries_exhausted", "--dry-run"
    )
    assert "replayed 5" in dlq(fault_settings, monkeypatch, "replay", "--error-code", "retries_exhausted")
    wanted = {message.key.decode() for message in refused}
    wait_for(
        lambda: (
            wanted <= {hit["_id"] for hit in es.search(index=fault_settings.articles_alias, size=100)["hits"]["hits"]}
        ),
        120,
        "the replayed articles to be indexed",
    )
    assert [dead_letter_view(record)["error_code"] for record in dead_letters(fault_settings)] == [
        "retries_exhausted"
    ] * REFUSED, "nothing new was dead-lettered"
