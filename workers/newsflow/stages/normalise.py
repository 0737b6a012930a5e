"""Stage 2: Unicode and whitespace normalisation of title and body.

Line structure is kept (one paragraph per line) because boilerplate removal
and language mixing work per line.
"""

from __future__ import annotations

import re
import unicodedata

from newsflow.models import Article

# Invisible characters that break tokens and hashing: zero-width space, bidi marks and
# embeddings/isolates, BOM, soft hyphen. ZWNJ/ZWJ stay: Persian and Urdu spelling needs them.
_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x200B, 0x200E, 0x200F, 0x2060, 0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
# C0/C1 controls except tab and newline (null bytes included).
_CONTROLS = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)])
_DROP = {**_INVISIBLE, **_CONTROLS}
# Most texts have none of them: finding one is a fast scan, translating is a dictionary lookup a character.
_ANY_DROPPED = re.compile("[" + "".join(re.escape(chr(code)) for code in _DROP) + "]")
_SPACES = re.compile(r"[^\S\n]+")
_LINE_EDGE_SPACES = re.compile(r" ?\n ?")  # once spaces are collapsed, what strips every line
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    """NFC, drop invisible and control characters, collapse spaces, keep paragraphs."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    # The usual text, printable but for its newlines, has nothing to drop and no whitespace but spaces and
    # newlines: one fast check (controls, format characters and other whitespace are not printable).
    printable = text.replace("\n", " ").isprintable()
    if not printable and _ANY_DROPPED.search(text):
        text = text.translate(_DROP)
    # Most texts are spaced regularly already, and the passes would rewrite every space to change nothing.
    if not printable or _irregularly_spaced(text):
        text = _BLANK_LINES.sub("\n\n", _LINE_EDGE_SPACES.sub("\n", _SPACES.sub(" ", text)))
    return text.strip()


def _irregularly_spaced(text: str) -> bool:
    """Of text with no whitespace but spaces and newlines: whether collapsing spaces and blank lines changes it
    (double spaces, a line starting or ending in a space, more than one blank line)."""
    return "  " in text or " \n" in text or "\n " in text or "\n\n\n" in text


def normalise(article: Article) -> Article:
    article.title = " ".join(normalise_text(article.title).split())
    article.body = normalise_text(article.body) if article.content_type == "text/plain" else article.body
    return article
