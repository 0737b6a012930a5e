"""What the story embedding reads: the title, then whole paragraphs of the first `body_chars`."""

from __future__ import annotations

import numpy as np

from newsflow.stories.embedding import DIMENSIONS, PASSAGE_CHARS, SentenceEncoder, article_passages
from tests.unit.stories.test_stories_assign import NOW, article

PARAGRAPHS = [f"Paragraph {i} " + "word " * 60 for i in range(20)]  # 314 characters each, with the blank line
LONG = article("long", "Floods close the port", "\n\n".join(PARAGRAPHS), "en", [], NOW)


def test_passages_stop_at_the_embedded_characters() -> None:
    short, long = article_passages(LONG, 1000), article_passages(LONG, 3000)
    assert short[0] == long[0] == "Floods close the port"
    assert "Paragraph 3 " in "".join(short) and "Paragraph 4 " not in "".join(short)
    assert "Paragraph 9 " in "".join(long) and "Paragraph 10 " not in "".join(long)
    assert all(passage.replace("\n", "\n\n") in LONG.text[:3000] for passage in long[1:])
    assert all(len(passage) <= PASSAGE_CHARS for passage in long[1:])


def test_no_body_chars_embeds_the_title_only() -> None:
    assert article_passages(LONG, 0) == ["Floods close the port"]


class CountingEncoder(SentenceEncoder):
    """The batching of `embed_articles` without the model: a text's vector is a hash of it."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return np.stack([np.random.default_rng(sum(map(ord, text))).normal(size=DIMENSIONS) for text in texts])


def test_a_batch_encodes_each_text_once_and_copies_share_the_vector() -> None:
    copy = article("copy", LONG.title, LONG.body, "en", [], NOW, outlet="other")
    other = article("other", "Port reopens", "Ships sail again.", "en", [], NOW)
    encoder = CountingEncoder()
    vectors = encoder.embed_articles([LONG, copy, other], 3000)
    assert len(encoder.encoded) == len(set(encoder.encoded)) == len(article_passages(LONG, 3000)) + 2
    assert np.array_equal(vectors[0], vectors[1]) and not np.allclose(vectors[0], vectors[2])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
