"""Nobody let in: Kafka takes SASL/SCRAM-SHA-512 over TLS only, Elasticsearch authenticated HTTPS
only, and a worker's API key writes its own deployment's indices and nothing else.

Every other test in this folder runs its workers that way too (SCRAM over TLS to Kafka, the
API key over HTTPS to Elasticsearch), and `start_worker` checks that their logs hold no secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import AuthenticationException, AuthorizationException, Elasticsearch
from elasticsearch import ConnectionError as ElasticsearchConnectionError
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from newsflow.es.client import sync_client
from newsflow.kafka.admin import client_config
from newsflow.settings import Settings

from .conftest import DedicatedServices, FaultWorker, produce, run_id, unique_articles, wait_for

REFUSAL_TIMEOUT_MS = 3000


def describe_cluster(settings: Settings) -> dict:
    admin = KafkaAdminClient(**{**client_config(settings, "security-test"), "bootstrap_timeout_ms": REFUSAL_TIMEOUT_MS})
    try:
        return admin.describe_cluster()
    finally:
        admin.close()


def test_kafka_admits_the_worker_user_over_tls(fault_settings: Settings) -> None:
    assert fault_settings.kafka_security_protocol == "SASL_SSL"
    assert describe_cluster(fault_settings)["brokers"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"kafka_sasl_password": "not-the-password"}, id="wrong password"),
        pytest.param({"kafka_security_protocol": "SASL_PLAINTEXT"}, id="SCRAM without TLS"),
        pytest.param({"kafka_security_protocol": "PLAINTEXT"}, id="no authentication"),
    ],
)
def test_kafka_refuses_a_wrong_password_or_no_tls(dedicated_services: DedicatedServices, changes: dict) -> None:
    settings = Settings(
        kafka_bootstrap=dedicated_services.endpoints["kafka_bootstrap"],
        **{**dedicated_services.kafka_credentials(), **changes},
    )
    with pytest.raises(KafkaError):
        describe_cluster(settings)
    if "kafka_sasl_password" in changes:  # refused for the password, not for anything else
        assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in dedicated_services.kafka_log()


def test_elasticsearch_refuses_anonymous_wrong_password_and_plain_http(dedicated_services: DedicatedServices) -> None:
    url, ca = dedicated_services.endpoints["es_url"], str(dedicated_services.security.ca_file)
    assert url.startswith("https://")
    with Elasticsearch(url, ca_certs=ca) as anonymous, pytest.raises(AuthenticationException):
        anonymous.info()
    with (
        Elasticsearch(url, ca_certs=ca, basic_auth=("elastic", "wrong")) as wrong,
        pytest.raises(AuthenticationException),
    ):
        wrong.info()
    with (
        Elasticsearch(url.replace("https://", "http://"), max_retries=0) as plain,
        pytest.raises(ElasticsearchConnectionError),
    ):
        plain.info()
    with dedicated_services.admin_es() as admin:
        assert admin.info()["version"]["number"]


def test_the_worker_key_writes_its_own_indices_and_nothing_else(
    dedicated_services: DedicatedServices, fault_settings: Settings, worker_api_key: str
) -> None:
    worker = fault_settings.model_copy(update={"es_username": None, "es_password": None, "es_api_key": worker_api_key})
    outsider = f"other-{uuid.uuid4().hex[:8]}"
    record: dict[str, Any] = {"article_id": "probe", "first_seen": datetime.now(UTC).isoformat()}
    with dedicated_services.admin_es() as admin:
        admin.indices.create(index=outsider)
    try:
        with sync_client(worker) as es:
            assert es.index(index=fault_settings.fingerprints_index, id="probe", document=record)["result"] == "created"
            refused = [
                lambda: es.index(index=outsider, id="probe", document=record),  # another's index
                lambda: es.indices.create(index=f"{outsider}-new"),  # creating indices
                lambda: es.indices.delete(index=fault_settings.fingerprints_index),  # deleting its own
                lambda: es.indices.put_index_template(name=outsider, index_patterns=[outsider]),  # templates
            ]
            for attempt in refused:
                with pytest.raises(AuthorizationException):
                    attempt()
    finally:
        with dedicated_services.admin_es() as admin:
            admin.indices.delete(index=outsider)


def test_a_worker_with_the_key_indexes_over_scram_and_tls(
    fault_settings: Settings, start_worker: Callable[..., FaultWorker]
) -> None:
    worker = start_worker()
    produce(fault_settings, unique_articles(20, run_id()))
    wait_for(lambda: worker.metrics().get("newsflow_documents_indexed_total", 0) == 20, 180, "20 documents")
    assert worker.settings.es_api_key and worker.settings.es_username is None
