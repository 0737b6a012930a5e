"""Hypothesis strategies for hostile `articles.raw` messages, shared by the pure fuzz test of the
pipeline and the integration test through the real worker.

`poison_message` draws a message value (bytes) of one of these kinds, weighted so that 10,000 of
them run in well under a minute: bytes that are not JSON or not UTF-8, JSON that is not an
article or has wrong types, deep nesting, fields and messages beyond the limits, HTML bombs,
and articles that are valid but full of control, bidi and zero-width characters (those must be
indexed, sanitised). A big field is a short drawn unit repeated, never megabytes of entropy.
"""

from __future__ import annotations

import json

import orjson
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

# Characters a hostile or broken producer sends: C0/C1 controls (NUL included), bidi overrides,
# embeddings and isolates, zero-width characters and joiners, BOM, line and paragraph separators.
CONTROL_CHARACTERS = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\x9f"
BIDI_CHARACTERS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH_CHARACTERS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
NASTY_CHARACTERS = CONTROL_CHARACTERS + BIDI_CHARACTERS + ZERO_WIDTH_CHARACTERS + "\u2028\u2029"
# What must not be left in indexed text (ZWNJ and ZWJ are kept: Persian and Urdu spelling needs them).
MUST_BE_REMOVED = set(CONTROL_CHARACTERS + BIDI_CHARACTERS + "\u200b\u2060\ufeff\u00ad")
INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xa0\xa1", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80"]
BASE = {"schema_version": 1, "url": "https://poison.example/base", "outlet": "Base", "title": "T", "body": "Text."}

# Text: any code point (no surrogates), with the nasty ones and a few scripts drawn often.
TEXT = st.text(
    st.one_of(st.sampled_from(NASTY_CHARACTERS + " ab اب Мк 会 🙂 e\u0301"), st.characters(codec="utf-8")),
    min_size=1,
    max_size=80,
)


def repeated(unit: str) -> st.SearchStrategy[str]:
    return st.integers(1, 2000).map(lambda count: unit * count)


@st.composite
def article(draw: st.DrawFn, body: st.SearchStrategy[str] = TEXT, html: bool = False) -> bytes:
    """A schema-valid article whose text fields are hostile."""
    document = {
        "schema_version": 1,
        "url": f"https://poison.example/{draw(st.uuids()).hex}/{draw(TEXT)}",
        "outlet": draw(TEXT)[:200],
        "title": draw(st.one_of(TEXT, repeated(draw(st.sampled_from(NASTY_CHARACTERS))))),
        "body": draw(body),
        "tags": [draw(TEXT)],
        "author": draw(TEXT),
    }
    if html:
        document["content_type"] = "text/html"
    return orjson.dumps(document)


def deeply_nested(depth: int, opener: str) -> bytes:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return (opener * depth + "1" + closer * depth).encode()


def html_bomb(scale: int) -> st.SearchStrategy[str]:
    """Pages that are costly or tricky to parse: deep nesting, tag floods, entity floods, unclosed
    comments and scripts, hidden text, bidi overrides inside markup."""
    return st.one_of(
        st.integers(10, 300 * scale).map(lambda n: "<div>" * n + "text" + "</div>" * n),
        st.integers(10, 1000 * scale).map(lambda n: "<p>a" * n),
        st.integers(10, 1000 * scale).map(lambda n: "<p>" + "&amp;&#x202e;&#0;&lt;" * n + "</p>"),
        st.just("<html><body><!-- never closed <p>text</p>"),
        st.just("<script>" + "x" * 1000),
        st.just("<html><body><p style='display:none'>hidden</p><p>\u202eevil\u202c</p></body></html>"),
        TEXT.map(lambda text: f"<html><head><title>{text}</title></head><body><p>{text}</p></body></html>"),
    )


ODD_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # beyond 64 bits too: orjson refuses those, a JSON parser must not crash on them
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(TEXT, st.integers(), max_size=2),
)
FIELDS = st.sampled_from(["schema_version", "url", "outlet", "title", "body", "content_type", "tags", "surprise"])


def wrong_types() -> st.SearchStrategy[bytes]:
    """A valid article with one field of the wrong type, or an unknown field; or JSON that is no object."""
    return st.one_of(
        st.builds(lambda name, value: json.dumps({**BASE, name: value}).encode(), FIELDS, ODD_VALUE),
        ODD_VALUE.map(lambda value: json.dumps(value).encode()),
    )


def not_json() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.integers(0, len(orjson.dumps(BASE)) - 1).map(lambda at: orjson.dumps(BASE)[:at]),
        st.sampled_from([b"", b"NaN", b"Infinity", b'"\\ud800"', b'{"a":1,"a":2}', b"[1,2,]", b"{'single': 1}"]),
    )


def invalid_utf8() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda at, garbage: orjson.dumps(BASE)[:at] + garbage + orjson.dumps(BASE)[at:],
        st.integers(0, len(orjson.dumps(BASE))),
        st.sampled_from(INVALID_UTF8),
    )


def beyond_limits(scale: int) -> st.SearchStrategy[bytes]:
    """Fields and messages over the limits: max_body_chars, the schema's maxLengths, max_message_bytes."""
    return st.one_of(
        st.integers(500_001, 510_000).map(lambda n: orjson.dumps({**BASE, "body": "w" * n})),
        st.integers(2001, 50_000).map(lambda n: orjson.dumps({**BASE, "title": "t" * n})),
        st.integers(4097, 20_000).map(lambda n: orjson.dumps({**BASE, "url": "https://poison.example/" + "u" * n})),
        st.integers(101, 1000).map(lambda n: orjson.dumps({**BASE, "tags": ["t"] * n})),
        st.integers(2_000_001, 2_000_000 + 1000 * scale).map(lambda n: b'{"body": "' + b"x" * n + b'"}'),
    )


def near_limits() -> st.SearchStrategy[bytes]:
    """A body just under max_body_chars: valid, and the costliest to enrich."""
    return st.integers(400_000, 499_990).map(near_limit_article)


def near_limit_article(body_chars: int) -> bytes:
    return orjson.dumps({**BASE, "body": "word " * (body_chars // 5)})


def poison_message(scale: int = 1) -> st.SearchStrategy[bytes]:
    """Any hostile message value. `scale` multiplies the sizes of the costly kinds (slow runs)."""
    nesting = st.integers(2, 5000 * scale).flatmap(
        lambda depth: st.sampled_from(["[", '{"a":']).map(lambda opener: deeply_nested(depth, opener))
    )
    nested_field = st.integers(2, 500).map(
        lambda depth: orjson.dumps({**BASE, "tags": None}).replace(b"null", deeply_nested(depth, "["))
    )
    # Per thousand. Hypothesis draws the edges of a range more often than uniformly: the first and
    # last kinds are cheap ones, the costliest sits in the middle.
    weighted = [
        (150, not_json()),
        (150, wrong_types()),
        (60, nesting),
        (390 if scale == 1 else 389, article()),
        (0 if scale == 1 else 1, near_limits()),  # about a second each: the slow run only
        (67, article(body=html_bomb(scale), html=True)),
        (60, beyond_limits(scale)),
        (23, nested_field),
        (100, invalid_utf8()),
    ]
    weighted = [(weight, strategy) for weight, strategy in weighted if weight]
    assert sum(weight for weight, _ in weighted) == 1000
    return st.integers(0, 999).flatmap(lambda roll: pick(weighted, roll))


def pick(weighted: list[tuple[int, st.SearchStrategy[bytes]]], roll: int) -> st.SearchStrategy[bytes]:
    for weight, strategy in weighted:
        if roll < weight:
            return strategy
        roll -= weight
    raise AssertionError("weights must sum to 1000")


def hostile_values(count: int, scale: int = 1) -> list[bytes]:
    """`count` draws of `poison_message`, for a test that sends them all at once (through a worker)."""
    drawn: list[bytes] = []

    @settings(
        max_examples=count,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(poison_message(scale))
    def collect(value: bytes) -> None:
        drawn.append(value)

    collect()
    return drawn
