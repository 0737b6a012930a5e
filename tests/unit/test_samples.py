"""The bundled sample corpus is valid and holds the cases samples/expectations.json promises."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from functools import cache
from html.parser import HTMLParser
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from newsflow import paths
from newsflow.urls import article_id

SAMPLES = paths.samples_dir()
ARTICLE_SCHEMA = orjson.loads((paths.schemas_dir() / "article.v1.json").read_bytes())
EXPECTATIONS = orjson.loads((SAMPLES / "expectations.json").read_bytes())


@cache
def validator() -> Draft202012Validator:
    # Without rfc3339-validator installed, jsonschema silently skips `format: date-time`.
    assert "date-time" in FormatChecker().checkers
    return Draft202012Validator(ARTICLE_SCHEMA, format_checker=FormatChecker())


def load_lines(name: str) -> list[bytes]:
    return (SAMPLES / name).read_bytes().splitlines()


ARTICLES: list[dict[str, Any]] = [orjson.loads(line) for line in load_lines("articles.jsonl")]
BY_URL = {article["url"]: article for article in ARTICLES}


class ArticleText(HTMLParser):
    """Text inside <article>, the part of an HTML sample that is news rather than site chrome."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.depth += tag == "article"

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag == "article"

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text_of(article: dict[str, Any]) -> str:
    if article["content_type"] != "text/html":
        return article["body"]
    parser = ArticleText()
    parser.feed(article["body"])
    return " ".join(parser.parts)


def shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: str, b: str) -> float:
    first, second = shingles(a), shingles(b)
    return len(first & second) / len(first | second)


@pytest.mark.parametrize("number", range(len(ARTICLES)))
def test_every_article_is_valid_against_the_schema(number: int) -> None:
    errors = [error.message for error in validator().iter_errors(ARTICLES[number])]
    assert not errors, f"line {number + 1}: {errors}"


def test_corpus_shape() -> None:
    assert 30 <= len(ARTICLES) <= 40
    assert len(BY_URL) == len(ARTICLES), "urls are unique"
    assert len({article_id(url) for url in BY_URL}) == len(ARTICLES), "canonical urls are unique"
    assert len({article["outlet"] for article in ARTICLES}) >= 5
    assert {"en", "ar", "fr", "es", "de"} <= set(EXPECTATIONS["languages"].values())
    # Language is left for the worker to detect.
    assert not [article["url"] for article in ARTICLES if "language" in article]


def test_articles_are_120_to_400_words() -> None:
    lengths = {article["url"]: len(text_of(article).split()) for article in ARTICLES}
    assert {url: n for url, n in lengths.items() if not 120 <= n <= 400} == {}


def test_publication_dates_lie_within_a_few_days_of_2026() -> None:
    dates = [datetime.fromisoformat(article["published_at"]) for article in ARTICLES]
    assert {date.year for date in dates} == {2026}
    assert (max(dates) - min(dates)).days <= 7


def test_languages_cover_every_article() -> None:
    assert set(EXPECTATIONS["languages"]) == set(BY_URL)
    counts = Counter(EXPECTATIONS["languages"].values())
    assert counts["ar"] >= 8 and counts["en"] >= 15


def test_arabic_articles_are_written_in_arabic_script() -> None:
    for url, language in EXPECTATIONS["languages"].items():
        text = text_of(BY_URL[url])
        arabic_letters = len(re.findall(r"[\u0600-\u06FF]", text))
        assert (arabic_letters > len(text) / 2) == (language == "ar"), url


@pytest.mark.parametrize("pair", EXPECTATIONS["exact_duplicates"])
def test_exact_duplicates_repeat_title_and_body_under_another_outlet(pair: list[str]) -> None:
    first, second = (BY_URL[url] for url in pair)
    assert (first["title"], first["body"]) == (second["title"], second["body"])
    assert first["outlet"] != second["outlet"]
    assert article_id(first["url"]) != article_id(second["url"])


@pytest.mark.parametrize("pair", EXPECTATIONS["near_duplicates"])
def test_near_duplicates_are_light_edits(pair: list[str]) -> None:
    first, second = (BY_URL[url] for url in pair)
    assert first["title"] != second["title"]
    assert first["body"] != second["body"]
    assert 0.6 <= jaccard(first["body"], second["body"]) < 1


@pytest.mark.parametrize("pair", EXPECTATIONS["same_story"])
def test_same_story_pairs_are_told_in_two_languages_by_two_outlets(pair: list[str]) -> None:
    first, second = (BY_URL[url] for url in pair)
    assert EXPECTATIONS["languages"][first["url"]] != EXPECTATIONS["languages"][second["url"]]
    assert first["outlet"] != second["outlet"]


def test_no_other_pair_is_a_duplicate() -> None:
    documented = {frozenset(pair) for pair in EXPECTATIONS["exact_duplicates"] + EXPECTATIONS["near_duplicates"]}
    similar = {
        frozenset((a["url"], b["url"]))
        for i, a in enumerate(ARTICLES)
        for b in ARTICLES[i + 1 :]
        if jaccard(text_of(a), text_of(b)) > 0.2
    }
    assert similar == documented


def test_html_articles_wrap_an_article_in_site_chrome() -> None:
    html = {article["url"] for article in ARTICLES if article["content_type"] == "text/html"}
    assert html == set(EXPECTATIONS["html"])
    for url in html:
        body = BY_URL[url]["body"]
        assert all(tag in body for tag in ("<title>", "<nav", "<article>", "<footer>"))


MALFORMED = load_lines("malformed.jsonl")


def parse(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None


def schema_errors(document: Any) -> set[str]:
    """The JSON Schema keywords the document breaks (type, required, const, format...)."""
    return {error.validator for error in validator().iter_errors(document)}


def test_every_malformed_line_is_described() -> None:
    assert [entry["line"] for entry in EXPECTATIONS["malformed"]] == list(range(1, len(MALFORMED) + 1))


@pytest.mark.parametrize("entry", EXPECTATIONS["malformed"], ids=lambda entry: entry["defect"])
def test_each_malformed_line_has_its_defect(entry: dict[str, Any]) -> None:
    line = MALFORMED[entry["line"] - 1]
    document = parse(line)
    defect = entry["defect"]
    if defect == "invalid_json":
        assert document is None and line.strip()
        return
    assert document is not None
    if defect == "not_an_object":
        assert not isinstance(document, dict)
        return
    assert document.get("url") == entry["url"]
    expected_errors = {
        "missing_url": {"required"},
        "wrong_types": {"type", "const"},
        "empty_body": set(),  # valid for the schema; nothing to enrich
        "unsupported_schema_version": {"const"},
        "invalid_date": {"format"},
    }[defect]
    assert schema_errors(document) == expected_errors
    if defect == "empty_body":
        assert not document["body"].strip()
