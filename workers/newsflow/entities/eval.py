"""CoNLL-style NER scores (exact span and type) of any extractor on token-level IOB2 rows.

Rows are `{"tokens": [...], "tags": [...]}`. Tokens are joined with single
spaces into one text per row; predicted character spans are mapped back to
the tokens they touch, so a mention that includes or leaves out an attached
Arabic prefix scores the same as the whole token.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

TokenSpan = tuple[int, int, str]  # first token, token after the last, type


class TypedSpan(Protocol):
    """A `Mention` or a model's `EntitySpan`: character offsets and an entity type."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def type(self) -> str: ...


class SpanExtractor(Protocol):
    """`EntityExtractor` (table + model) and `ModelNer` (model only) both fit."""

    def extract(self, texts: list[str], language: str) -> Sequence[Sequence[TypedSpan]]: ...


def iob_spans(tags: Sequence[str]) -> set[TokenSpan]:
    spans = set()
    start, current = 0, None
    for index, tag in enumerate([*tags, "O"]):
        if current and tag != f"I-{current}":
            spans.add((start, index, current))
            current = None
        if tag.startswith("B-") or (tag.startswith("I-") and current is None):
            start, current = index, tag[2:]
    return spans


def token_spans(tokens: Sequence[str], mentions: Iterable[TypedSpan]) -> set[TokenSpan]:
    starts, offset = [], 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    return {
        (bisect.bisect_right(starts, m.start) - 1, bisect.bisect_right(starts, m.end - 1), m.type)
        for m in mentions
        if m.end > m.start
    }


def _scores(correct: int, predicted: int, gold: int) -> dict[str, float | int]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "correct": correct,
        "predicted": predicted,
        "gold": gold,
    }


def evaluate_ner(
    rows: Iterable[dict[str, Any]], language: str, extractor: SpanExtractor, batch_size: int = 256
) -> dict[str, Any]:
    """Micro precision/recall/F1 overall and per type: {"language", "sentences", "overall", "per_type"}."""
    correct: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    gold: Counter[str] = Counter()
    rows = list(rows)
    for first in range(0, len(rows), batch_size):
        batch = rows[first : first + batch_size]
        found = extractor.extract([" ".join(row["tokens"]) for row in batch], language)
        for row, mentions in zip(batch, found, strict=True):
            gold_spans = iob_spans(row["tags"])
            predicted_spans = token_spans(row["tokens"], mentions)
            gold.update(span[2] for span in gold_spans)
            predicted.update(span[2] for span in predicted_spans)
            correct.update(span[2] for span in gold_spans & predicted_spans)
    types = sorted(gold.keys() | predicted.keys())
    return {
        "language": language,
        "sentences": len(rows),
        "overall": _scores(sum(correct.values()), sum(predicted.values()), sum(gold.values())),
        "per_type": {t: _scores(correct[t], predicted[t], gold[t]) for t in types},
    }
