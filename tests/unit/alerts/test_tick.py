import asyncio

from faust.types import TP

from newsflow.alerts.app import known_position

PARTITION = TP("articles.enriched", 0)


class Consumer:
    """aiokafka's `position` as it behaves with and without a fetch position for the partition."""

    def __init__(self, position: int | None) -> None:
        self._position = position

    async def position(self, tp: TP) -> int:
        if self._position is None:
            await asyncio.Event().wait()  # a paused partition: no position comes
        return self._position


def test_a_known_position_is_returned():
    assert asyncio.run(known_position(Consumer(42), PARTITION, 1.0)) == 42


def test_a_position_that_never_comes_does_not_stop_the_tick():
    assert asyncio.run(known_position(Consumer(None), PARTITION, 0.05)) is None
