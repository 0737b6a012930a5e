"""Synthetic timestamped streams of enriched articles with injected bursts (`newsflow alerts evaluate`).

* Background: each term has a mean rate (mentions per window, log-uniform over `rates`) split between
  English and Arabic, times a daily cycle per language (English peaks at 14:00 UTC, Arabic at 10:00);
  counts are Poisson. Articles carry about `terms_per_article` terms each and come from the outlets
  of their language, some much bigger than others; a share of them is copied by another outlet
  (syndicated copies, which add an outlet but not an article).
* Bursts: a term's expected count times `size` for `windows` windows, the extra articles spread over
  3 to 6 outlets of the term's main language (a story spreading), with a story id. Decoys: the same
  from one outlet only (a live blog), which must not alert.
* Keyword terms are written into the text (Arabic ones sometimes with attached و/ال/ل prefixes)
  rather than listed in `entity_ids`, so the replay exercises the watch-list matcher.

Everything depends only on the spec (its seed): the same spec gives the same stream.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from newsflow.alerts.terms import KEYWORD_PREFIX

DAY_S = 86_400.0
LANGUAGES = ("en", "ar")
PEAK_HOUR_UTC = {"en": 14.0, "ar": 10.0}
OUTLET_WEIGHTS = {"en": (0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.05), "ar": (0.3, 0.25, 0.2, 0.15, 0.1)}
FILLER = {
    "en": [
        "the",
        "government",
        "said",
        "on",
        "officials",
        "report",
        "new",
        "talks",
        "after",
        "week",
        "city",
        "people",
        "minister",
        "told",
        "meeting",
        "security",
        "forces",
        "region",
        "support",
        "plan",
        "statement",
        "according",
        "group",
        "local",
    ],
    "ar": [
        "قال",
        "الحكومة",
        "في",
        "من",
        "على",
        "بعد",
        "اليوم",
        "وزير",
        "المدينة",
        "مسؤولون",
        "الأمن",
        "اجتماع",
        "خطة",
        "بيان",
        "المنطقة",
        "دعم",
        "الناس",
        "الأسبوع",
        "محادثات",
        "تقرير",
    ],
}
ARABIC_PREFIXES = ("", "", "وال", "بال", "لل")
# Bursts of a term are at least this far apart, and none starts in the first hours (baselines settle).
BURST_SPACING_WINDOWS = 48
FIRST_BURST_WINDOW = 48
MAX_PLACEMENT_TRIES = 10_000


@dataclass(frozen=True, slots=True)
class StreamSpec:
    days: float = 30.0
    window_s: float = 300.0
    terms: int = 1000
    keyword_terms: int = 50  # of `terms`, matched in the text through the watch list
    rates: tuple[float, float] = (0.5, 20.0)  # mean mentions per window, daily average
    terms_per_article: float = 8.0
    daily_amplitude: float = 0.6  # rate at the daily peak is 1 + this times the mean, at the trough 1 - this
    bursts_per_day: float = 20.0
    burst_sizes: tuple[float, ...] = (2.0, 3.0, 5.0)
    burst_windows: tuple[int, ...] = (1, 2, 4)
    decoys_per_day: float = 2.0
    syndicated_share: float = 0.05
    seed: int = 20260105
    start: float = datetime(2026, 1, 5, tzinfo=UTC).timestamp()

    @property
    def windows(self) -> int:
        return int(self.days * DAY_S / self.window_s)


@dataclass(frozen=True, slots=True)
class Burst:
    term: str
    start: float  # start of its first window
    windows: int
    size: float  # expected count during the burst, in multiples of the term's expected count
    baseline: float  # the term's expected count per window when the burst starts
    outlets: int
    decoy: bool  # one outlet only: must not alert


class SyntheticStream:
    def __init__(self, spec: StreamSpec) -> None:
        self.spec = spec
        self._rng = np.random.default_rng(spec.seed)
        rng = self._rng
        self.rates = np.exp(rng.uniform(math.log(spec.rates[0]), math.log(spec.rates[1]), spec.terms))
        # Share of each term's mentions in English: a third mostly English, a third mostly Arabic, a third mixed.
        self.english_share = rng.choice([0.9, 0.1, 0.5], spec.terms)
        kinds = ("org", "per", "loc")
        self.terms = [
            f"{KEYWORD_PREFIX}kw{index:04d}" if index < spec.keyword_terms else f"{kinds[index % 3]}:syn-{index:04d}"
            for index in range(spec.terms)
        ]
        self.phrases = {index: _pseudo_words(rng) for index in range(spec.keyword_terms)}
        self.outlets = {
            language: [f"{language}-outlet-{rank + 1}" for rank in range(len(weights))]
            for language, weights in OUTLET_WEIGHTS.items()
        }
        self.bursts = self._schedule_bursts()
        self._article_number = 0

    def watch_list(self) -> dict:
        """The watch list (deploy/watchlist.example.yaml format) that names the keyword terms."""
        return {
            "keywords": [
                {"id": self.terms[index].removeprefix(KEYWORD_PREFIX), "phrases": list(phrases)}
                for index, phrases in self.phrases.items()
            ]
        }

    def expected(self, term: int, at: float) -> float:
        """A term's expected count in the window starting at `at`, without bursts."""
        seasonal = self._seasonal(at + self.spec.window_s / 2)
        share = self.english_share[term]
        return float(self.rates[term] * (share * seasonal["en"] + (1 - share) * seasonal["ar"]))

    def language_expected(self, at: float) -> np.ndarray:
        """Every term's expected count in the window starting at `at`, without bursts: one row per language
        (`LANGUAGES`), the means its background counts are drawn from."""
        seasonal = self._seasonal(at + self.spec.window_s / 2)
        return np.stack([self.rates * self._share(language) * seasonal[language] for language in LANGUAGES])

    def burst_outlets(self, number: int, burst: Burst, term: int) -> list[str]:
        """The outlets of burst `number` (its index in `bursts`) of term `term`: drawn once per burst, from
        its own seed, among the outlets of the term's main language."""
        language = self.main_language(term)
        chosen = np.random.default_rng([self.spec.seed, number]).permutation(len(self.outlets[language]))
        return [self.outlets[language][index] for index in chosen[: burst.outlets]]

    def main_language(self, term: int) -> str:
        return "en" if self.english_share[term] >= 0.5 else "ar"

    def articles(self) -> Iterator[dict]:
        """The whole stream, in time order."""
        spec = self.spec
        active: dict[int, list[tuple[int, Burst]]] = {}
        for number, burst in enumerate(self.bursts):
            first = round((burst.start - spec.start) / spec.window_s)
            for offset in range(burst.windows):
                active.setdefault(first + offset, []).append((number, burst))
        term_index = {term: index for index, term in enumerate(self.terms)}
        for window in range(spec.windows):
            start = spec.start + window * spec.window_s
            documents = self._background(start)
            for number, burst in active.get(window, []):
                documents += self._burst_articles(start, number, burst, term_index[burst.term])
            documents.sort(key=lambda document: document["published_at"])
            yield from documents

    def _seasonal(self, at: float) -> dict[str, float]:
        hour = (at % DAY_S) / 3600
        return {
            language: 1 + self.spec.daily_amplitude * math.cos(2 * math.pi * (hour - PEAK_HOUR_UTC[language]) / 24)
            for language in LANGUAGES
        }

    def _share(self, language: str) -> np.ndarray:
        return self.english_share if language == "en" else 1 - self.english_share

    def _schedule_bursts(self) -> list[Burst]:
        spec, rng = self.spec, self._rng
        shapes = [(size, windows) for size in spec.burst_sizes for windows in spec.burst_windows]
        planned = [(False, *shapes[n % len(shapes)]) for n in range(round(spec.bursts_per_day * spec.days))]
        planned += [(True, 5.0, 2)] * round(spec.decoys_per_day * spec.days)
        if planned and spec.windows <= FIRST_BURST_WINDOW + max(spec.burst_windows):
            raise ValueError(f"a stream with bursts needs more than {FIRST_BURST_WINDOW} windows")
        taken: dict[int, list[int]] = {}
        bursts = []
        for decoy, size, windows in planned:
            for _ in range(MAX_PLACEMENT_TRIES):
                term = int(rng.integers(spec.terms))
                first = int(rng.integers(FIRST_BURST_WINDOW, spec.windows - windows))
                if all(abs(first - other) >= BURST_SPACING_WINDOWS for other in taken.get(term, [])):
                    break
            else:
                raise ValueError("too many bursts for the terms and days of the stream")
            taken.setdefault(term, []).append(first)
            start = spec.start + first * spec.window_s
            outlets = 1 if decoy else int(rng.integers(3, 7))
            bursts.append(Burst(self.terms[term], start, windows, size, self.expected(term, start), outlets, decoy))
        return sorted(bursts, key=lambda burst: burst.start)

    def _background(self, start: float) -> list[dict]:
        spec, rng = self.spec, self._rng
        documents: list[dict] = []
        for language, expected in zip(LANGUAGES, self.language_expected(start), strict=True):
            counts = rng.poisson(expected)
            total = int(counts.sum())
            if not total:
                continue
            articles = max(int(counts.max()), math.ceil(total / spec.terms_per_article))
            # Each term's mentions go to distinct articles: consecutive places from a random offset.
            terms = np.repeat(np.arange(spec.terms), counts)
            rank = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            places = (rng.integers(articles, size=spec.terms)[terms] + rank) % articles
            order = np.argsort(places, kind="stable")
            bounds = np.searchsorted(places[order], np.arange(articles + 1)).tolist()
            sorted_terms = terms[order].tolist()
            times = np.sort(rng.uniform(start, start + spec.window_s, articles)).tolist()
            outlets = rng.choice(len(OUTLET_WEIGHTS[language]), articles, p=OUTLET_WEIGHTS[language]).tolist()
            copies = (rng.random(articles) < spec.syndicated_share).tolist()
            for article in range(articles):
                mentioned = sorted_terms[bounds[article] : bounds[article + 1]]
                if not mentioned:
                    continue
                document = self._document(language, times[article], self.outlets[language][outlets[article]], mentioned)
                documents.append(document)
                if copies[article]:
                    others = [name for name in self.outlets[language] if name != document["outlet"]]
                    documents.append(self._syndicated_copy(document, others[int(rng.integers(len(others)))]))
        return documents

    def _burst_articles(self, start: float, number: int, burst: Burst, term: int) -> list[dict]:
        rng = self._rng
        extra = int(rng.poisson((burst.size - 1) * self.expected(term, start)))
        language = self.main_language(term)
        outlets = self.burst_outlets(number, burst, term)
        times = np.sort(rng.uniform(start, start + self.spec.window_s, extra)).tolist()
        picks = rng.integers(len(outlets), size=extra).tolist()
        documents = []
        for at, pick in zip(times, picks, strict=True):
            document = self._document(language, at, outlets[pick], [term])
            document["story_id"] = f"story-{number:05d}"
            documents.append(document)
        return documents

    def _document(self, language: str, at: float, outlet: str, terms: list[int]) -> dict:
        rng = self._rng
        filler = FILLER[language]
        words = [filler[index] for index in rng.integers(len(filler), size=12).tolist()]
        for term in terms:
            if term in self.phrases:
                words.append(self._keyword_text(language, term))
        timestamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds")
        self._article_number += 1
        return {
            "id": f"{self._article_number:032x}",
            "outlet": outlet,
            "language": language,
            "title": " ".join(words[:4]),
            "body": " ".join(words[4:]),
            "published_at": timestamp,
            "ingested_at": timestamp,
            "entity_ids": [self.terms[term] for term in terms if term not in self.phrases],
            "story_id": None,
            "duplicate_status": "original",
        }

    def _keyword_text(self, language: str, term: int) -> str:
        english, arabic = self.phrases[term]
        if language == "en":
            return english
        return ARABIC_PREFIXES[int(self._rng.integers(len(ARABIC_PREFIXES)))] + arabic

    def _syndicated_copy(self, document: dict, outlet: str) -> dict:
        self._article_number += 1
        return {
            **document,
            "id": f"{self._article_number:032x}",
            "outlet": outlet,
            "duplicate_status": "syndicated",
            "duplicate_of": document["id"],
        }


def _pseudo_words(rng: np.random.Generator) -> tuple[str, str]:
    """An English-looking and an Arabic-looking word that no filler text contains."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    english = "".join(consonants[rng.integers(14)] + vowels[rng.integers(5)] for _ in range(4))
    # Arabic letters that are not proclitics (و ف ب ل ك) nor the article's alef, so the word never
    # reads as prefix + something shorter.
    letters = "تثجحخدذرزسشصضطظعغقمنه"
    arabic = "".join(letters[rng.integers(len(letters))] for _ in range(5))
    return english, arabic
