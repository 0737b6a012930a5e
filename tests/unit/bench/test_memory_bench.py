"""The memory benchmark's accounting, on small constructed objects (no long run)."""

from __future__ import annotations

import sys

from newsflow.bench.memory import deep_size


def test_deep_size_counts_the_string_keys_of_a_dict() -> None:
    key = "k" * 10_000
    assert deep_size({key: 1}) >= sys.getsizeof({key: 1}) + sys.getsizeof(key)
