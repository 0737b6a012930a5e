"""RecentSignatures: the in-memory near-duplicate candidates of the current refresh gap."""

from __future__ import annotations

from newsflow.es.dedup import RecentSignatures
from newsflow.models import Article, SourceMessage
from newsflow.stages.neardup import NearDuplicateSigner

TEXT = "the foreign ministers met in riyadh to discuss shipping in the red sea and the strait of hormuz " * 3


def signed(article_id: str, text: str, near_duplicate_of: str | None = None) -> Article:
    source = SourceMessage(b"{}", None, "raw", 0, 0)
    article = Article(article_id, "u", "u", "outlet", "title", text, "text/plain", None, source, text=text)
    article.signature = NearDuplicateSigner().sign_many([text])[0]
    article.near_duplicate_of = near_duplicate_of
    return article


def test_an_article_finds_earlier_ones_sharing_a_band_but_not_itself() -> None:
    recent = RecentSignatures(capacity=10)
    first, copy, other = signed("a", TEXT), signed("b", TEXT + "again", "a"), signed("c", "nothing alike at all here")
    for article in (first, copy, other):
        recent.add(article)
    found = {original for original, _ in recent.candidates(signed("d", TEXT))}
    assert found == {"a"}  # b is a near duplicate of a: it points at its original
    assert {original for original, _ in recent.candidates(first)} == {"a"}  # b, not a itself


def test_the_oldest_are_forgotten_beyond_capacity_and_readding_replaces() -> None:
    recent = RecentSignatures(capacity=2)
    for article_id in ("a", "b", "c"):
        recent.add(signed(article_id, f"{TEXT} {article_id}"))
    assert len(recent) == 2
    assert {original for original, _ in recent.candidates(signed("x", TEXT))} == {"b", "c"}
    recent.add(signed("b", "a completely different text now"))
    assert len(recent) == 2
    assert {original for original, _ in recent.candidates(signed("x", TEXT))} == {"c"}
    recent.add(signed("d", "unrelated words only"))
    recent.add(signed("e", "more unrelated words"))
    assert recent.candidates(signed("x", TEXT)) == []
