"""Kafka client construction and the topics newsflow needs.

Every kafka-python client is built by `connect`, from `client_config`, so
security options (TLS, SASL) are added in one place when they are needed.
"""

from __future__ import annotations

import ssl
from contextlib import closing
from typing import Any, TypeVar

import kafka.errors
from kafka import KafkaAdminClient

from newsflow.errors import ServiceError
from newsflow.settings import Settings

ClientT = TypeVar("ClientT")

DAY_MS = 24 * 60 * 60 * 1000
# Raw articles can be replayed from the source; a week covers a long outage of the worker.
RAW_RETENTION_MS = 7 * DAY_MS
# Dead letters wait for a human to look at them, so they are kept longer.
DLQ_RETENTION_MS = 30 * DAY_MS
# Alert events are a record (also kept in the alerts index): a month of them.
ALERTS_RETENTION_MS = 30 * DAY_MS
# A single broker can hold one copy only; a cluster deployment raises this.
REPLICATION_FACTOR = 1


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """TLS towards the brokers, verified against the configured CA (else the system's)."""
    cafile = str(settings.kafka_ssl_ca_file) if settings.kafka_ssl_ca_file else None
    return ssl.create_default_context(cafile=cafile)


def client_config(settings: Settings, role: str) -> dict[str, Any]:
    """The options every newsflow Kafka client shares; `role` names the client in broker logs."""
    config: dict[str, Any] = {
        "bootstrap_servers": [server.strip() for server in settings.kafka_bootstrap.split(",")],
        "client_id": f"newsflow-{role}",
        # A command line user should learn within seconds that the broker is down.
        "bootstrap_timeout_ms": 10_000,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        config["ssl_context"] = ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL_"):
        config |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password,
        }
    return config


def connect(client_class: type[ClientT], settings: Settings, role: str, **options: Any) -> ClientT:
    """Build a kafka-python client; an unreachable broker becomes a ServiceError with the address."""
    try:
        return client_class(**client_config(settings, role), **options)
    except kafka.errors.KafkaError as exc:
        raise ServiceError(
            f"cannot reach Kafka at {settings.kafka_bootstrap} ({exc}); "
            "start it with `newsflow services up` or set NEWSFLOW_KAFKA_BOOTSTRAP"
        ) from exc


def admin_client(settings: Settings) -> KafkaAdminClient:
    return connect(KafkaAdminClient, settings, "admin")


def message_size_limit(settings: Settings) -> int:
    """Largest message the topics and the producer accept.

    Twice the worker's limit, so an oversized article reaches the worker and is
    dead-lettered with a reason instead of vanishing at the producer.
    """
    return 2 * settings.max_message_bytes


def topic_specs(settings: Settings) -> dict[str, dict[str, Any]]:
    """The topics newsflow creates, in the form `KafkaAdminClient.create_topics` takes."""
    max_message_bytes = str(message_size_limit(settings))
    return {
        settings.topic_raw: {
            "num_partitions": settings.topic_partitions,
            "replication_factor": REPLICATION_FACTOR,
            "configs": {"retention.ms": str(RAW_RETENTION_MS), "max.message.bytes": max_message_bytes},
        },
        # Enriched documents feed the spike detector, which counts per term across all partitions.
        settings.topic_enriched: {
            "num_partitions": settings.topic_partitions,
            "replication_factor": REPLICATION_FACTOR,
            "configs": {"retention.ms": str(RAW_RETENTION_MS), "max.message.bytes": max_message_bytes},
        },
        # Transient failures wait here (retry_delay_s) before another attempt; read in order, like the DLQ.
        settings.topic_retry: {
            "num_partitions": 1,
            "replication_factor": REPLICATION_FACTOR,
            "configs": {"retention.ms": str(RAW_RETENTION_MS), "max.message.bytes": max_message_bytes},
        },
        # Dead letters are rare and read in order by a human: one partition is enough.
        settings.topic_dlq: {
            "num_partitions": 1,
            "replication_factor": REPLICATION_FACTOR,
            "configs": {"retention.ms": str(DLQ_RETENTION_MS), "max.message.bytes": max_message_bytes},
        },
        # Keyed by alert id, so that the events of one spike stay in order.
        settings.topic_alerts: {
            "num_partitions": settings.topic_partitions,
            "replication_factor": REPLICATION_FACTOR,
            "configs": {"retention.ms": str(ALERTS_RETENTION_MS)},
        },
    }


def ensure_topics(settings: Settings) -> list[str]:
    """Create the missing newsflow topics and wait until they have leaders; return those created.

    Topics that already exist are left as they are (their partitions and configs are not changed).
    """
    specs = topic_specs(settings)
    with closing(admin_client(settings)) as admin:
        response = admin.create_topics(specs, raise_errors=False)
        created = []
        for topic in response["topics"]:
            error = kafka.errors.for_code(topic["error_code"])
            if error is kafka.errors.NoError:
                created.append(topic["name"])
            elif error is not kafka.errors.TopicAlreadyExistsError:
                raise ServiceError(
                    f"cannot create Kafka topic {topic['name']}: {error.__name__} {topic.get('error_message') or ''}"
                )
        admin.wait_for_topics(created)
    return created
