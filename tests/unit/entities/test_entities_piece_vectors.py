"""Pretrained sub-word vectors of the Arabic model, from the installed USE weights."""

import numpy as np
import spacy

from newsflow.entities.ner import ArabicFeatures
from newsflow.entities.piece_vectors import DOC_VECTORS_KEY, arabic_piece_table, word_vectors


def test_the_piece_table_is_deterministic_and_arabic():
    pieces, table = arabic_piece_table(16)
    again_pieces, again_table = arabic_piece_table(16)
    assert pieces == again_pieces and np.array_equal(table, again_table)
    assert table.shape == (len(pieces), 16) and len(pieces) > 5000
    assert "▁بغداد" in pieces and "▁Paris" not in pieces


def test_a_word_vector_is_the_unit_mean_of_its_pieces_and_zero_without_arabic_pieces():
    rows = {"▁بغ": 0, "داد": 1, "▁بغداد": 2}
    table = np.array([[3.0, 0.0], [1.0, 2.0], [0.0, 5.0]], dtype=np.float32)
    vectors = word_vectors(["بغداد", "بغداد", "Paris"], rows, table)
    assert np.allclose(vectors[0], [0.0, 1.0]) and np.array_equal(vectors[0], vectors[1])
    assert not vectors[2].any()


def test_tokens_read_the_vectors_of_the_word_and_of_the_word_without_its_prefixes(tmp_path):
    features = ArabicFeatures(piece_vector_width=32)
    features.initialize(list)
    nlp = spacy.blank("ar")
    vectors = features(nlp("وبغداد بغداد")).user_data[DOC_VECTORS_KEY]
    assert vectors.shape == (2, 64)
    assert not np.allclose(vectors[0, :32], vectors[1, :32])  # the words differ
    assert np.allclose(vectors[0, 32:], vectors[1, :32])  # بغداد without و
    features.to_disk(tmp_path)
    loaded = ArabicFeatures(piece_vector_width=32).from_disk(tmp_path)
    assert np.allclose(loaded(nlp("وبغداد")).user_data[DOC_VECTORS_KEY], vectors[:1], atol=1e-3)
