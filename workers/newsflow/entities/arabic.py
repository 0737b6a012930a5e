"""Arabic orthographic normalisation and attached-prefix (proclitic) handling.

News spelling of one name varies in hamza and alef forms (hamza seats ؤ ئ
too), ta marbuta, alef maqsura, tatweel and optional diacritics, so matching
compares folded forms.
Conjunctions and prepositions are written attached to the next word
(والقاعدة، بداعش، للأمم), so a name can start after one of those prefixes.
"""

from __future__ import annotations

# One code point in, at most one out: a translate table is much faster than regexes.
_LETTER_FOLDS = {
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ة": "ه",
    "ى": "ي",
    "ؤ": "و",  # hamza seats are often dropped in writing
    "ئ": "ي",
    "ی": "ي",  # Persian yeh, common in copied text
    "ک": "ك",  # Persian kaf
}
# Diacritics (harakat, shadda, sukun, superscript alef, Quranic marks) and tatweel carry no identity.
DELETED_MARKS = frozenset(
    [chr(c) for c in range(0x064B, 0x0660)] + ["\u0670", "\u0640"] + [chr(c) for c in range(0x06D6, 0x06EE)]
)
FOLD_TABLE = str.maketrans({**_LETTER_FOLDS, **dict.fromkeys(DELETED_MARKS)})

ARTICLE = "ال"
# Conjunction (و، ف) then preposition (ب، ل، ك), each optional, as attached before a noun.
PROCLITICS = frozenset(
    conjunction + preposition for conjunction in ("", "و", "ف") for preposition in ("", "ب", "ل", "ك")
)
# After the preposition ل the article's alef is dropped: ل + الأمم = للأمم.
LAM_PROCLITICS = frozenset(clitic for clitic in PROCLITICS if clitic.endswith("ل"))


def fold_arabic(text: str) -> str:
    """Folded spelling of Arabic text (other scripts pass through unchanged)."""
    return text.translate(FOLD_TABLE)


def is_arabic_letter(char: str) -> bool:
    return "\u0620" <= char <= "\u064a" or "\u066e" <= char <= "\u06d3"


def without_proclitics(word: str) -> list[str]:
    """Readings of a folded word with each possible attached prefix removed, longest word first.

    `وللامم` reads as itself, `للامم` (و), `لامم` (ول)... and, as ل + article, `الامم`.
    Callers keep only readings that are known names, so the over-generation is harmless.
    """
    readings = [word]
    for length in (1, 2, 3):
        clitic, rest = word[:length], word[length:]
        if len(rest) < 2 or clitic not in PROCLITICS:
            continue
        readings.append(rest)
        if clitic in LAM_PROCLITICS and rest.startswith("ل"):
            readings.append("ا" + rest)
    return readings


def article_reading(folded_word: str) -> str | None:
    """The word read as article + noun once attached prefixes are removed (وبالعراق -> العراق), if it reads so.

    Words without the article are left alone by callers: a leading و or ب may
    belong to the name itself (وليد، بغداد).
    """
    for reading in without_proclitics(folded_word):
        if reading.startswith(ARTICLE) and len(reading) > len(ARTICLE) + 1:
            return reading
    return None
