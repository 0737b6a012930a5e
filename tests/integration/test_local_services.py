"""The local services of this checkout: both answer, and Kafka keeps its data across a restart.

Uses (and leaves running) the checkout's own services: `up` reuses them when already started.
"""

import uuid

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from newsflow import services

pytestmark = pytest.mark.integration


def _topics(bootstrap: str) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def test_services_answer_and_kafka_restarts_with_its_data():
    recorded = services.up()
    bootstrap = recorded["kafka_bootstrap"]
    assert Elasticsearch(recorded["es_url"]).cluster.health()["status"] in ("yellow", "green")

    topic = f"services-test-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send(topic, b"kept across the restart").get(timeout=30)
    producer.close()

    assert services.stop_service("kafka")
    stopped = services.status()["kafka"]
    assert stopped["state"] == "stopped" and stopped["pid"] is None

    restarted = services.start_service("kafka")
    assert restarted["ports"] == recorded["kafka"]["ports"]
    report = services.status()["kafka"]
    assert report["state"] == "running" and report["answering"] and report["rss_mb"] > 0
    assert topic in _topics(bootstrap)
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=20_000
    )
    assert next(consumer).value == b"kept across the restart"
    consumer.close()

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.delete_topics([topic])
    admin.close()
