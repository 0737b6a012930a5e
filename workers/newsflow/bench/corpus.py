"""A deterministic corpus of realistic raw articles for the benchmark, as many as asked for.

Article `i` depends only on `i`. It reports a story: most articles follow one
of the day's running stories (their sizes fall off as in a real day's news: a
few large, many small), the rest a one-off event. A story has its people,
organisations, places, numbers, words and a few statements every report of it
may quote; an article's sentences name the story's entities in generated
entity-rich sentences, quote its statements, and fill the rest with the
sentences of `samples/articles.jsonl` (written for newsflow) in its language,
numbers re-drawn and words re-drawn from the language's word frequencies and
the story's words. So reports of one story share names, numbers, words and
quotes, while unrelated articles share few word sequences (as real ones: of
690 real articles in the same-story pairs, 9 share a near-duplicate band with
an unrelated one). About 3 KB of body each, 60 % English and 40 % Arabic, half
of the plain-text ones wrapped in their outlet's chrome (menus, newsletter
prompts, copyright lines), 5 % HTML pages, and 10 % near duplicates (an earlier
article reworded, cut or extended, republished by another outlet).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from html import escape
from typing import Any

import orjson
from wordfreq import top_n_list

from newsflow import paths
from newsflow.entities.aliases import load_entities
from newsflow.models import SourceMessage
from newsflow.urls import article_id

SEED = 20260301
ENGLISH_SHARE = 0.6
NEAR_DUPLICATE_SHARE = 0.10
HTML_SHARE = 0.05
CHROME_SHARE = 0.5
ENTITY_SENTENCE_SHARE = 0.35
# Body size in UTF-8 bytes (Arabic letters take two), drawn uniformly around 3 KB.
BODY_BYTES = (2000, 3200)
# A near duplicate repeats one of this many articles before it (a wire story picked up within hours).
NEAR_DUPLICATE_WINDOW = 500
FIRST_PUBLISHED = datetime(2026, 3, 1, tzinfo=UTC)
PUBLISHED_STEP = timedelta(seconds=37)
# Stories: this share of articles follows one of the running stories of its day (about 20 hours of
# articles), chosen with weights 1/rank; the others report an event no other article reports.
RUNNING_SHARE = 0.7
DAY_ARTICLES = 2000
RUNNING_STORIES_PER_DAY = 60
RUNNING_STORY_WEIGHTS = [1 / rank for rank in range(1, RUNNING_STORIES_PER_DAY + 1)]
STORY_STATEMENTS = 3
STORY_WORDS = 8
# Of an article's sentences after its lead: quoted statements of its story, generated sentences naming the
# story's entities (ENTITY_SENTENCE_SHARE), and sample sentences with some words re-drawn.
STATEMENT_SHARE = 0.12
REDRAWN_WORD_SHARE = 0.4
STORY_WORD_SHARE = 0.25
STORY_NUMBER_SHARE = 0.7
# Re-drawn words come from the language's most frequent words, ranks drawn log-uniformly (as often as
# they occur in text, roughly: Zipf's law).
WORD_RANKS = (20, 30_000)

_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")
_NUMBER = re.compile(r"\d+")
_ARABIC_LETTER = re.compile("[\u0600-\u06ff]")
_ARABIC_WORD = re.compile("[\u0600-\u06ff]+")


@dataclass(frozen=True)
class Outlet:
    name: str
    domain: str
    country: str


OUTLETS = {
    "en": [
        Outlet("Gulf Daily Monitor", "gulfdailymonitor.example", "AE"),
        Outlet("Northbridge Press Agency", "northbridgepress.example", "GB"),
        Outlet("Nile Herald", "nileherald.example", "EG"),
        Outlet("Levant Wire", "levantwire.example", "LB"),
        Outlet("Eurasia Brief", "eurasiabrief.example", "KZ"),
        Outlet("Maghreb Courier", "maghrebcourier.example", "MA"),
        Outlet("Red Sea Observer", "redseaobserver.example", "SA"),
        Outlet("Caspian Times", "caspiantimes.example", "AZ"),
        Outlet("Sahel Dispatch", "saheldispatch.example", "NE"),
        Outlet("Horn Ledger", "hornledger.example", "KE"),
        Outlet("Atlas Review", "atlasreview.example", "TN"),
        Outlet("Tigris Post", "tigrispost.example", "IQ"),
    ],
    "ar": [
        Outlet("وادي الأخبار", "wadialakhbar.example", "JO"),
        Outlet("Sada Al-Rafidain", "sadaalrafidain.example", "IQ"),
        Outlet("Al-Mirsad Al-Arabi", "almirsad.example", "EG"),
        Outlet("الشرق اليوم", "alsharqalyawm.example", "SA"),
        Outlet("نبض الخليج", "nabdalkhaleej.example", "KW"),
        Outlet("صوت المغرب", "sawtalmaghreb.example", "MA"),
        Outlet("البوابة الإخبارية", "albawaba-news.example", "LB"),
        Outlet("أخبار الساحل", "akhbaralsahel.example", "SD"),
    ],
}

# Names the alias table does not know: only the statistical model can find them.
INVENTED_PEOPLE = [
    ("Hamid Qasemi", "حميد قاسمي"),
    ("Layla Haddad", "ليلى حداد"),
    ("Omar Nasser", "عمر ناصر"),
    ("Karim Benali", "كريم بن علي"),
    ("Fatima Zahra Idrissi", "فاطمة الزهراء الإدريسي"),
    ("Yusuf Demir", "يوسف دمير"),
    ("Mariam al-Khatib", "مريم الخطيب"),
    ("Tariq Mansour", "طارق منصور"),
]
INVENTED_ORGANISATIONS = [
    ("Northgate Shipping", "شركة نورثغيت للشحن"),
    ("the Tigris Water Authority", "هيئة مياه دجلة"),
]


@cache
def names() -> dict[str, list[tuple[str, str]]]:
    """(English, Arabic) names by entity type: the alias table's entities, plus the invented ones."""
    by_type = {"PER": list(INVENTED_PEOPLE), "ORG": list(INVENTED_ORGANISATIONS), "LOC": []}
    for entity in sorted(load_entities().values(), key=lambda entity: entity.id):
        if entity.type in by_type and "ar" in entity.labels:
            by_type[entity.type].append((entity.labels["en"], entity.labels["ar"]))
    return by_type


WEEKDAYS = [
    ("Monday", "الإثنين"),
    ("Tuesday", "الثلاثاء"),
    ("Wednesday", "الأربعاء"),
    ("Thursday", "الخميس"),
    ("Sunday", "الأحد"),
]
ENTITY_TEMPLATES = {
    "en": [
        "{per} met {per2} in {loc} on {day} to discuss cooperation with {org} and the situation in {loc2}.",
        "According to {org}, {per} will travel to {loc} and {loc2} next week for talks on {n} detained aid workers.",
        "{per}, speaking for {org}, told reporters in {loc} that talks with {org2} would resume within {n} days.",
        "Officials from {org} and {org2} said the agreement signed in {loc} on {day} covers {n} projects.",
        "{per} said {org} had been informed of the attack near {loc}, in which {n} people were wounded.",
        "In {loc}, {per} and {per2} called on {org} to send observers to {loc2} before the vote.",
    ],
    "ar": [
        "التقى {per} مع {per2} في {loc} يوم {day} لبحث التعاون مع {org} والأوضاع في {loc2}.",
        "وبحسب {org} فإن {per} سيزور {loc} و{loc2} الأسبوع المقبل لبحث ملف {n} من عمال الإغاثة المحتجزين.",
        "وقال {per} المتحدث باسم {org} للصحفيين في {loc} إن المحادثات مع {org2} ستستأنف خلال {n} يوماً.",
        "وأعلن مسؤولون في {org} و{org2} أن الاتفاق الموقع في {loc} يوم {day} يشمل {n} مشروعاً.",
        "وأكد {per} أن {org} أُبلغ بتفاصيل الهجوم قرب {loc} الذي أسفر عن إصابة {n} أشخاص.",
        "ودعا {per} و{per2} من {loc} {org} إلى إرسال مراقبين إلى {loc2} قبل الانتخابات.",
    ],
}
CHROME = {
    "en": (
        ["Home | World | Business | Sport | Opinion | Video", "Subscribe to our newsletter for the day's top stories"],
        ["Share this article: Facebook | X | WhatsApp | Email", "© 2026 {outlet}. All rights reserved."],
    ),
    "ar": (
        ["الرئيسية | العالم | اقتصاد | رياضة | رأي | فيديو", "اشترك في نشرتنا البريدية لتصلك أهم الأخبار يومياً"],
        ["شارك المقال: فيسبوك | إكس | واتساب", "© 2026 {outlet}. جميع الحقوق محفوظة."],
    ),
}
SECTIONS = ["world", "politics", "security", "economy", "region", "science", "sport"]


@cache
def sample_sentences() -> dict[str, list[str]]:
    """Sentences of the plain-text sample articles, by language (English or Arabic)."""
    sentences: dict[str, list[str]] = {"en": [], "ar": []}
    for line in (paths.samples_dir() / "articles.jsonl").read_bytes().splitlines():
        article = orjson.loads(line)
        if article.get("content_type") == "text/html":
            continue
        body = article["body"]
        language = "ar" if len(_ARABIC_LETTER.findall(body)) > len(body) / 3 else "en"
        if language == "en" and any(char in body for char in "éñßü"):
            continue  # the French, Spanish and German samples
        sentences[language].extend(s for s in _SENTENCE_END.split(body) if s.strip())
    return sentences


@cache
def frequent_words(language: str) -> list[str]:
    """The language's words by frequency, most frequent first (wordfreq's lists), letters only."""
    if language == "ar":
        return [word for word in top_n_list("ar", WORD_RANKS[1]) if _ARABIC_WORD.fullmatch(word)]
    return [word for word in top_n_list("en", WORD_RANKS[1]) if word.isascii() and word.isalpha()]


def _frequent_word(language: str, rng: random.Random, low: int = WORD_RANKS[0]) -> str:
    words = frequent_words(language)
    rank = int(math.exp(rng.uniform(math.log(low), math.log(len(words)))))
    return words[min(rank, len(words) - 1)]


@dataclass(frozen=True)
class StoryPlan:
    """What every report of one story draws on, in both languages."""

    people: list[tuple[str, str]]
    organisations: list[tuple[str, str]]
    places: list[tuple[str, str]]
    numbers: list[int]
    words: dict[str, list[str]]
    statements: dict[str, list[str]]


def story_of(index: int) -> tuple[int, int]:
    """The story article `index` reports: (day, rank) for a running story, (-1, index) for a one-off event.
    A near duplicate reports its original's story."""
    return _draft(index)["story"]


def _story_drawn(index: int) -> tuple[int, int]:
    rng = random.Random(SEED * 1_000_033 + index)
    if rng.random() >= RUNNING_SHARE:
        return (-1, index)
    return (index // DAY_ARTICLES, rng.choices(range(RUNNING_STORIES_PER_DAY), RUNNING_STORY_WEIGHTS)[0])


@lru_cache(maxsize=4096)
def _story(key: tuple[int, int]) -> StoryPlan:
    rng = random.Random(SEED * 7_919 + key[0] * 1_000_003 + key[1])
    people, organisations, places = (
        rng.sample(names()[kind], count) for kind, count in (("PER", 3), ("ORG", 2), ("LOC", 3))
    )
    story = StoryPlan(
        people=people,
        organisations=organisations,
        places=places,
        numbers=[rng.randrange(2, 400) for _ in range(3)],
        words={
            language: [_frequent_word(language, rng, low=1000) for _ in range(STORY_WORDS)] for language in ("en", "ar")
        },
        statements={"en": [], "ar": []},
    )
    for language in ("en", "ar"):
        story.statements[language].extend(_entity_sentence(language, story, rng) for _ in range(STORY_STATEMENTS))
    return story


def _entity_sentence(language: str, story: StoryPlan, rng: random.Random) -> str:
    column = 0 if language == "en" else 1
    people, organisations, places = (rng.sample(part, 2) for part in (story.people, story.organisations, story.places))
    number = rng.choice(story.numbers) if rng.random() < STORY_NUMBER_SHARE else rng.randrange(2, 400)
    template = _redrawn_words(rng.choice(ENTITY_TEMPLATES[language]), language, story, rng)
    return template.format(
        per=people[0][column],
        per2=people[1][column],
        org=organisations[0][column],
        org2=organisations[1][column],
        loc=places[0][column],
        loc2=places[1][column],
        day=rng.choice(WEEKDAYS)[column],
        n=number,
    )


def _redrawn_words(text: str, language: str, story: StoryPlan, rng: random.Random) -> str:
    """Some words of `text` re-drawn, from the story's words or the language's: lower-case English words (names
    and sentence starts stay) or Arabic words (template slots stay)."""
    words = text.split(" ")
    for position, word in enumerate(words):
        redrawable = _ARABIC_WORD.fullmatch(word) if language == "ar" else word.isalpha() and word.islower()
        if redrawable and rng.random() < REDRAWN_WORD_SHARE:
            words[position] = (
                rng.choice(story.words[language]) if rng.random() < STORY_WORD_SHARE else _frequent_word(language, rng)
            )
    return " ".join(words)


def _sentence(language: str, story: StoryPlan, rng: random.Random) -> str:
    draw = rng.random()
    if draw < STATEMENT_SHARE:
        return rng.choice(story.statements[language])
    if draw < STATEMENT_SHARE + ENTITY_SENTENCE_SHARE:
        return _entity_sentence(language, story, rng)
    sentence = rng.choice(sample_sentences()[language])
    return _redrawn_words(_redrawn_numbers(sentence, rng), language, story, rng)


def _redrawn_numbers(sentence: str, rng: random.Random) -> str:
    """Same sentence with other numbers of the same length, so reports drawing on one sample differ."""
    return _NUMBER.sub(lambda match: str(rng.randrange(10 ** (len(match[0]) - 1), 10 ** len(match[0]))), sentence)


def _paragraphs(language: str, story: StoryPlan, rng: random.Random, target_bytes: int) -> list[str]:
    """The lead (a sentence naming the story's entities), then paragraphs of one to three sentences."""
    paragraphs = [_entity_sentence(language, story, rng)]
    size = len(paragraphs[0].encode("utf-8"))
    while size < target_bytes:
        paragraphs.append(" ".join(_sentence(language, story, rng) for _ in range(rng.randint(1, 3))))
        size += len(paragraphs[-1].encode("utf-8")) + 2
    return paragraphs


def _near_duplicate(original: dict[str, Any], rng: random.Random, language: str) -> dict[str, Any]:
    """The original reworded in one sentence, and cut or extended by a paragraph, under another outlet."""
    paragraphs = original["paragraphs"]
    edited = list(paragraphs)
    index = rng.randrange(len(edited))
    words = edited[index].split()
    words[rng.randrange(len(words))] = "reportedly" if language == "en" else "حسبما أفادت التقارير"
    edited[index] = " ".join(words)
    if rng.random() < 0.5 and len(edited) > 3:
        edited.pop()
    else:
        edited.append(_entity_sentence(language, _story(original["story"]), rng))
    prefix = "UPDATE: " if language == "en" else "محدث: "
    return {**original, "title": prefix + original["title"], "paragraphs": edited}


def _draft(index: int) -> dict[str, Any]:
    """Language, story, outlet-independent title and paragraphs of article `index` (near duplicates resolved)."""
    rng = random.Random(SEED * 1_000_003 + index)
    if index > 0 and rng.random() < NEAR_DUPLICATE_SHARE:
        original = _draft(index - 1 - rng.randrange(min(index, NEAR_DUPLICATE_WINDOW)))
        return {**_near_duplicate(original, rng, original["language"]), "rng": rng, "near_duplicate": True}
    language = "en" if rng.random() < ENGLISH_SHARE else "ar"
    story = _story_drawn(index)
    paragraphs = _paragraphs(language, _story(story), rng, rng.randint(*BODY_BYTES))
    title = paragraphs[0].rstrip(".")[:140]
    return {
        "language": language,
        "story": story,
        "title": title,
        "paragraphs": paragraphs,
        "rng": rng,
        "near_duplicate": False,
    }


def _html_page(title: str, paragraphs: list[str], outlet: Outlet, language: str) -> str:
    header, footer = CHROME[language]
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="{language}"><head><title>{escape(title)} - {escape(outlet.name)}</title></head>'
        f"<body><nav>{escape(header[0])}</nav><aside>{escape(header[1])}</aside>"
        f"<article><h1>{escape(title)}</h1>{body}</article>"
        f"<footer>{escape(footer[0])} {escape(footer[1].format(outlet=outlet.name))}</footer></body></html>"
    )


def article(index: int) -> dict[str, Any]:
    """Raw article `index` as a producer would publish it (schemas/article.v1.json)."""
    draft = _draft(index)
    rng: random.Random = draft["rng"]
    language = draft["language"]
    outlet = rng.choice(OUTLETS[language])
    section = rng.choice(SECTIONS)
    paragraphs = draft["paragraphs"]
    if rng.random() < HTML_SHARE:
        body, content_type = _html_page(draft["title"], paragraphs, outlet, language), "text/html"
    else:
        content_type = "text/plain"
        if rng.random() < CHROME_SHARE:
            header, footer = CHROME[language]
            paragraphs = [*header, draft["title"], *paragraphs, *(line.format(outlet=outlet.name) for line in footer)]
        body = "\n\n".join(paragraphs)
    return {
        "schema_version": 1,
        "url": f"https://www.{outlet.domain}/{section}/2026/{index:09d}",
        "outlet": outlet.name,
        "outlet_country": outlet.country,
        "title": draft["title"],
        "body": body,
        "content_type": content_type,
        "published_at": (FIRST_PUBLISHED + index * PUBLISHED_STEP).isoformat(),
        "tags": [section],
    }


def is_near_duplicate(index: int) -> bool:
    return _draft(index)["near_duplicate"]


def messages(count: int, start: int = 0, topic: str = "bench.articles.raw") -> Iterator[SourceMessage]:
    """Articles `start`..`start+count-1` as Kafka records (key = article id, as the producer sets it)."""
    for index in range(start, start + count):
        document = article(index)
        yield SourceMessage(
            value=orjson.dumps(document),
            key=article_id(document["url"]).encode("ascii"),
            topic=topic,
            partition=0,
            offset=index,
        )
