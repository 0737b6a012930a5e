"""The producer against the real broker: every message arrives once, keyed by its article id."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict

import orjson
import pytest

from newsflow import paths
from newsflow.kafka.admin import admin_client, topic_specs
from newsflow.kafka.producer import ProduceCounts, produce_inputs
from newsflow.kafka.reader import read_records
from newsflow.settings import Settings
from newsflow.urls import article_id

pytestmark = pytest.mark.integration

ARTICLES = paths.samples_dir() / "articles.jsonl"
MALFORMED = paths.samples_dir() / "malformed.jsonl"


def lines_of(path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def test_samples_arrive_once_keyed_by_article_id(settings: Settings) -> None:
    counts = produce_inputs(settings, [str(ARTICLES), str(MALFORMED)])
    articles, malformed = lines_of(ARTICLES), lines_of(MALFORMED)
    assert counts == ProduceCounts(files_read=2, messages_sent=len(articles) + len(malformed))

    records = read_records(settings, settings.topic_raw)
    received = sorted((record.key, record.value) for record in records)
    assert len(received) == len(articles) + len(malformed)
    expected_articles = sorted((article_id(orjson.loads(line)["url"]).encode(), line) for line in articles)
    assert [pair for pair in received if pair[1] in set(articles)] == expected_articles
    # Malformed messages travel unchanged, for the worker to dead-letter.
    assert sorted(value for _, value in received if value not in set(articles)) == sorted(malformed)

    partitions_by_key = defaultdict(set)
    for record in records:
        partitions_by_key[record.key].add(record.partition)
    assert all(len(partitions) == 1 for partitions in partitions_by_key.values())
    assert len({record.partition for record in records}) > 1, "keys spread over the partitions"


def test_cli_reads_json_lines_from_stdin_and_reports_json(settings: Settings) -> None:
    own = Settings(name_prefix=f"{settings.name_prefix}cli-", kafka_bootstrap=settings.kafka_bootstrap)
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSFLOW_")}
    env.update(NEWSFLOW_NAME_PREFIX=own.name_prefix, NEWSFLOW_KAFKA_BOOTSTRAP=own.kafka_bootstrap)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "newsflow", "produce", "--json", "-"],
            input=MALFORMED.read_bytes(),
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()
        report = orjson.loads(result.stdout)
        assert report["topic"] == own.topic_raw
        assert sorted(report["topics_created"]) == sorted(topic_specs(own))
        sent = (report["files_read"], report["messages_sent"], report["failed_sends"])
        assert sent == (1, len(lines_of(MALFORMED)), 0)
        assert len(read_records(own, own.topic_raw)) == len(lines_of(MALFORMED))
    finally:
        admin = admin_client(own)
        try:
            admin.delete_topics(list(topic_specs(own)), raise_errors=False)
        finally:
            admin.close()
