"""`newsflow produce` wiring: input checks, exit codes and output, with Kafka replaced by fakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from typer.testing import CliRunner

from newsflow.cli import produce as produce_cli
from newsflow.kafka.producer import ProduceCounts
from newsflow.settings import Settings

app = typer.Typer()
app.command()(produce_cli.produce)
runner = CliRunner()


@pytest.fixture
def kafka_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the Kafka edge; the fake send reports `kafka_calls['counts']`."""
    calls: dict[str, Any] = {"counts": ProduceCounts(files_read=1, messages_sent=36)}

    def produce_inputs(settings: Settings, names: list[str], **options: Any) -> ProduceCounts:
        calls.update(names=names, **options)
        return calls["counts"]

    monkeypatch.setattr(produce_cli, "load_settings", lambda: Settings(name_prefix="cli-"))
    monkeypatch.setattr(produce_cli, "ensure_topics", lambda settings: [settings.topic_raw])
    monkeypatch.setattr(produce_cli, "produce_inputs", produce_inputs)
    return calls


def test_samples_are_sent_and_counted_as_json(kafka_calls: dict[str, Any]) -> None:
    result = runner.invoke(app, ["--samples", "--json"])
    assert result.exit_code == 0, result.output
    assert kafka_calls["names"] == [str(produce_cli.samples_dir() / "articles.jsonl")]
    assert orjson.loads(result.stdout) == {
        "topic": "cli-articles.raw",
        "topics_created": ["cli-articles.raw"],
        "files_read": 1,
        "messages_sent": 36,
        "failed_sends": 0,
        "first_error": None,
    }


def test_outlet_and_url_reach_the_text_reader(kafka_calls: dict[str, Any], tmp_path: Path) -> None:
    article = tmp_path / "seed.txt"
    article.write_text("Title\nBody", encoding="utf-8")
    result = runner.invoke(app, [str(article), "--outlet", "Nile Herald", "--url", "https://nileherald.example/a"])
    assert result.exit_code == 0, result.output
    assert (kafka_calls["outlet"], kafka_calls["url"]) == ("Nile Herald", "https://nileherald.example/a")
    assert "sent 36 message(s) to cli-articles.raw" in result.stdout


def test_a_failed_send_exits_1(kafka_calls: dict[str, Any]) -> None:
    kafka_calls["counts"] = ProduceCounts(
        files_read=1, messages_sent=35, failed_sends=1, first_error="KafkaTimeoutError: x"
    )
    result = runner.invoke(app, ["--samples"])
    assert result.exit_code == 1
    assert "KafkaTimeoutError: x" in result.stderr


@pytest.mark.parametrize(
    "arguments",
    [[], ["no-such-file.jsonl"], ["--samples", "--url", "https://example.org/a"]],
    ids=["nothing to send", "missing file", "url for several inputs"],
)
def test_bad_usage_exits_2_before_contacting_kafka(kafka_calls: dict[str, Any], arguments: list[str]) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2, result.output
    assert "names" not in kafka_calls
