"""The webhook sender: retried with back-off, never retried when the receiver refuses the call."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from newsflow.alerts.sinks import WebhookSender, is_fresh


class Receiver:
    """A local HTTP server answering POSTs with the given statuses in turn (the last one repeats)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(orjson.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status = receiver.statuses[min(len(receiver.bodies), len(receiver.statuses)) - 1]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver(request) -> Iterator[Receiver]:
    running = Receiver(request.param)
    yield running
    running.server.shutdown()


async def send(url: str, document: dict, calls_expected: int, receiver: Receiver) -> None:
    sender = WebhookSender(url, timeout_s=2, retries=3, backoff_s=0.01)
    task = asyncio.create_task(sender.run())
    sender.submit(document)
    for _ in range(200):
        if len(receiver.bodies) >= calls_expected:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # time for a call too many, if the sender were to make one
    task.cancel()


@pytest.mark.parametrize("receiver", [[500, 503, 200]], indirect=True)
def test_a_failing_receiver_is_retried_until_it_accepts(receiver):
    asyncio.run(send(receiver.url, {"id": "a1"}, 3, receiver))
    assert receiver.bodies == [{"id": "a1"}] * 3


@pytest.mark.parametrize("receiver", [[400]], indirect=True)
def test_a_refused_call_is_not_retried(receiver):
    asyncio.run(send(receiver.url, {"id": "a1"}, 1, receiver))
    assert receiver.bodies == [{"id": "a1"}]


def test_only_recent_alerts_are_fresh():
    document = {"detected_at": "2026-01-05T10:00:00+00:00", "window_s": 300.0}
    detected = 1_767_607_200.0
    assert is_fresh(document, detected + 60)
    assert not is_fresh(document, detected + 3600)
