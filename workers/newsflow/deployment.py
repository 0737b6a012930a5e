"""A name prefix's own Kafka topics and Elasticsearch indices, for a test or benchmark run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from newsflow.es.client import sync_client
from newsflow.es.indices import delete_all, install
from newsflow.kafka.admin import admin_client, ensure_topics, topic_specs
from newsflow.settings import Settings


@contextlib.contextmanager
def isolated(settings: Settings) -> Iterator[Settings]:
    """Create the prefix's topics, templates, scripts and indices; delete them all afterwards."""
    ensure_topics(settings)
    with sync_client(settings) as es:
        install(es, settings)
    try:
        yield settings
    finally:
        with sync_client(settings) as es:
            delete_all(es, settings)
        admin = admin_client(settings)
        try:
            admin.delete_topics(list(topic_specs(settings)), raise_errors=False)
        finally:
            admin.close()
