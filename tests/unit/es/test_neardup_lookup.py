"""NearDuplicates' stored candidates: one search per group of articles gives each article the
CANDIDATES_PER_ARTICLE stored signatures sharing the most bands with it, ties in index order, itself excluded."""

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


def best_matches(entries: list[tuple[str, list[str]]], signed: Article) -> list[str]:
    """The stored entries sharing the most bands with the article, ties in index order, itself excluded."""
    bands = set(signed.signature.bands)
    shared = [(len(bands & set(entry_bands)), entry_id) for entry_id, entry_bands in entries if entry_id != signed.id]
    ranked = sorted((item for item in shared if item[0]), key=lambda item: -item[0])  # stable: index order
    return [entry_id for _, entry_id in ranked[: dedup.CANDIDATES_PER_ARTICLE]]


# Below a group's matches (cut off: the group searches again in halves), above any one article's (52 at most).
@pytest.mark.parametrize("search_hits", [10_000, 100, 60])
def test_each_article_gets_the_stored_signatures_sharing_most_bands_with_it(monkeypatch, search_hits) -> None:
    monkeypatch.setattr(dedup, "SEARCH_HITS", search_hits)
    monkeypatch.setattr(dedup, "MAX_TERMS", 9)  # three articles of three bands a group
    rng = random.Random(8)
    # Many entries share one band with an article; late in the index, a few share two or three.
    entries = [(f"s{i}", [f"b{rng.randrange(12)}", f"c{rng.randrange(40)}"]) for i in range(300)]
    entries += [(f"t{i}", [f"b{i % 12}", f"c{i}", f"c{i + 1}"][: 2 + i % 2]) for i in (3, 5, 7, 50, 51, 400)]
    articles = [article(f"s{i}", [f"b{i % 12}", f"c{i}", f"c{i + 1}"]) for i in (3, 5, 7, 50, 51, 400, 401)]
    stored = StoredSignatures(entries)
    near = NearDuplicates(Sender(stored), Settings())  # type: ignore[arg-type]
    found = asyncio.run(near._stored_candidates(articles))
    for signed in articles:
        assert [original for original, _ in found[signed.id]] == best_matches(entries, signed), signed.id
    assert [original for original, _ in found["s3"][:1]] == ["t3"], "the entry sharing all three bands comes first"
    # one search per group of three articles, more where hits were cut off
    assert stored.searches == 3 if search_hits == 10_000 else stored.searches > 3


def test_band_groups_fit_one_terms_query(monkeypatch) -> None:
    monkeypatch.setattr(dedup, "MAX_TERMS", 5)
    articles = [
        article(name, [f"{name}{i}" for i in range(count)]) for name, count in zip("abcd", (2, 3, 1, 6), strict=True)
    ]
    assert [[a.id for a in group] for group in band_groups(articles)] == [["a", "b"], ["c"], ["d"]]
