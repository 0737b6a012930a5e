"""Stage 5: the normalised content hash that identifies the same text under any URL or outlet."""

from __future__ import annotations

import hashlib
import re

from newsflow.models import Article

# Case, punctuation and spacing differ between syndicated copies of one text; words do not.
_WORDS = re.compile(r"\w+")


def content_hash(text: str) -> str:
    words = _WORDS.findall(text.casefold())
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()[:32]


def fingerprint(article: Article) -> Article:
    article.content_hash = content_hash(article.text)
    return article
