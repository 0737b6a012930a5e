"""BulkSender's classification of bulk items and whole requests, against a scripted client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from newsflow.errors import PermanentError, TransientError
from newsflow.es import bulk
from newsflow.es.bulk import BulkOp, BulkSender
from newsflow.models import Article, SourceMessage
from newsflow.settings import Settings

SETTINGS = Settings(bulk_backoff_s=0.001, bulk_max_retries=2)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_: float) -> None:
        pass

    monkeypatch.setattr(bulk.asyncio, "sleep", instant)


def article(number: int) -> Article:
    message = SourceMessage(b"{}", b"k", "raw", 0, number)
    return Article(str(number), "u", "u", "o", "t", "b", "text/plain", None, message)


def op(number: int) -> BulkOp:
    return BulkOp(article(number), {"index": {"_index": "articles", "_id": str(number)}}, {"n": number})


def item(status: int, error_type: str = "") -> dict[str, Any]:
    result: dict[str, Any] = {"status": status}
    if error_type:
        result["error"] = {"type": error_type, "reason": "because"}
    return {"index": result}


def api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return ApiError("refused", meta, {})


class ScriptedClient:
    """Answers each bulk call with the next scripted response: a list of item statuses, or an exception."""

    def __init__(self, *responses: list[dict[str, Any]] | Exception) -> None:
        self._responses: Iterator[list[dict[str, Any]] | Exception] = iter(responses)
        self.sent: list[int] = []  # operations per request

    async def bulk(self, operations: bytes) -> dict[str, Any]:
        self.sent.append(operations.count(b"\n") // 2)
        response = next(self._responses)
        if isinstance(response, Exception):
            raise response
        return {"items": response}


class RecordingGate:
    def __init__(self) -> None:
        self.events: list[str] = []

    def close(self) -> None:
        self.events.append("close")

    def open(self) -> None:
        self.events.append("open")


def send(client: ScriptedClient, operations: list[BulkOp], gate: RecordingGate | None = None) -> list:
    return asyncio.run(BulkSender(client, SETTINGS, gate).send(operations))  # type: ignore[arg-type]


def test_items_are_written_refused_for_good_or_resent_alone() -> None:
    client = ScriptedClient(
        [item(201), item(429, "es_rejected_execution_exception"), item(400, "mapper_parsing")], [item(200)]
    )
    outcomes = send(client, [op(1), op(2), op(3)])
    assert client.sent == [3, 1]
    by_id = {sent.document_id: error for sent, error in outcomes}
    assert by_id["1"] is None and by_id["2"] is None
    assert isinstance(by_id["3"], PermanentError) and by_id["3"].code == "index_rejected"
    assert "400 mapper_parsing" in by_id["3"].detail


def test_transient_refusals_are_bounded_then_handed_back() -> None:
    client = ScriptedClient(
        *([item(503, "unavailable_shards_exception")] for _ in range(SETTINGS.bulk_max_retries + 1))
    )
    [(_, error)] = send(client, [op(1)])
    assert isinstance(error, TransientError) and "refused 3 times" in str(error)
    assert client.sent == [1, 1, 1]


def test_unreachable_cluster_closes_the_gate_until_it_answers() -> None:
    gate = RecordingGate()
    refused = ConnectionError("connection refused")
    client = ScriptedClient(refused, refused, api_error(503), [item(201)])
    [(_, error)] = send(client, [op(1)], gate)
    assert error is None
    assert gate.events == ["close", "open"]
    assert len(client.sent) == 4


def test_wrong_credentials_wait_for_an_operator_instead_of_dead_lettering() -> None:
    gate = RecordingGate()
    client = ScriptedClient(api_error(401), [item(201)])
    [(_, error)] = send(client, [op(1)], gate)
    assert error is None and gate.events == ["close", "open"]


def test_a_request_refused_as_a_whole_fails_each_of_its_operations_permanently() -> None:
    client = ScriptedClient(api_error(400))
    outcomes = send(client, [op(1), op(2)])
    assert [error.code for _, error in outcomes] == ["index_rejected", "index_rejected"]
    assert all("request_refused" in error.detail for _, error in outcomes)


def test_large_batches_are_split_below_the_request_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "MAX_REQUEST_BYTES", len(op(1).ndjson()) * 2)
    client = ScriptedClient([item(201), item(201)], [item(201), item(201)], [item(201)])
    outcomes = send(client, [op(number) for number in range(5)])
    assert client.sent == [2, 2, 1]
    assert [sent.document_id for sent, _ in outcomes] == ["0", "1", "2", "3", "4"]
