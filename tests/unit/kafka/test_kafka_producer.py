"""The producer's readers and key derivation (pure), and its sending loop against a fake producer."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from kafka.errors import KafkaTimeoutError
from kafka.future import Future

from newsflow import paths
from newsflow.kafka import producer as producer_module
from newsflow.kafka.producer import (
    TITLE_MAX_CHARS,
    DeliveryTally,
    InputError,
    Message,
    ProduceCounts,
    article_from_html,
    article_from_text,
    article_message,
    expand_inputs,
    html_title,
    message_key,
    messages_from_json_document,
    messages_from_json_lines,
    read_input,
    send_messages,
)
from newsflow.settings import Settings
from newsflow.urls import article_id

ARTICLE_SCHEMA = orjson.loads((paths.schemas_dir() / "article.v1.json").read_bytes())
ARTICLE = {
    "schema_version": 1,
    "url": "https://example.org/news/one",
    "outlet": "Levant Wire",
    "title": "One",
    "body": "Text of one.",
}

HTML_PAGE = """<!DOCTYPE html><html><head><title>Ministers meet in Amman &amp; agree on water</title></head>
<body><nav><a href="/">Home</a></nav><article><h1>Ministers meet</h1><p>Body.</p></article></body></html>"""


def validate(article: dict) -> None:
    Draft202012Validator(ARTICLE_SCHEMA, format_checker=FormatChecker()).validate(article)


def hashed_key(value: bytes) -> bytes:
    return hashlib.sha256(value).hexdigest()[:32].encode()


class TestMessageKey:
    def test_is_the_article_id_of_the_url(self) -> None:
        assert message_key(b"ignored", ARTICLE) == article_id(ARTICLE["url"]).encode()

    def test_equivalent_urls_share_a_key(self) -> None:
        tracked = {**ARTICLE, "url": "https://www.example.org/news/one/?utm_source=rss"}
        assert message_key(b"", tracked) == message_key(b"", ARTICLE)

    @pytest.mark.parametrize("document", [None, [1, 2], {"title": "no url"}, {"url": 42}, {"url": "  "}])
    def test_without_a_usable_url_is_the_hash_of_the_bytes(self, document: object) -> None:
        assert message_key(b"raw bytes", document) == hashed_key(b"raw bytes")

    def test_every_key_has_the_same_shape(self) -> None:
        assert len(message_key(b"x", None)) == len(message_key(b"x", ARTICLE)) == 32


class TestJsonLines:
    def test_each_non_empty_line_is_sent_unchanged(self) -> None:
        line = b'{"url": "https://example.org/a",  "title": "spacing kept"}'
        messages = list(messages_from_json_lines([line + b"\r\n", b"\n", b"   \n", line]))
        assert [m.value for m in messages] == [line, line]
        assert messages[0].key == article_id("https://example.org/a").encode()

    def test_a_malformed_line_is_still_sent_keyed_by_its_hash(self) -> None:
        [message] = messages_from_json_lines([b'{"url": "https://example.org/a", "title": "cut of\n'])
        assert message == Message(
            hashed_key(b'{"url": "https://example.org/a", "title": "cut of'),
            b'{"url": "https://example.org/a", "title": "cut of',
        )

    def test_a_line_that_is_not_an_object_is_sent_too(self) -> None:
        [message] = messages_from_json_lines([b"[1, 2, 3]\n"])
        assert message.value == b"[1, 2, 3]"


class TestJsonDocument:
    def test_an_object_is_one_message(self) -> None:
        [message] = messages_from_json_document(orjson.dumps(ARTICLE))
        assert orjson.loads(message.value) == ARTICLE
        assert message.key == article_id(ARTICLE["url"]).encode()

    def test_an_array_is_one_message_per_element(self) -> None:
        second = {**ARTICLE, "url": "https://example.org/news/two"}
        messages = list(messages_from_json_document(orjson.dumps([ARTICLE, second, "not an article"])))
        assert [orjson.loads(m.value) for m in messages] == [ARTICLE, second, "not an article"]
        assert messages[2].key == hashed_key(b'"not an article"')

    def test_a_file_that_is_not_json_is_sent_whole(self) -> None:
        assert list(messages_from_json_document(b"{oops")) == [Message(hashed_key(b"{oops"), b"{oops")]


class TestTextArticle:
    TEXT = "\n   \n  Moscow warns of merger  \nMoscow - Raed\nThe FSB said...\n"

    def test_title_is_the_first_non_empty_line_and_body_the_whole_text(self) -> None:
        article = article_from_text(self.TEXT, "001.txt")
        assert article["title"] == "Moscow warns of merger"
        assert article["body"] == self.TEXT
        assert article["content_type"] == "text/plain"
        validate(article)

    def test_url_defaults_to_a_urn_of_the_file_name_and_outlet_to_unknown(self) -> None:
        article = article_from_text(self.TEXT, "my seed 001.txt")
        assert article["url"] == "urn:newsflow:file:my%20seed%20001.txt"
        assert article["outlet"] == "unknown"

    def test_given_url_and_outlet_are_used(self) -> None:
        article = article_from_text(self.TEXT, "001.txt", outlet="Nile Herald", url="https://nileherald.example/x")
        assert (article["url"], article["outlet"]) == ("https://nileherald.example/x", "Nile Herald")

    def test_an_overlong_first_line_is_cut_to_the_schema_limit(self) -> None:
        article = article_from_text("word " * 1000, "long.txt")
        assert len(article["title"]) == TITLE_MAX_CHARS
        validate(article)

    def test_title_limit_is_the_schemas(self) -> None:
        assert ARTICLE_SCHEMA["properties"]["title"]["maxLength"] == TITLE_MAX_CHARS


class TestHtmlArticle:
    def test_title_comes_from_the_title_element_and_body_is_the_raw_page(self) -> None:
        article = article_from_html(HTML_PAGE, "page.html", outlet="Levant Wire")
        assert article["title"] == "Ministers meet in Amman & agree on water"
        assert article["body"] == HTML_PAGE
        assert article["content_type"] == "text/html"
        assert article["url"] == "urn:newsflow:file:page.html"
        validate(article)

    def test_a_fragment_without_title_uses_its_first_heading(self) -> None:
        assert html_title("<article><h1>Rail <em>trial</em>\n runs</h1><h1>Other</h1></article>") == "Rail trial runs"

    def test_no_title_at_all_is_empty(self) -> None:
        assert html_title("<p>Just a paragraph.</p>") == ""


class TestReadInput:
    def test_reads_each_kind_of_file(self, tmp_path: Path) -> None:
        (tmp_path / "a.jsonl").write_bytes(orjson.dumps(ARTICLE) + b"\n\n" + b"{bad\n")
        (tmp_path / "b.ndjson").write_bytes(orjson.dumps(ARTICLE) + b"\n")
        (tmp_path / "c.json").write_bytes(orjson.dumps([ARTICLE, ARTICLE]))
        (tmp_path / "d.txt").write_text("Headline\n\nBody text.", encoding="utf-8")
        (tmp_path / "e.HTML").write_text(HTML_PAGE, encoding="utf-8")
        counts = {path.name: len(list(read_input(str(path), outlet="X"))) for path in sorted(tmp_path.iterdir())}
        assert counts == {"a.jsonl": 2, "b.ndjson": 1, "c.json": 2, "d.txt": 1, "e.HTML": 1}
        [html] = read_input(str(tmp_path / "e.HTML"), outlet="X")
        assert orjson.loads(html.value)["outlet"] == "X"
        assert html.key == article_id("urn:newsflow:file:e.HTML").encode()

    def test_dash_reads_json_lines_from_stdin(self) -> None:
        stdin = io.BytesIO(orjson.dumps(ARTICLE) + b"\nnot json\n")
        messages = list(read_input("-", stdin=stdin))
        assert [m.value for m in messages] == [orjson.dumps(ARTICLE), b"not json"]

    def test_text_that_is_not_utf8_is_an_input_error(self, tmp_path: Path) -> None:
        path = tmp_path / "latin1.txt"
        path.write_bytes("Café".encode("latin-1"))
        with pytest.raises(InputError, match="not UTF-8"):
            list(read_input(str(path)))

    def test_a_byte_order_mark_is_not_part_of_the_title(self, tmp_path: Path) -> None:
        path = tmp_path / "bom.txt"
        path.write_bytes("\ufeffHeadline\nBody".encode())
        [message] = read_input(str(path))
        assert orjson.loads(message.value)["title"] == "Headline"


class TestExpandInputs:
    def test_folders_stand_for_their_supported_files(self, tmp_path: Path) -> None:
        for name in ("b.txt", "a.jsonl", "notes.md", "c.htm"):
            (tmp_path / name).write_text("x", encoding="utf-8")
        assert expand_inputs([str(tmp_path), "-"]) == [str(tmp_path / n) for n in ("a.jsonl", "b.txt", "c.htm")] + ["-"]

    def test_a_folder_without_supported_files_is_an_input_error(self, tmp_path: Path) -> None:
        (tmp_path / "notes.md").write_text("x", encoding="utf-8")
        with pytest.raises(InputError, match=re.escape("no .htm")):
            expand_inputs([str(tmp_path)])

    def test_a_missing_file_is_an_input_error(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match="no such file"):
            expand_inputs([str(tmp_path / "absent.jsonl")])

    def test_an_unsupported_file_is_an_input_error(self, tmp_path: Path) -> None:
        (tmp_path / "data.csv").write_text("a,b", encoding="utf-8")
        with pytest.raises(InputError, match="unsupported"):
            expand_inputs([str(tmp_path / "data.csv")])


class FakeProducer:
    """Settles each send as the test says: acknowledged, failed later, or refused at once."""

    def __init__(self, outcomes: list[str]) -> None:
        self.outcomes = outcomes
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.pending: list[tuple[Future, str]] = []

    def send(self, topic: str, value: bytes, key: bytes) -> Future:
        outcome = self.outcomes[len(self.sent)]
        self.sent.append((topic, key, value))
        if outcome == "refused":
            raise KafkaTimeoutError("metadata not available")
        future = Future()
        self.pending.append((future, outcome))
        return future

    def settle(self) -> None:
        for future, outcome in self.pending:
            future.success("metadata") if outcome == "ok" else future.failure(KafkaTimeoutError("expired"))


def test_send_messages_counts_acknowledged_and_failed_sends() -> None:
    producer = FakeProducer(["ok", "failed", "refused", "ok"])
    counts = ProduceCounts()
    settled: list[None] = []
    tally = DeliveryTally(counts, on_delivery=lambda: settled.append(None))
    messages = [article_message({**ARTICLE, "url": f"https://example.org/{n}"}) for n in range(4)]
    send_messages(producer, "articles.raw", messages, tally)
    producer.settle()
    assert (counts.messages_sent, counts.failed_sends) == (2, 2)
    assert counts.first_error == "KafkaTimeoutError: metadata not available"  # refused before any settled
    assert len(settled) == 4
    assert [(topic, key) for topic, key, _ in producer.sent] == [("articles.raw", m.key) for m in messages]


def test_produce_inputs_checks_every_input_before_contacting_kafka(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(producer_module, "open_producer", lambda settings: pytest.fail("Kafka contacted"))
    (tmp_path / "present.jsonl").write_bytes(orjson.dumps(ARTICLE))
    with pytest.raises(InputError, match=re.escape("absent.txt")):
        producer_module.produce_inputs(Settings(), [str(tmp_path / "present.jsonl"), str(tmp_path / "absent.txt")])
