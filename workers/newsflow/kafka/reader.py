"""Reading a topic from the beginning without a consumer group (inspection, tests, the DLQ tools)."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from newsflow.kafka.admin import connect
from newsflow.settings import Settings


def read_records(settings: Settings, topic: str) -> list[ConsumerRecord]:
    """Every record currently on a topic, all partitions, from the beginning (no consumer group)."""
    consumer = connect(KafkaConsumer, settings, "reader", enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        end = consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            for batch in consumer.poll(timeout_ms=1000).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()
