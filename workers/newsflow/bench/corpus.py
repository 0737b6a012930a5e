"""A deterministic corpus of realistic raw articles for the benchmark, as many as asked for.

Article `i` depends only on `i`: its paragraphs recombine the sentences of
`samples/articles.jsonl` (written for newsflow) in its language, with numbers
re-drawn, and interleave generated entity-rich sentences. About 3 KB of body
each, 60 % English and 40 % Arabic, half of the plain-text ones wrapped in
their outlet's chrome (menus, newsletter prompts, copyright lines), 5 % HTML
pages, and 10 % near duplicates (an earlier article reworded, cut or extended,
republished by another outlet).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from html import escape
from typing import Any

import orjson

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

_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")
_NUMBER = re.compile(r"\d+")
_ARABIC_LETTER = re.compile("[\u0600-\u06ff]")


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


def _redraw_numbers(sentence: str, rng: random.Random) -> str:
    """Same sentence with other numbers of the same length, so recombined texts differ."""
    return _NUMBER.sub(lambda match: str(rng.randrange(10 ** (len(match[0]) - 1), 10 ** len(match[0]))), sentence)


def _entity_sentence(language: str, rng: random.Random) -> str:
    column = 0 if language == "en" else 1
    people, organisations, places = (rng.sample(names()[kind], 2) for kind in ("PER", "ORG", "LOC"))
    return rng.choice(ENTITY_TEMPLATES[language]).format(
        per=people[0][column],
        per2=people[1][column],
        org=organisations[0][column],
        org2=organisations[1][column],
        loc=places[0][column],
        loc2=places[1][column],
        day=rng.choice(WEEKDAYS)[column],
        n=rng.randrange(2, 400),
    )


def _paragraphs(language: str, rng: random.Random, target_bytes: int) -> list[str]:
    pool = sample_sentences()[language]
    paragraphs: list[str] = []
    size = 0
    while size < target_bytes:
        sentences = [
            _entity_sentence(language, rng)
            if rng.random() < ENTITY_SENTENCE_SHARE
            else _redraw_numbers(rng.choice(pool), rng)
            for _ in range(rng.randint(1, 3))
        ]
        paragraphs.append(" ".join(sentences))
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
        edited.append(_entity_sentence(language, rng))
    prefix = "UPDATE: " if language == "en" else "محدث: "
    return {**original, "title": prefix + original["title"], "paragraphs": edited}


def _draft(index: int) -> dict[str, Any]:
    """Language, outlet-independent title and paragraphs of article `index` (near duplicates resolved)."""
    rng = random.Random(SEED * 1_000_003 + index)
    if index > 0 and rng.random() < NEAR_DUPLICATE_SHARE:
        original = _draft(index - 1 - rng.randrange(min(index, NEAR_DUPLICATE_WINDOW)))
        return {**_near_duplicate(original, rng, original["language"]), "rng": rng, "near_duplicate": True}
    language = "en" if rng.random() < ENGLISH_SHARE else "ar"
    paragraphs = _paragraphs(language, rng, rng.randint(*BODY_BYTES))
    title = _SENTENCE_END.split(paragraphs[0])[0].rstrip(".")[:140]
    return {"language": language, "title": title, "paragraphs": paragraphs, "rng": rng, "near_duplicate": False}


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
