"""The Elasticsearch clients encode JSON and NDJSON bodies with orjson, byte for byte as the library would."""

from __future__ import annotations

import asyncio

import numpy as np
from elasticsearch.serializer import NdjsonSerializer

from newsflow.es.client import OrjsonNdjsonSerializer, async_client, sync_client
from newsflow.settings import Settings

SEARCHES = [
    {"index": "stories"},
    {"size": 10, "query": {"bool": {"should": [{"term": {"terms": {"value": "ar:داعش", "boost": 2.5}}}]}}},
    {"index": "stories"},
    {"size": 10, "_source": False, "query": {"ids": {"values": ["a", "b"]}}},
]


def test_msearch_bodies_are_encoded_by_orjson_as_the_library_would() -> None:
    encoded = OrjsonNdjsonSerializer().dumps(SEARCHES)
    assert encoded == NdjsonSerializer().dumps(SEARCHES)
    assert OrjsonNdjsonSerializer().loads(encoded) == SEARCHES
    # orjson also takes numpy arrays (an embedding as kNN query vector), which the json module refuses.
    vector = OrjsonNdjsonSerializer().dumps([{"knn": {"query_vector": np.array([0.5, 1.0], dtype=np.float32)}}])
    assert vector == b'{"knn":{"query_vector":[0.5,1.0]}}\n'


def test_both_clients_use_it_for_plain_and_compatibility_mimetypes() -> None:
    async_es = async_client(Settings())
    try:
        for client in (sync_client(Settings()), async_es):
            serializers = client.transport.serializers
            for mimetype in ("application/x-ndjson", "application/vnd.elasticsearch+x-ndjson"):
                assert isinstance(serializers.get_serializer(mimetype), OrjsonNdjsonSerializer)
    finally:
        asyncio.run(async_es.close())
