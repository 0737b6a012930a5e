"""Topic specs, client construction and `ensure_topics`, without a broker."""

from __future__ import annotations

import re
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError

from newsflow.errors import ServiceError
from newsflow.kafka import admin
from newsflow.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings(kafka_bootstrap="kafka-1:9092, kafka-2:9093", name_prefix="t1-", topic_partitions=6)


def test_client_config_lists_every_bootstrap_server(settings: Settings) -> None:
    config = admin.client_config(settings, "producer")
    assert config["bootstrap_servers"] == ["kafka-1:9092", "kafka-2:9093"]
    assert config["client_id"] == "newsflow-producer"


def test_client_config_is_plaintext_by_default(settings: Settings) -> None:
    config = admin.client_config(settings, "admin")
    assert config["security_protocol"] == "PLAINTEXT"
    assert not {"ssl_context", "sasl_mechanism", "sasl_plain_password"} & set(config)


def test_client_config_carries_scram_over_tls(tmp_path) -> None:
    secured = Settings(
        kafka_bootstrap="k:9094",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="worker",
        kafka_sasl_password="s3cret",
    )
    config = admin.client_config(secured, "admin")
    assert config["security_protocol"] == "SASL_SSL" and config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("worker", "s3cret")
    assert config["ssl_context"].verify_mode.name == "CERT_REQUIRED"
    assert "s3cret" not in repr(secured)


def test_connect_passes_common_and_own_options() -> None:
    seen: dict[str, Any] = {}

    def client(**options: Any) -> str:
        seen.update(options)
        return "client"

    assert admin.connect(client, Settings(kafka_bootstrap="k:9092"), "admin", acks="all") == "client"
    assert seen["bootstrap_servers"] == ["k:9092"] and seen["acks"] == "all"


def test_connect_turns_an_unreachable_broker_into_a_service_error() -> None:
    def unreachable(**_: Any) -> None:
        raise KafkaTimeoutError("Unable to bootstrap from ['k:9092']")

    with pytest.raises(ServiceError, match="cannot reach Kafka at k:9092"):
        admin.connect(unreachable, Settings(kafka_bootstrap="k:9092"), "admin")


def test_topic_specs(settings: Settings) -> None:
    specs = admin.topic_specs(settings)
    assert set(specs) == {
        "t1-articles.raw",
        "t1-articles.enriched",
        "t1-articles.retry",
        "t1-articles.dlq",
        "t1-alerts",
    }
    raw, enriched, dlq = specs["t1-articles.raw"], specs["t1-articles.enriched"], specs["t1-articles.dlq"]
    retry = specs["t1-articles.retry"]
    assert raw["num_partitions"] == enriched["num_partitions"] == 6 and dlq["num_partitions"] == 1
    assert retry["num_partitions"] == 1
    assert raw["replication_factor"] == enriched["replication_factor"] == dlq["replication_factor"] == 1
    # Broker configs are strings; dead letters outlive the raw messages they came from.
    assert int(raw["configs"]["retention.ms"]) < int(dlq["configs"]["retention.ms"])
    for spec in (raw, enriched, retry, dlq):
        assert all(isinstance(value, str) for value in spec["configs"].values())
        assert int(spec["configs"]["max.message.bytes"]) > settings.max_message_bytes


class FakeAdmin:
    def __init__(self, error_codes: dict[str, int]) -> None:
        self.error_codes = error_codes
        self.requested: dict[str, Any] = {}
        self.waited_for: list[str] | None = None
        self.closed = False

    def create_topics(self, specs: dict[str, Any], raise_errors: bool) -> dict[str, Any]:
        assert raise_errors is False
        self.requested = specs
        results = [{"name": name, "error_code": self.error_codes[name], "error_message": None} for name in specs]
        return {"topics": results}

    def wait_for_topics(self, names: list[str]) -> None:
        self.waited_for = names

    def close(self) -> None:
        self.closed = True


def test_ensure_topics_creates_what_is_missing_and_accepts_what_exists(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeAdmin(  # 36: already exists
        {
            "t1-articles.raw": 0,
            "t1-articles.enriched": 36,
            "t1-articles.retry": 36,
            "t1-articles.dlq": 36,
            "t1-alerts": 36,
        }
    )
    monkeypatch.setattr(admin, "admin_client", lambda _: fake)
    assert admin.ensure_topics(settings) == ["t1-articles.raw"]
    assert fake.requested == admin.topic_specs(settings)
    assert fake.waited_for == ["t1-articles.raw"]
    assert fake.closed


def test_ensure_topics_reports_other_errors(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeAdmin(  # 38: bad replication
        {"t1-articles.raw": 0, "t1-articles.enriched": 0, "t1-articles.retry": 0, "t1-articles.dlq": 38, "t1-alerts": 0}
    )
    monkeypatch.setattr(admin, "admin_client", lambda _: fake)
    with pytest.raises(ServiceError, match=re.escape("t1-articles.dlq: InvalidReplicationFactorError")):
        admin.ensure_topics(settings)
    assert fake.closed
