"""NearDuplicates' stored candidates: one search per group of articles gives each article what its own
search would (its first CANDIDATES_PER_ARTICLE matches in index order, itself excluded)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from newsflow.es import dedup
from newsflow.es.dedup import NearDuplicates, band_groups
from newsflow.models import Article, SourceMessage
from newsflow.settings import Settings
from newsflow.stages.neardup import Signature


def article(article_id: str, bands: list[str]) -> Article:
    source = SourceMessage(b"{}", None, "raw", 0, 0)
    signed = Article(article_id, "u", "u", "outlet", "title", "text", "text/plain", None, source, text="text")
    signed.signature = Signature(Signature.decode("AAAAAA==", 1).hashvalues, 1, bands)
    return signed


class StoredSignatures:
    """A stand-in for the neardup index: `terms` filter on bands, hits in index order, `size` honoured."""

    def __init__(self, entries: list[tuple[str, list[str]]]) -> None:
        self.entries = entries
        self.searches = 0

    async def search(self, *, size: int, sort: list[str], query: dict[str, Any], **_: Any) -> dict[str, Any]:
        assert sort == ["_doc"]
        self.searches += 1
        wanted = set(query["bool"]["filter"][0]["terms"]["bands"])
        hits = [
            {"_id": entry_id, "_source": {"bands": bands, "minhash": "AAAAAA==", "shingles": 1, "duplicate_of": None}}
            for entry_id, bands in self.entries
            if wanted & set(bands)
        ]
        return {"hits": {"hits": hits[:size]}}


class Sender:
    def __init__(self, client: StoredSignatures) -> None:
        self.client = client

    async def call(self, method: Any, **kwargs: Any) -> Any:
        return await method(**kwargs)


def own_search(entries: list[tuple[str, list[str]]], signed: Article) -> list[str]:
    """What the article's own search returned: its first matches in index order, itself excluded."""
    bands = set(signed.signature.bands)
    matches = [entry_id for entry_id, entry_bands in entries if bands & set(entry_bands) and entry_id != signed.id]
    return matches[: dedup.CANDIDATES_PER_ARTICLE]


@pytest.mark.parametrize("search_hits", [10_000, 60, 25])  # always > CANDIDATES_PER_ARTICLE
def test_each_article_gets_the_candidates_of_its_own_search(monkeypatch, search_hits) -> None:
    monkeypatch.setattr(dedup, "SEARCH_HITS", search_hits)
    monkeypatch.setattr(dedup, "MAX_TERMS", 9)  # three articles of three bands a group
    rng = random.Random(8)
    entries = [(f"s{i}", [f"b{rng.randrange(12)}", f"c{rng.randrange(40)}"]) for i in range(300)]
    articles = [article(f"s{i}", [f"b{i % 12}", f"c{i}", f"c{i + 1}"]) for i in (3, 5, 7, 50, 51, 400, 401)]
    stored = StoredSignatures(entries)
    near = NearDuplicates(Sender(stored), Settings())  # type: ignore[arg-type]
    found = asyncio.run(near._stored_candidates(articles))
    for signed in articles:
        assert [original for original, _ in found[signed.id]] == own_search(entries, signed), signed.id
    # one search per group of three articles, more where hits were cut off
    assert stored.searches == 3 if search_hits == 10_000 else stored.searches > 3


def test_band_groups_fit_one_terms_query(monkeypatch) -> None:
    monkeypatch.setattr(dedup, "MAX_TERMS", 5)
    articles = [
        article(name, [f"{name}{i}" for i in range(count)]) for name, count in zip("abcd", (2, 3, 1, 6), strict=True)
    ]
    assert [[a.id for a in group] for group in band_groups(articles)] == [["a", "b"], ["c"], ["d"]]
