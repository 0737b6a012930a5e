"""Kafka with SASL/SCRAM-SHA-512 over TLS: the right user over TLS gets in, with newsflow's
kafka-python clients (admin, producer, lag) and with the faust worker; a wrong password or a
client without TLS is refused. The secrets never reach the worker's log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from newsflow import paths
from newsflow.es.client import sync_client
from newsflow.kafka.admin import client_config
from newsflow.settings import Settings
from newsflow.worker.process import WorkerProcess

from ..conftest import ingest, isolated_deployment
from .conftest import ELASTIC_PASSWORD, WORKER_PASSWORD, WORKER_USER, SecuredServices

REFUSAL_TIMEOUT_MS = 3000


def credentials(secured_kafka: SecuredServices, **changes: Any) -> dict[str, Any]:
    return {
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_username": WORKER_USER,
        "kafka_sasl_password": WORKER_PASSWORD,
        "kafka_ssl_ca_file": secured_kafka.security.ca_file,
        **changes,
    }


def describe_cluster(settings: Settings) -> dict:
    admin = KafkaAdminClient(**{**client_config(settings, "security-test"), "bootstrap_timeout_ms": REFUSAL_TIMEOUT_MS})
    try:
        return admin.describe_cluster()
    finally:
        admin.close()


def test_the_worker_user_over_tls_gets_in(secured_kafka: SecuredServices) -> None:
    settings = Settings(kafka_bootstrap=secured_kafka.endpoints["kafka_bootstrap"], **credentials(secured_kafka))
    assert describe_cluster(settings)["brokers"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"kafka_sasl_password": "not-the-password"}, id="wrong password"),
        pytest.param({"kafka_security_protocol": "SASL_PLAINTEXT"}, id="SCRAM without TLS"),
        pytest.param({"kafka_security_protocol": "PLAINTEXT"}, id="no authentication"),
    ],
)
def test_a_wrong_password_or_no_tls_is_refused(secured_kafka: SecuredServices, changes: dict[str, Any]) -> None:
    settings = Settings(
        kafka_bootstrap=secured_kafka.endpoints["kafka_bootstrap"], **credentials(secured_kafka, **changes)
    )
    with pytest.raises(KafkaError):
        describe_cluster(settings)
    if "kafka_sasl_password" in changes:
        assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in secured_kafka.kafka_log()


def test_producer_and_worker_over_scram_and_tls_never_log_a_secret(
    secured_kafka: SecuredServices, local_services: dict, tmp_path: Path
) -> None:
    endpoints = {"kafka_bootstrap": secured_kafka.endpoints["kafka_bootstrap"], "es_url": local_services["es_url"]}
    # The shared Elasticsearch runs without security and ignores the password; it is set to be looked for.
    secrets = credentials(secured_kafka) | {"es_username": "elastic", "es_password": ELASTIC_PASSWORD}
    with isolated_deployment(endpoints, entities_model_ner=False, story_embeddings=False, **secrets) as settings:
        worker = WorkerProcess(settings, tmp_path / "worker.log")
        try:
            sent = ingest(settings, worker, [str(paths.samples_dir() / "articles.jsonl")])
        finally:
            worker.stop()
        with sync_client(settings) as es:
            es.indices.refresh(index=settings.articles_alias)
            assert es.count(index=settings.articles_alias)["count"] > 0
    assert sent > 0
    log = worker.log()
    assert "batch of" in log
    assert WORKER_PASSWORD not in log and ELASTIC_PASSWORD not in log
