"""Near-duplicate candidates from the real neardup index: per article, the stored articles sharing the
most bands with it, however many others share one band with it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from elasticsearch import helpers

from newsflow.es import dedup
from newsflow.es.bulk import BulkSender
from newsflow.es.client import async_client
from newsflow.es.dedup import NearDuplicates
from newsflow.models import Article, SourceMessage
from newsflow.stages.neardup import NearDuplicateSigner

pytestmark = pytest.mark.integration

REPORT = (
    "Heavy rain flooded the lower town of Riverton on Tuesday night, forcing two hundred families from their "
    "homes. The mayor said emergency shelters had opened in three schools and that the river was expected to "
    "crest on Thursday morning. Volunteers filled sandbags along the embankment while the fire brigade pumped "
    "water from the flooded streets near the old market."
)


def signed_article(article_id: str, text: str, signer: NearDuplicateSigner) -> Article:
    source = SourceMessage(b"{}", None, "raw", 0, 0)
    article = Article(
        article_id, f"https://example.org/{article_id}", "", "Outlet", "", text, "text/plain", None, source
    )
    article.text = text
    article.signature = signer.sign(text)
    return article


def test_the_original_is_found_behind_many_articles_sharing_one_band(settings, es):
    signer = NearDuplicateSigner()
    original = signed_article("original", REPORT, signer)
    copy = signed_article("copy", REPORT.replace("Tuesday night", "Tuesday evening"), signer)
    # Stored before the original, each shares one of the copy's bands and nothing else with it.
    decoys = [
        signed_article(f"decoy-{number}", f"Unrelated report number {number} about the city budget.", signer)
        for number in range(3 * dedup.CANDIDATES_PER_ARTICLE)
    ]
    seen_at = datetime.now(UTC).isoformat()
    entries = [
        (decoy, [copy.signature.bands[number % len(copy.signature.bands)], *decoy.signature.bands])
        for number, decoy in enumerate(decoys)
    ] + [(original, original.signature.bands)]
    helpers.bulk(
        es,
        (
            {
                "_index": settings.neardup_index,
                "_id": article.id,
                "bands": bands,
                "minhash": article.signature.encode(),
                "shingles": article.signature.shingle_count,
                "duplicate_of": None,
                "seen_at": seen_at,
            }
            for article, bands in entries
        ),
        refresh=True,
    )

    async def resolve() -> list[str]:
        client = async_client(settings)
        try:
            near = NearDuplicates(BulkSender(client, settings), settings)
            candidates = await near.stored_candidates([copy, original])
            near.resolve([copy], candidates)
            return candidates
        finally:
            await client.close()

    candidates = asyncio.run(resolve())
    copy_candidates = [candidate for candidate, _ in candidates[copy.id]]
    assert copy_candidates[0] == original.id, "the original shares the most bands"
    assert len(copy_candidates) == dedup.CANDIDATES_PER_ARTICLE
    assert original.id not in {candidate for candidate, _ in candidates[original.id]}, "never its own candidate"
    assert copy.near_duplicate_of == original.id
    assert copy.near_duplicate_similarity >= settings.neardup_threshold
