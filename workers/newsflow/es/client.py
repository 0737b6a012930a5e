"""Elasticsearch clients built from the settings, in one place (auth, TLS, timeouts)."""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch
from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer

from newsflow.settings import Settings


class OrjsonNdjsonSerializer(NdjsonSerializer, OrjsonSerializer):
    """NDJSON bodies (`msearch`) through orjson, as the JSON ones: the library's own NDJSON serializer
    uses the standard json module, several times slower on a batch's candidate searches."""


def _client_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "hosts": [settings.es_url],
        "request_timeout": settings.es_request_timeout_s,
        "serializers": {
            OrjsonSerializer.mimetype: OrjsonSerializer(),
            NdjsonSerializer.mimetype: OrjsonNdjsonSerializer(),
        },
        # Retries are newsflow's own (per bulk item, with back-off); the transport must not add hidden ones.
        "max_retries": 0,
        "retry_on_timeout": False,
    }
    if settings.es_api_key:
        options["api_key"] = settings.es_api_key
    elif settings.es_username:
        options["basic_auth"] = (settings.es_username, settings.es_password or "")
    if settings.es_ca_file:
        options["ca_certs"] = str(settings.es_ca_file)
    return options


def sync_client(settings: Settings) -> Elasticsearch:
    return Elasticsearch(**_client_options(settings))


def async_client(settings: Settings) -> AsyncElasticsearch:
    return AsyncElasticsearch(**_client_options(settings))
