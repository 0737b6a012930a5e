"""Rule-based English -> Arabic transliteration of names, to draft Arabic aliases for review.

Arabic news writes foreign names by sound with long vowels spelled out
(Lavrov -> لافروف، Bortnikov -> بورتنيكوف). Letter rules get most
Russian and European names right or close; the output is a candidate for a
person to check, never written to the table unreviewed. `g` is written غ in
most outlets and ج in Egyptian ones, so both candidates are offered.
"""

from __future__ import annotations

import re

# Longest first: digraphs before single letters.
_DIGRAPHS = {
    "sch": "ش",
    "sh": "ش",
    "ch": "تش",
    "kh": "خ",
    "zh": "ج",
    "th": "ث",
    "ph": "ف",
    "gh": "غ",
    "ts": "تس",
    "tz": "تس",
    "ck": "ك",
    "qu": "كو",
    "ou": "و",
    "oo": "و",
    "ee": "ي",
    "ea": "ي",
    "ei": "ي",
    "ey": "ي",
    "ie": "ي",
    "ai": "اي",
    "ay": "اي",
    "yu": "يو",
    "ya": "يا",
    "yo": "يو",
}
_LETTERS = {
    "a": "ا",
    "b": "ب",
    "c": "ك",
    "d": "د",
    "e": "ي",
    "f": "ف",
    "g": "غ",
    "h": "ه",
    "i": "ي",
    "j": "ج",
    "k": "ك",
    "l": "ل",
    "m": "م",
    "n": "ن",
    "o": "و",
    "p": "ب",
    "q": "ك",
    "r": "ر",
    "s": "س",
    "t": "ت",
    "u": "و",
    "v": "ف",
    "w": "و",
    "x": "كس",
    "y": "ي",
    "z": "ز",
}
# A vowel opening a word needs a hamza seat.
_INITIAL_VOWELS = {"a": "أ", "e": "إ", "i": "إي", "o": "أو", "u": "أو"}
_TOKEN = re.compile("|".join(sorted(_DIGRAPHS, key=len, reverse=True)) + "|[a-z]")
_ARTICLE_PREFIX = re.compile(r"^(al|el)-", re.IGNORECASE)


def _word(word: str, g_letter: str) -> str:
    word = re.sub(r"(.)\1", r"\1", word.lower())  # doubled letters are written once (Rutte)
    if word.endswith("e") and len(word) > 3 and word[-2] not in "aeiouy":
        word = word[:-1]  # silent final e (Lecornu keeps its u, Starmer has none)
    out = []
    for index, match in enumerate(_TOKEN.finditer(word)):
        piece = match.group()
        if index == 0 and piece[0] in _INITIAL_VOWELS:
            out.append(_INITIAL_VOWELS[piece[0]] + "".join(_LETTERS.get(c, "") for c in piece[1:]))
        elif piece == "c" and word[match.end() : match.end() + 1] in ("e", "i", "y"):
            out.append("س")
        elif piece == "g":
            out.append(g_letter)
        else:
            out.append(_DIGRAPHS.get(piece) or _LETTERS.get(piece, ""))
    return "".join(out)


def transliterate(name: str) -> list[str]:
    """Arabic spelling candidates of a Latin-script name, most common convention first."""
    candidates = []
    for g_letter in ("غ", "ج"):
        words = []
        for word in re.findall(r"[A-Za-z'-]+", name):
            article = _ARTICLE_PREFIX.match(word)
            rest = re.sub(r"[-']", "", word[article.end() :] if article else word)
            words.append(("ال" if article else "") + _word(rest, g_letter))
        candidate = " ".join(w for w in words if w)
        if candidate and candidate not in candidates:
            candidates.append(candidate)
    return candidates
