"""Stage 3b: site chrome out of plain-text bodies (HTML bodies were cleaned by trafilatura).

Two sources of evidence decide which lines of `Article.text` are the article:

1. Each line on its own, then in context (after jusText's method, adapted to
   plain text and to every language): length in words, sentence punctuation at
   the end, stopword density relative to the document's own prose (so Arabic,
   whose clitics lower the density, is judged against Arabic), share of
   capitalised, link-like and numeric tokens, photo credits, menu separators,
   and sentences that address the reader ("you", "your account", "our
   newsletter"). Short and doubtful lines are then kept or dropped by their
   neighbours, and the article is the best-scoring stretch of lines around its
   title, so a long run of chrome cuts off what follows it (comment rules,
   "related" teasers).
2. What the outlet repeats: `BoilerplateLearner` counts, per outlet, the
   articles each line occurred in; a line seen in enough earlier articles is
   chrome. This works from the outlet's next article on; (1) cleans the first.

The stage belongs after extraction and before language detection, so that the
language is measured on the article alone; it guesses the language itself to
choose stopword lists (jusText's, shipped with trafilatura's dependency).

The learner's memory is bounded (outlets, lines per outlet, a horizon in
articles). Workers share it through Elasticsearch (`newsflow.es.learned`): the
learner keeps what it counted since the last flush apart and merges it into
stored outlet memories; the I/O happens at the worker's edge, not here.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import cache, lru_cache
from typing import Any

import justext
import numpy as np

from newsflow.models import Article
from newsflow.settings import Settings
from newsflow.stages.fingerprint import folded_words
from newsflow.stages.language import UNDETERMINED, detect_sample

# --- Line features -----------------------------------------------------------------------------

SENTENCE_END = frozenset(".!?…؟۔।॥。！？։።။")
# Closing quotes and brackets after the final punctuation: `He said "yes."` ends a sentence.
_CLOSERS = "\"'”’»›)]}」』"
_STRIP = "\"'“”‘’«»‹›()[]{}<>.,;:!?…،؛؟۔*•·–—-_|/\\"
# A standalone token of these between items marks a menu, breadcrumb or byline bar.
# (Not « » ‹ ›: French spaces its quotation marks.)
_SEPARATORS = frozenset({"|", "/", "•", "·", ">", "::"})
_LINK = re.compile(
    r"^(?:https?://|www\.)"  # URL
    r"|^[\w.+-]+@[\w-]+\.[\w.-]+$"  # e-mail
    r"|^[@#]\w"  # handle, hashtag
    r"|^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[a-z]{2,6}(?:/\S*)?$"  # bare domain such as example.com
)
_LIST_MARKER = re.compile(r"^(?:[-–—•·*▪●◦]|\d{1,2}[.)]|[a-z][.)])\s+")
_INNER_SENTENCE_END = re.compile(r"\w[.!?؟۔。！？]\s+\S")
_QUOTED = re.compile(r"“[^”]*(?:”|$)|„[^“”]*(?:[“”]|$)|«[^»]*(?:»|$)|\"[^\"]*(?:\"|$)")
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, CJK ideographs.
_UNSPACED_LETTERS = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
)

# Second-person and site-voice words ("your account", "our newsletter"): news prose speaks of
# third parties, site chrome speaks to the reader. Quoted speech is not counted.
READER_ADDRESS = {
    language: frozenset(words.split())
    for language, words in {
        "en": "you your yours yourself yourselves our ours",
        "fr": "vous votre vos tu ton ta tes notre nos",
        "de": "du dein deine deinen deinem deiner euch euer eure ihnen unser unsere unseren unserem unserer",
        "es": "usted ustedes tú tu tus vosotros nuestro nuestra nuestros nuestras",
        "it": "tu tuo tua tuoi tue voi vostro vostra vostri vostre nostro nostra nostri nostre",
        "pt": "você vocês teu tua teus tuas nosso nossa nossos nossas",
        "nl": "je jij jou jouw u uw onze ons",
        "ru": "вы вас вам ваш ваша ваше ваши ты твой наш наша наше наши",
        "id": "anda kamu kami",
    }.items()
}
# A reader-address word at the end of a run of letters and digits (`_addresses_reader` checks the start).
_READER_ADDRESS_END = {
    language: re.compile("(?:" + "|".join(map(re.escape, sorted(words))) + r")(?![^\W_])")
    for language, words in READER_ADDRESS.items()
}

# ISO 639-1 codes (as the language stage reports them) → jusText stoplist names.
_STOPLIST_TABLE = """
    af=Afrikaans ar=Arabic az=Azerbaijani be=Belarusian bg=Bulgarian bn=Bengali bs=Bosnian ca=Catalan cs=Czech
    cy=Welsh da=Danish de=German el=Greek en=English eo=Esperanto es=Spanish et=Estonian eu=Basque fa=Persian
    fi=Finnish fr=French ga=Irish gl=Galician gu=Gujarati he=Hebrew hi=Hindi hr=Croatian hu=Hungarian hy=Armenian
    id=Indonesian is=Icelandic it=Italian ka=Georgian kk=Kazakh kn=Kannada ko=Korean ku=Kurdish ky=Kyrgyz la=Latin
    lb=Luxembourgish lt=Lithuanian lv=Latvian mk=Macedonian ml=Malayalam mr=Marathi ms=Malay mt=Maltese ne=Nepali
    nl=Dutch nn=Norwegian_Nynorsk no=Norwegian_Bokmal pa=Western_Panjabi pl=Polish pt=Portuguese ro=Romanian
    ru=Russian sk=Slovak sl=Slovenian sq=Albanian sr=Serbian sv=Swedish sw=Swahili ta=Tamil te=Telugu tl=Tagalog
    tr=Turkish uk=Ukrainian ur=Urdu uz=Uzbek vi=Vietnamese
    """
_STOPLIST_NAMES = dict(pair.split("=") for pair in _STOPLIST_TABLE.split())
# Lines in another script than the document's are judged with that script's most common language.
_SCRIPT_LANGUAGE = {"latin": "en", "arabic": "ar", "cyrillic": "ru", "hebrew": "he", "greek": "el", "devanagari": "hi"}
_SCRIPT_RANGES = {
    "latin": ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F)),
    "arabic": (
        (0x620, 0x64A),
        (0x66E, 0x6D3),
        (0x6FA, 0x6FF),
        (0x750, 0x77F),
        (0x8A0, 0x8FF),
        (0xFB50, 0xFDFF),
        (0xFE70, 0xFEFF),
    ),
    "cyrillic": ((0x400, 0x4FF),),
    "hebrew": ((0x5D0, 0x5EA),),
    "greek": ((0x370, 0x3FF),),
    "devanagari": ((0x900, 0x97F),),
}
# BMP code point -> 1 + index of its script in _SCRIPT_RANGES (0: none): all lines counted in one numpy pass.
_SCRIPT_OF = np.zeros(0x10000, dtype=np.int64)
for _index, _ranges in enumerate(_SCRIPT_RANGES.values(), start=1):
    for _low, _high in _ranges:
        _SCRIPT_OF[_low : _high + 1] = _index
_SCRIPT_NAMES = ["", *_SCRIPT_RANGES]
# A dot between a word character and a letter, as in a domain (see _LINK); starts at the dot, which
# the regex engine finds fast.
_DOMAIN_DOT = re.compile(r"\.(?<=[\w-]\.)[a-z]")
# A whitespace-separated token without letter or digit, after the space before it.
_NON_WORD_TOKEN = re.compile(r"\s(?:[^\w\s]|_)+(?!\S)")
_DIGIT_RUN = re.compile(r"\d+")

# A line of fewer words is short: it says too little to judge alone.
SHORT_WORDS = 8
# A short line that ends like a sentence ("He denied it.") is judged by its neighbours, not dropped.
MIN_SENTENCE_WORDS = 4
# Paragraphs this long are prose even without final punctuation (many sites drop it).
LONG_WORDS = 25
# Stopword density, relative to the document's own prose, at which a line reads as prose.
PROSE_DENSITY_SHARE = 0.5
# Headline-like: most words capitalised (menus, teasers, section names).
TITLE_CASE_SHARE = 0.7
# Menus and byline bars: two or more separators between items of a few words ("Home | World | Sport").
MENU_ITEM_WORDS = 4
LINK_SHARE = 0.3
DIGIT_SHARE = 0.5
READER_ADDRESS_SHARE = 0.08
# Choosing the article's stretch of lines, the k-th dropped line of a run costs k times this many
# words: a caption or a teaser inside the body is crossed, a long run of chrome ends the article.
DROPPED_RUN_COST = 1
# An article whose prose the outlet has mostly published before (an update, a copy under another
# URL) is not judged by the outlet's repeats: they would take its body.
REPEATED_PROSE_LIMIT = 0.8


class Kind(Enum):
    GOOD = "good"  # prose
    NEAR_GOOD = "near_good"  # probably prose: kept unless surrounded by chrome
    SHORT = "short"  # too short to judge alone: its neighbours decide
    SITE_PROSE = "site_prose"  # prose the outlet repeats or that addresses the reader: kept only inside the body
    TITLE = "title"  # the article's title: always kept, neutral for its neighbours
    BAD = "bad"  # chrome


@dataclass(slots=True)
class Line:
    text: str
    unmarked: str  # the text without a leading list marker ("1.", "-", "•")
    folded: list[str]  # the tokens of `unmarked`, case-folded
    links: int  # tokens that are, without surrounding punctuation, URLs, e-mail addresses, handles or domains
    words: int
    ends_sentence: bool
    stoplist: str | None
    density: float
    kind: Kind = Kind.SHORT
    keep: bool = False
    weight: float = 0.0


@lru_cache(maxsize=8192)
def line_key(text: str) -> str:
    """The identity of a line across articles: case, digits, punctuation and spacing ignored.

    Cached: a line's key is needed to judge it, to learn it, and again in every article that repeats it.
    """
    # The words as the fingerprint folds them, each run of digits as one 0.
    words = _DIGIT_RUN.sub("0", folded_words(text).decode("utf-8"))
    return hashlib.blake2b(words.encode("utf-8"), digest_size=8).hexdigest() if words else ""


def _line_scripts(texts: list[str]) -> tuple[str, list[str]]:
    """The script most letters are in, among those with a default language ("" for others): of all lines, of each."""
    codes = np.frombuffer("\n".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    scripts = _SCRIPT_OF[np.minimum(codes, 0xFFFF)]  # U+FFFF is no letter: beyond the BMP counts as no script
    line_of = np.repeat(np.arange(len(texts)), [len(text) + 1 for text in texts])[: len(codes)]
    width = len(_SCRIPT_NAMES)
    counts = np.bincount(line_of * width + scripts, minlength=len(texts) * width).reshape(len(texts), width)
    counts[:, 0] = 0  # letters of no script never win; argmax then takes the first script of the largest count
    return _SCRIPT_NAMES[int(counts.sum(axis=0).argmax())], [_SCRIPT_NAMES[i] for i in counts.argmax(axis=1).tolist()]


def _word_count(text: str, tokens: int) -> int:
    """Words of a text of `tokens` whitespace-separated tokens: those with a letter or digit, counting runs
    of CJK/Thai-like characters (no spaces between words) as two characters a word."""
    if not _UNSPACED_LETTERS.search(text):
        # Preceded by a space, the first token is matched too; patterns starting with a lookbehind run slower.
        return tokens - len(_NON_WORD_TOKEN.findall(" " + text))
    count = 0
    for token in text.split():
        unspaced = len(_UNSPACED_LETTERS.findall(token))
        if unspaced:
            count += max(1, unspaced // 2)
        elif any(char.isalnum() for char in token):
            count += 1
    return count


def _ends_sentence(text: str) -> bool:
    stripped = text.rstrip(_CLOSERS + " ")
    return bool(stripped) and stripped[-1] in SENTENCE_END


def _bare(token: str) -> str:
    return token.strip(_STRIP).casefold()


@cache
def _stoplist(name: str) -> frozenset[str]:
    return frozenset(justext.get_stoplist(name))


def _stopword_density(folded: list[str], stoplist: str | None) -> float:
    if stoplist is None or not folded:
        return 0.0
    words = _stoplist(stoplist)
    return sum(1 for token in folded if token in words or token.strip(_STRIP) in words) / len(folded)


def _reader_address_share(text: str, language: str) -> float:
    pronouns = READER_ADDRESS.get(language)
    # A pronoun found below is always a whole run of letters of the line: most lines have none.
    if not pronouns or not _addresses_reader(text.casefold(), language):
        return 0.0
    tokens = [_bare(token.split("'")[0].split("’")[0]) for token in _QUOTED.sub(" ", text).split()]
    tokens = [token for token in tokens if token]
    return sum(1 for token in tokens if token in pronouns) / len(tokens) if tokens else 0.0


def _addresses_reader(folded: str, language: str) -> bool:
    """Is a reader-address word of the language a whole run of letters and digits of the case-folded text?"""
    # The regex engine skips fast to a word's first letter; a lookbehind for the run's start would
    # make it try every position.
    for match in _READER_ADDRESS_END[language].finditer(folded):
        start = match.start()
        if not start or not folded[start - 1].isalnum():
            return True
    return False


def _document_language(lines: list[str], language: str) -> str:
    if language != UNDETERMINED:
        return language
    return detect_sample(lines)[0]


def _features(texts: list[str], language: str) -> list[Line]:
    """Per-line measures; stopword lists follow the document's language, or a line's own script."""
    main_script, scripts = _line_scripts(texts)
    lines = []
    for text, script in zip(texts, scripts, strict=True):
        unmarked = _LIST_MARKER.sub("", text)
        folded_text = unmarked.casefold()
        folded = folded_text.split()  # casefold adds no spaces: folded[i] is the i-th token of unmarked
        links = sum(1 for token in folded if _LINK.match(token.strip(_STRIP))) if _may_hold_links(folded_text) else 0
        line_language = language if script == main_script else _SCRIPT_LANGUAGE.get(script, "")
        stoplist = _STOPLIST_NAMES.get(line_language)
        density = _stopword_density(folded, stoplist)
        words = _word_count(unmarked, len(folded))
        lines.append(Line(text, unmarked, folded, links, words, _ends_sentence(text), stoplist, density))
    return lines


def _may_hold_links(folded_text: str) -> bool:
    """Could a token be a link (see _LINK)? Most lines cannot, and skip the per-token match."""
    return "@" in folded_text or "#" in folded_text or "://" in folded_text or bool(_DOMAIN_DOT.search(folded_text))


def _prose_densities(lines: list[Line]) -> dict[str, float]:
    """Typical stopword density of each stoplist's prose in this document: its long sentence lines."""
    by_stoplist: dict[str, list[float]] = {}
    for line in lines:
        if line.stoplist and line.words >= SHORT_WORDS and line.ends_sentence:
            by_stoplist.setdefault(line.stoplist, []).append(line.density)
    # Below this the list does not fit the text (wrong language): density says nothing.
    return {name: median for name, values in by_stoplist.items() if (median := statistics.median(values)) >= 0.05}


def _is_republished(lines: list[Line], repeated: list[bool]) -> bool:
    prose = [(line.words, flag) for line, flag in zip(lines, repeated, strict=True) if line.ends_sentence]
    total = sum(words for words, _ in prose)
    return total > 0 and sum(words for words, flag in prose if flag) >= REPEATED_PROSE_LIMIT * total


def _is_title_case(tokens: list[str]) -> bool:
    cased = [token for token in tokens if token[:1].isalpha() and token[:1].lower() != token[:1].upper()]
    return len(cased) >= 3 and sum(token[0].isupper() for token in cased) / len(cased) >= TITLE_CASE_SHARE


def _is_chrome(line: Line) -> bool:
    """Lines that are never article text whatever surrounds them."""
    # The folded tokens serve: case folding changes no digit or separator, and punctuation around a token
    # (_STRIP) holds no digit.
    tokens, links, short = line.folded, line.links, line.words < SHORT_WORDS
    if "©" in line.text or not any(map(str.isalpha, line.text)):
        return True
    if links / len(tokens) >= LINK_SHARE or (links and short):
        return True
    if short and sum(1 for token in tokens if any(map(str.isdigit, token))) / len(tokens) >= DIGIT_SHARE:
        return True
    separators = sum(map(_SEPARATORS.__contains__, tokens[1:]))
    return separators >= 2 and line.words <= MENU_ITEM_WORDS * (separators + 1)


def _initial_kind(line: Line, prose_density: float | None, language: str, title_key: str, repeated: bool) -> Kind:
    if title_key and line_key(line.text) == title_key:
        return Kind.TITLE
    if _is_chrome(line):
        return Kind.BAD
    prose_like = prose_density is None or line.density >= PROSE_DENSITY_SHARE * prose_density
    if (line.ends_sentence and line.words >= SHORT_WORDS and prose_like) or (line.words >= LONG_WORDS and prose_like):
        kind = Kind.GOOD
    elif (line.ends_sentence or line.text.endswith(":")) and line.words >= MIN_SENTENCE_WORDS:
        kind = Kind.NEAR_GOOD  # a short sentence, or one that introduces a quote or a list
    elif line.words < SHORT_WORDS or _is_title_case(line.unmarked.split()):
        kind = Kind.SHORT
    elif prose_like or _INNER_SENTENCE_END.search(line.text):
        kind = Kind.NEAR_GOOD
    else:
        return Kind.BAD  # long, unpunctuated and without function words: tag lists, captions, teasers
    if repeated:
        return Kind.SITE_PROSE if kind is Kind.GOOD else Kind.BAD
    if kind is not Kind.SHORT and _reader_address_share(line.text, language) >= READER_ADDRESS_SHARE:
        return Kind.SITE_PROSE
    return kind


def _mark_captions(lines: list[Line | None]) -> None:
    """A photo credit's neighbours in the same block (no blank line between) are its caption or teaser."""
    for index, line in enumerate(lines):
        if line is None or "©" not in line.text:
            continue
        for neighbour in (index - 1, index + 1):
            other = lines[neighbour] if 0 <= neighbour < len(lines) else None
            if other is not None and other.kind is not Kind.TITLE and not other.ends_sentence:
                other.kind = Kind.BAD


# --- Context (jusText's revision, plus headings) ------------------------------------------------

_NEUTRAL = frozenset({Kind.SHORT, Kind.TITLE})
_UNCERTAIN = frozenset({Kind.NEAR_GOOD, Kind.SITE_PROSE})


def _neighbour(lines: list[Line], index: int, step: int, ignore_uncertain: bool) -> Kind:
    """Kind of the nearest line in one direction that is not neutral; the text's edge counts as chrome."""
    skip = _NEUTRAL | _UNCERTAIN if ignore_uncertain else _NEUTRAL
    index += step
    while 0 <= index < len(lines):
        if lines[index].kind not in skip:
            return lines[index].kind
        index += step
    return Kind.BAD


def _keep_in_context(lines: list[Line], index: int) -> bool:
    kind = lines[index].kind
    if kind in (Kind.GOOD, Kind.TITLE):
        return True
    if kind is Kind.BAD:
        return False
    before = _neighbour(lines, index, -1, ignore_uncertain=True)
    after = _neighbour(lines, index, 1, ignore_uncertain=True)
    if kind is Kind.SITE_PROSE:
        return before is after is Kind.GOOD
    if kind is Kind.NEAR_GOOD:
        return not before is after is Kind.BAD
    if before is after:
        return before is Kind.GOOD
    # Between prose and chrome: kept when probable prose lies on the chrome side.
    if before is Kind.BAD and _neighbour(lines, index, -1, ignore_uncertain=False) is Kind.NEAR_GOOD:
        return True
    return after is Kind.BAD and _neighbour(lines, index, 1, ignore_uncertain=False) is Kind.NEAR_GOOD


def _keep_headings(lines: list[Line]) -> None:
    """A short line right before kept prose is its headline or subheading."""
    for line, following in itertools.pairwise(lines):
        if line.kind in (Kind.SHORT, Kind.NEAR_GOOD) and following.keep and following.kind is Kind.GOOD:
            line.keep = True


def _article_span(lines: list[Line]) -> tuple[int, int]:
    """The best-scoring stretch of lines (kept words minus the cost of dropped lines), around the title if present.

    A stretch containing line t scores best_ending_before(t) + weight(t) + best_starting_after(t).
    """
    count = len(lines)
    run = 0
    for line in lines:
        run = 0 if line.keep else run + 1
        line.weight = line.words if line.keep else -DROPPED_RUN_COST * run
    # best sum of a stretch ending at i (reaching back from i), and starting at i (reaching forward).
    ending, ending_start = [0.0] * count, [0] * count
    for i, line in enumerate(lines):
        previous = ending[i - 1] if i and ending[i - 1] > 0 else 0.0
        ending[i] = previous + line.weight
        ending_start[i] = ending_start[i - 1] if i and ending[i - 1] > 0 else i
    starting, starting_end = [0.0] * count, [0] * count
    for i in range(count - 1, -1, -1):
        following = starting[i + 1] if i + 1 < count and starting[i + 1] > 0 else 0.0
        starting[i] = following + lines[i].weight
        starting_end[i] = starting_end[i + 1] if i + 1 < count and starting[i + 1] > 0 else i
    anchors = [i for i, line in enumerate(lines) if line.kind is Kind.TITLE] or range(count)
    best = max(anchors, key=lambda i: ending[i] + starting[i] - lines[i].weight)
    return ending_start[best], starting_end[best]


def chrome_free_lines(
    text: str, title: str = "", language: str = UNDETERMINED, is_repeated: Callable[[str], bool] = lambda key: False
) -> tuple[list[str], int]:
    """(lines of `text` without site chrome, blank lines kept; number of non-empty lines removed)."""
    raw_lines = text.split("\n")
    non_empty = [index for index, raw in enumerate(raw_lines) if raw.strip()]
    if len(non_empty) <= 1:
        return raw_lines, 0
    language = _document_language([raw_lines[i] for i in non_empty], language)
    lines = _features([raw_lines[i].strip() for i in non_empty], language)
    prose_densities = _prose_densities(lines)
    title_key = line_key(title)
    repeated = [is_repeated(line_key(line.text)) for line in lines]
    if _is_republished(lines, repeated):
        repeated = [False] * len(lines)
    for line, line_repeated in zip(lines, repeated, strict=True):
        line.kind = _initial_kind(line, prose_densities.get(line.stoplist or ""), language, title_key, line_repeated)
    by_position: list[Line | None] = [None] * len(raw_lines)
    for index, line in zip(non_empty, lines, strict=True):
        by_position[index] = line
    _mark_captions(by_position)
    for index, line in enumerate(lines):
        line.keep = _keep_in_context(lines, index)
    _keep_headings(lines)
    first, last = _article_span(lines)
    for index, line in enumerate(lines):
        line.keep = line.keep and first <= index <= last
    if not any(line.keep and line.kind is not Kind.TITLE for line in lines):
        return raw_lines, 0  # nothing of the body would be left: better all of it than none
    kept = [raw for raw, line in zip(raw_lines, by_position, strict=True) if line is None or line.keep]
    return _tidy_blank_lines(kept), sum(1 for line in lines if not line.keep)


def _tidy_blank_lines(lines: list[str]) -> list[str]:
    tidy: list[str] = []
    for line in lines:
        if line.strip() or (tidy and tidy[-1].strip()):
            tidy.append(line)
    while tidy and not tidy[-1].strip():
        tidy.pop()
    return tidy


# --- Per-outlet memory --------------------------------------------------------------------------


RECENT_IDS_PER_OUTLET = 64
SNAPSHOT_FORMAT = "newsflow-boilerplate-learner/1"
OutletEntry = dict[str, Any]  # one outlet of a snapshot: outlet, articles_seen, recent_ids, lines


@dataclass(slots=True)
class _Sighting:
    articles: int  # distinct articles of the outlet the line occurred in
    last_seen: int  # the outlet's article counter at the last one


@dataclass(slots=True)
class _OutletMemory:
    articles_seen: int = 0
    # Oldest sighting first, so the horizon and the size bound prune from the front.
    lines: OrderedDict[str, _Sighting] = field(default_factory=OrderedDict)
    # Redelivered articles (Kafka is at-least-once) must not count twice.
    recent_ids: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT_IDS_PER_OUTLET))


class BoilerplateLearner:
    """Lines each outlet repeats across its articles, in bounded memory.

    Bounds: at most `max_outlets` outlets (least recently active forgotten first), at most
    `max_lines_per_outlet` lines each (least recently seen forgotten first), and a line not
    seen in the outlet's last `horizon_articles` articles starts counting again. Lines are
    kept as 64-bit hashes of their normalised words, never as text: about 190 bytes a line
    in memory, so the default bounds (1000 outlets x 500 lines) cap it near 100 MB, and
    about 25 bytes a line in a snapshot.

    Shared by several workers (`record_changes`): what this learner counted since its last
    flush is also kept apart, as pending changes (an outlet memory counted from zero, under
    the same bounds); the worker stores them merged into the shared state (`merged_outlet`),
    `acknowledge`s them, and takes the merged state back (`restore_outlets`).
    """

    def __init__(
        self,
        min_repeats: int,
        max_outlets: int,
        max_lines_per_outlet: int,
        horizon_articles: int,
        record_changes: bool = False,
    ) -> None:
        self.min_repeats = min_repeats
        self.max_outlets = max_outlets
        self.max_lines_per_outlet = max_lines_per_outlet
        self.horizon_articles = horizon_articles
        self._outlets: OrderedDict[str, _OutletMemory] = OrderedDict()
        self._pending: OrderedDict[str, _OutletMemory] | None = OrderedDict() if record_changes else None

    @classmethod
    def from_settings(cls, settings: Settings, record_changes: bool = False) -> BoilerplateLearner:
        return cls(
            min_repeats=settings.boilerplate_min_outlet_repeats,
            max_outlets=settings.boilerplate_max_outlets,
            max_lines_per_outlet=settings.boilerplate_max_lines_per_outlet,
            horizon_articles=settings.boilerplate_outlet_horizon_articles,
            record_changes=record_changes,
        )

    def is_repeated(self, outlet: str, key: str) -> bool:
        """True when the line occurred in at least `min_repeats` earlier articles of the outlet, within the horizon."""
        memory = self._outlets.get(outlet)
        sighting = memory.lines.get(key) if memory else None
        return (
            sighting is not None
            and sighting.articles >= self.min_repeats
            and memory.articles_seen - sighting.last_seen < self.horizon_articles
        )

    def observe(self, outlet: str, article_id: str, keys: Iterable[str]) -> None:
        """Count one article's lines for its outlet (an article id seen recently is not counted again)."""
        memory = self._active(self._outlets, outlet)
        if article_id in memory.recent_ids:
            return
        # Distinct lines in the article's order (not a set's): which lines are forgotten first must not
        # depend on the process's hash seed.
        distinct = list(dict.fromkeys(key for key in keys if key))
        self._count(memory, article_id, distinct)
        if self._pending is not None:
            self._count(self._active(self._pending, outlet), article_id, distinct)

    def _active(self, outlets: OrderedDict[str, _OutletMemory], outlet: str) -> _OutletMemory:
        """The outlet's memory, made the most recently active; the least recently active beyond the bound go."""
        memory = outlets.pop(outlet, None) or _OutletMemory()
        outlets[outlet] = memory
        while len(outlets) > self.max_outlets:
            outlets.popitem(last=False)
        return memory

    def _count(self, memory: _OutletMemory, article_id: str, keys: list[str]) -> None:
        memory.recent_ids.append(article_id)
        memory.articles_seen += 1
        now = memory.articles_seen
        for key in keys:
            sighting = memory.lines.pop(key, None)
            if sighting is None or now - sighting.last_seen >= self.horizon_articles:
                sighting = _Sighting(0, now)
            sighting.articles += 1
            sighting.last_seen = now
            memory.lines[key] = sighting
        self._forget_old_lines(memory)

    def _forget_old_lines(self, memory: _OutletMemory) -> None:
        while memory.lines:
            oldest = next(iter(memory.lines.values()))
            too_many = len(memory.lines) > self.max_lines_per_outlet
            if not too_many and memory.articles_seen - oldest.last_seen < self.horizon_articles:
                return
            memory.lines.popitem(last=False)

    def to_snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of the memory, least recently active outlets and lines first."""
        return {
            "format": SNAPSHOT_FORMAT,
            "outlets": [_entry(outlet, memory) for outlet, memory in self._outlets.items()],
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Replace the memory with a snapshot's, cut to this learner's bounds."""
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not a boilerplate learner snapshot: format {snapshot.get('format')!r}")
        self._outlets.clear()
        self.restore_outlets(snapshot["outlets"])

    # --- Shared by several workers --------------------------------------------------------------

    def pending_changes(self) -> list[OutletEntry]:
        """What was counted since the changes last acknowledged, per outlet (line counters from 1)."""
        return [_entry(outlet, memory) for outlet, memory in (self._pending or {}).items()]

    def merged_outlet(self, stored: OutletEntry | None, changes: OutletEntry) -> OutletEntry:
        """An outlet's stored memory with pending changes counted after it, cut to the bounds.

        Another worker's articles interleave with this one's in time; in the merged counter they
        follow the stored ones. A stored line whose sighting had left the horizon before the
        changes' first article starts counting again, as `observe` does."""
        memory = self._memory(stored) if stored else _OutletMemory()
        base = memory.articles_seen
        memory.articles_seen += changes["articles_seen"]
        memory.recent_ids.extend(i for i in changes["recent_ids"] if i not in memory.recent_ids)
        for key, articles, last_seen in changes["lines"]:  # least recently seen first, so the order stays
            sighting = memory.lines.pop(key, None)
            if sighting is None or base + 1 - sighting.last_seen >= self.horizon_articles:
                sighting = _Sighting(0, 0)
            memory.lines[key] = _Sighting(sighting.articles + articles, base + last_seen)
        self._forget_old_lines(memory)
        return _entry(changes["outlet"], memory)

    def acknowledge(self, stored: list[OutletEntry]) -> None:
        """Drop pending changes now in the shared state (entries of `pending_changes`); what was
        counted since stays pending, its counters moved back by what was stored."""
        if self._pending is None:
            return
        for entry in stored:
            memory = self._pending.get(entry["outlet"])
            if memory is None:
                continue
            memory.articles_seen -= entry["articles_seen"]
            if memory.articles_seen <= 0:
                del self._pending[entry["outlet"]]
                continue
            stored_ids = set(entry["recent_ids"])
            later_ids = [i for i in memory.recent_ids if i not in stored_ids]
            memory.recent_ids.clear()
            memory.recent_ids.extend(later_ids)
            stored_articles = {key: articles for key, articles, _ in entry["lines"]}
            for key, sighting in list(memory.lines.items()):
                sighting.articles -= stored_articles.get(key, 0)
                sighting.last_seen -= entry["articles_seen"]
                if sighting.articles <= 0 or sighting.last_seen <= 0:
                    del memory.lines[key]

    def restore_outlets(self, stored: list[OutletEntry]) -> None:
        """Take these outlets' memories from the shared state (least recently active first), with this
        learner's pending changes counted after them; other outlets keep their memory."""
        for entry in stored:
            pending = (self._pending or {}).get(entry["outlet"])
            merged = self.merged_outlet(entry, _entry(entry["outlet"], pending)) if pending else entry
            self._active(self._outlets, entry["outlet"])
            self._outlets[entry["outlet"]] = self._memory(merged)

    def _memory(self, entry: OutletEntry) -> _OutletMemory:
        memory = _OutletMemory(articles_seen=entry["articles_seen"])
        memory.recent_ids.extend(entry["recent_ids"])
        for key, articles, last_seen in entry["lines"]:
            memory.lines[key] = _Sighting(articles, last_seen)
        self._forget_old_lines(memory)
        return memory


def _entry(outlet: str, memory: _OutletMemory) -> OutletEntry:
    return {
        "outlet": outlet,
        "articles_seen": memory.articles_seen,
        "recent_ids": list(memory.recent_ids),
        "lines": [[key, sighting.articles, sighting.last_seen] for key, sighting in memory.lines.items()],
    }


# --- The stage ----------------------------------------------------------------------------------


class BoilerplateRemover:
    """Removes site chrome from plain-text articles and learns each outlet's repeated lines as it goes."""

    def __init__(self, settings: Settings, learner: BoilerplateLearner | None = None) -> None:
        self.enabled = settings.boilerplate_enabled
        self.learner = learner or BoilerplateLearner.from_settings(settings)

    def clean(self, article: Article) -> Article:
        """Set `article.text` to its lines without chrome and `article.boilerplate_lines_removed`."""
        if not self.enabled or article.content_type == "text/html":
            return article
        lines, removed = chrome_free_lines(
            article.text,
            title=article.title,
            language=article.language,
            is_repeated=lambda key: self.learner.is_repeated(article.outlet, key),
        )
        self.learner.observe(article.outlet, article.id, (line_key(line) for line in article.text.split("\n")))
        article.text = "\n".join(lines)
        article.boilerplate_lines_removed = removed
        return article
