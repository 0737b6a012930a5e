"""Publish articles to `articles.raw`: pure readers turning input into messages, and a thin sender.

The producer is a transport: JSON documents are passed on as they are and the
worker validates them, so a malformed message is dead-lettered with a reason
rather than silently dropped here. Only `.txt` and `.html` files, which have no
article structure of their own, are turned into article.v1 objects.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple
from urllib.parse import quote

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from newsflow.errors import NewsflowError
from newsflow.kafka.admin import connect, message_size_limit
from newsflow.settings import Settings
from newsflow.urls import article_id

STDIN = "-"
JSON_LINES_SUFFIXES = frozenset({".jsonl", ".ndjson"})
JSON_SUFFIXES = frozenset({".json"})
TEXT_SUFFIXES = frozenset({".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
# Files holding one article with no structure of their own: the producer builds the article.
SINGLE_ARTICLE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
SUPPORTED_SUFFIXES = JSON_LINES_SUFFIXES | JSON_SUFFIXES | SINGLE_ARTICLE_SUFFIXES
DEFAULT_OUTLET = "unknown"
# article.v1.json caps `title` at this length; a first line longer than that is not a headline.
TITLE_MAX_CHARS = 2000


class InputError(NewsflowError):
    """An input cannot be read: missing, of an unsupported type, or not UTF-8 text."""


class Message(NamedTuple):
    key: bytes
    value: bytes


# --- Pure readers: bytes and text in, messages or article dicts out. ---


def message_key(value: bytes, document: object) -> bytes:
    """The article id of the document's url; for a message without one, a hash of its bytes.

    Both are 32 hex characters, so every key on the topic has the same shape.
    """
    if isinstance(document, dict) and isinstance(document.get("url"), str) and document["url"].strip():
        return article_id(document["url"]).encode("ascii")
    return hashlib.sha256(value).hexdigest()[:32].encode("ascii")


def article_message(article: dict[str, Any]) -> Message:
    value = orjson.dumps(article)
    return Message(message_key(value, article), value)


def messages_from_json_lines(lines: Iterable[bytes]) -> Iterator[Message]:
    """One message per non-empty line, its bytes unchanged (without the line ending)."""
    for line in lines:
        value = line.rstrip(b"\r\n")
        if not value.strip():
            continue
        try:
            document = orjson.loads(value)
        except orjson.JSONDecodeError:
            document = None
        yield Message(message_key(value, document), value)


def messages_from_json_document(data: bytes) -> Iterator[Message]:
    """One message for a JSON object, one per element for an array.

    A file that is not JSON is sent whole, like a malformed JSON line, for the worker to dead-letter.
    """
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        yield Message(message_key(data, None), data)
        return
    for element in document if isinstance(document, list) else [document]:
        value = orjson.dumps(element)
        yield Message(message_key(value, element), value)


def file_urn(file_name: str) -> str:
    """The url of an article file that has none of its own."""
    return f"urn:newsflow:file:{quote(file_name)}"


def article_from_text(
    text: str, file_name: str, outlet: str = DEFAULT_OUTLET, url: str | None = None
) -> dict[str, Any]:
    """A plain-text article: the first non-empty line is the title, the whole text the body."""
    title = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return {
        "schema_version": 1,
        "url": url or file_urn(file_name),
        "outlet": outlet,
        "title": title[:TITLE_MAX_CHARS],
        "body": text,
        "content_type": "text/plain",
    }


class _TitleParser(HTMLParser):
    """Collects the text of the first <title> and of the first <h1>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: dict[str, list[str]] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("title", "h1") and tag not in self.texts:
            self.texts[tag] = []
            self._open = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts[self._open].append(data)

    def text_of(self, tag: str) -> str:
        return " ".join("".join(self.texts.get(tag, [])).split())


def html_title(html: str) -> str:
    """The document's <title>, else its first <h1> (article fragments often have no <head>), else ''."""
    parser = _TitleParser()
    parser.feed(html)
    parser.close()
    return parser.text_of("title") or parser.text_of("h1")


def article_from_html(
    html: str, file_name: str, outlet: str = DEFAULT_OUTLET, url: str | None = None
) -> dict[str, Any]:
    """An HTML article: the raw page is the body; the worker extracts its text."""
    return {
        "schema_version": 1,
        "url": url or file_urn(file_name),
        "outlet": outlet,
        "title": html_title(html)[:TITLE_MAX_CHARS],
        "body": html,
        "content_type": "text/html",
    }


# --- Inputs: which files to read, and reading them. ---


def expand_inputs(inputs: Iterable[str]) -> list[str]:
    """Check every input before anything is sent; a folder stands for its supported files, sorted."""
    expanded: list[str] = []
    for name in inputs:
        if name == STDIN:
            expanded.append(name)
            continue
        path = Path(name)
        if path.is_dir():
            children = [str(child) for child in sorted(path.iterdir()) if child.suffix.lower() in SUPPORTED_SUFFIXES]
            if not children:
                raise InputError(f"no {', '.join(sorted(SUPPORTED_SUFFIXES))} files in {name}")
            expanded.extend(children)
        elif not path.is_file():
            raise InputError(f"no such file: {name}")
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise InputError(f"unsupported input {name}: expected one of {', '.join(sorted(SUPPORTED_SUFFIXES))}")
        else:
            expanded.append(name)
    return expanded


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text: {exc}") from exc


def read_input(
    name: str, outlet: str = DEFAULT_OUTLET, url: str | None = None, stdin: BinaryIO | None = None
) -> Iterator[Message]:
    """The messages of one input: a file path, or `-` for JSON Lines on stdin."""
    if name == STDIN:
        yield from messages_from_json_lines(stdin or sys.stdin.buffer)
        return
    path = Path(name)
    suffix = path.suffix.lower()
    if suffix in JSON_LINES_SUFFIXES:
        with path.open("rb") as lines:
            yield from messages_from_json_lines(lines)
    elif suffix in JSON_SUFFIXES:
        yield from messages_from_json_document(path.read_bytes())
    elif suffix in TEXT_SUFFIXES:
        yield article_message(article_from_text(_decode(path.read_bytes(), name), path.name, outlet, url))
    elif suffix in HTML_SUFFIXES:
        yield article_message(article_from_html(_decode(path.read_bytes(), name), path.name, outlet, url))
    else:
        raise InputError(f"unsupported input {name}")


# --- The edge: sending to Kafka. ---


def _describe(error: BaseException) -> str:
    """The error's type and message; kafka-python's messages already start with the type."""
    message = str(error)
    name = type(error).__name__
    return message if message.startswith(name) else f"{name}: {message}"


@dataclass
class ProduceCounts:
    files_read: int = 0
    messages_sent: int = 0
    failed_sends: int = 0
    first_error: str | None = None


class DeliveryTally:
    """Counts broker acknowledgements and failures; callbacks arrive on the producer's I/O thread."""

    def __init__(self, counts: ProduceCounts, on_delivery: Callable[[], None]) -> None:
        self.counts = counts
        self._on_delivery = on_delivery
        self._lock = threading.Lock()

    def delivered(self, _metadata: object = None) -> None:
        with self._lock:
            self.counts.messages_sent += 1
        self._on_delivery()

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.counts.failed_sends += 1
            self.counts.first_error = self.counts.first_error or _describe(error)
        self._on_delivery()


def open_producer(settings: Settings) -> KafkaProducer:
    return connect(
        KafkaProducer,
        settings,
        "producer",
        acks="all",
        # A short wait fills batches when reading a large file, unnoticeable for one article.
        linger_ms=20,
        # gzip needs nothing beyond the standard library in any consumer; lz4 would need a package.
        compression_type="gzip",
        max_request_size=message_size_limit(settings),
    )


def send_messages(producer: KafkaProducer, topic: str, messages: Iterable[Message], tally: DeliveryTally) -> None:
    for message in messages:
        try:
            future = producer.send(topic, value=message.value, key=message.key)
        except KafkaError as exc:
            tally.failed(exc)
            continue
        future.add_callback(tally.delivered)
        future.add_errback(tally.failed)


def produce_inputs(
    settings: Settings,
    inputs: Iterable[str],
    outlet: str = DEFAULT_OUTLET,
    url: str | None = None,
    on_input: Callable[[str], None] = lambda name: None,
    on_delivery: Callable[[], None] = lambda: None,
) -> ProduceCounts:
    """Send every input to `settings.topic_raw` and wait for all acknowledgements.

    Inputs are checked (InputError) before Kafka is contacted. `on_input` is called as each
    input is opened and `on_delivery` as each send is settled, so a caller can show progress.
    """
    names = expand_inputs(inputs)
    counts = ProduceCounts()
    tally = DeliveryTally(counts, on_delivery)
    producer = open_producer(settings)
    try:
        for name in names:
            on_input(name)
            send_messages(producer, settings.topic_raw, read_input(name, outlet, url), tally)
            counts.files_read += 1
        producer.flush()
    finally:
        producer.close()
    return counts
