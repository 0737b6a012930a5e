"""Stage 5: the normalised content hash that identifies the same text under any URL or outlet."""

from __future__ import annotations

import hashlib
import re

from newsflow.models import Article

# Case, punctuation and spacing differ between syndicated copies of one text; words do not.
_WORDS = re.compile(r"\w+")
# Text in ASCII but for general punctuation (curly quotes, dashes, ellipses...: not word characters, no case)
# is folded by translating its UTF-8 bytes: ASCII word characters (\w) lowered, every other byte a space.
_BEYOND_ASCII_AND_PUNCTUATION = re.compile("[^\x00-\x7f\u2000-\u206f]")
_ASCII_WORD_BYTES = bytes(ord(char.lower()) if _WORDS.fullmatch(char) else 32 for char in map(chr, range(128))).ljust(
    256
)


def folded_words(text: str) -> bytes:
    """The words of `text` case-folded, one space apart, in UTF-8."""
    if text.isascii() or not _BEYOND_ASCII_AND_PUNCTUATION.search(text):
        return b" ".join(text.encode("utf-8").translate(_ASCII_WORD_BYTES).split())
    return " ".join(_WORDS.findall(text.casefold())).encode("utf-8")


def content_hash(words: bytes) -> str:
    """Of a text's `folded_words`."""
    return hashlib.sha256(words).hexdigest()[:32]


def fingerprint(article: Article) -> Article:
    article.folded_words = folded_words(article.text)
    article.content_hash = content_hash(article.folded_words)
    return article
