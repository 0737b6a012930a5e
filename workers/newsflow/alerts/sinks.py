"""Where alert messages go after the alerts topic: the alerts index (Kibana), the log, and a webhook.

The webhook never holds anything up: calls wait in a bounded queue and one background task sends
them, each retried with exponential back-off; when the queue is full a new call is dropped, with an
error in the log (the alert itself is on the topic and in the index all the same).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

import aiohttp

from newsflow.es.bulk import backoff_delay
from newsflow.settings import Settings

log = logging.getLogger("newsflow.alerts")

WEBHOOK_QUEUE_SIZE = 1000
WEBHOOK_MAX_BACKOFF_S = 60.0
# A receiver's 4xx says the call itself is wrong (retrying cannot help), except these.
RETRYABLE_CLIENT_STATUS = frozenset({408, 425, 429})
# An alert detected longer ago than this many windows (and 10 minutes) comes from a backlog being
# caught up: it is recorded, but nobody is paged for it.
FRESH_WINDOWS = 3
FRESH_MIN_S = 600.0


def is_fresh(document: dict[str, Any], now: float) -> bool:
    age = now - datetime.fromisoformat(document["detected_at"]).timestamp()
    return age <= max(FRESH_WINDOWS * document["window_s"], FRESH_MIN_S)


def log_alert(document: dict[str, Any]) -> None:
    log.info(
        "alert %s %s: %d articles in the window ending %s (baseline %.1f, score %.1f), %d outlets, id %s",
        document["event"],
        document["term"],
        document["count"],
        document["window"]["end"],
        document["baseline"],
        document["score"],
        document["outlet_count"],
        document["id"],
    )


class WebhookSender:
    """POSTs alert documents as JSON to one URL, from a background task (`run`)."""

    def __init__(self, url: str, timeout_s: float, retries: int, backoff_s: float) -> None:
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._retries = retries
        self._backoff_s = backoff_s
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(WEBHOOK_QUEUE_SIZE)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookSender | None:
        if not settings.alerts_webhook_url:
            return None
        return cls(
            settings.alerts_webhook_url,
            settings.alerts_webhook_timeout_s,
            settings.alerts_webhook_retries,
            settings.alerts_webhook_backoff_s,
        )

    def submit(self, document: dict[str, Any]) -> None:
        """Queue a call; never waits."""
        try:
            self._queue.put_nowait(document)
        except asyncio.QueueFull:
            log.error("webhook queue full (%d calls waiting): alert %s not sent", WEBHOOK_QUEUE_SIZE, document["id"])

    async def run(self) -> None:
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            while True:
                document = await self._queue.get()
                await self._deliver(session, document)

    async def _deliver(self, session: aiohttp.ClientSession, document: dict[str, Any]) -> None:
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(backoff_delay(attempt, self._backoff_s, WEBHOOK_MAX_BACKOFF_S))
            started = time.perf_counter()
            try:
                async with session.post(self.url, json=document) as response:
                    if response.status < 300:
                        return
                    why = f"answered {response.status}"
                    if response.status < 500 and response.status not in RETRYABLE_CLIENT_STATUS:
                        log.error("webhook %s refused alert %s (%s); not retried", self.url, document["id"], why)
                        return
            except (aiohttp.ClientError, TimeoutError) as exc:
                why = f"{type(exc).__name__} after {time.perf_counter() - started:.1f}s"
            log.warning("webhook %s, alert %s: %s (attempt %d)", self.url, document["id"], why, attempt + 1)
        log.error("webhook %s: alert %s not delivered after %d attempts", self.url, document["id"], self._retries + 1)
