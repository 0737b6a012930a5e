import numpy as np
import orjson
from datasketch import MinHash

from newsflow.stages.fingerprint import folded_words
from newsflow.stages.neardup import NearDuplicateSigner, Signature, shingles, similarity

BASE = (
    "The central bank of Egypt kept its main interest rates unchanged on Thursday, citing easing inflation "
    "and a stable pound. The monetary policy committee said it would keep watching food prices closely and "
    "signalled that cuts could come later this year if inflation keeps falling. Analysts polled before the "
    "meeting had expected the decision. Annual urban inflation slowed for a fourth month in February, the "
    "statistics agency said, while the pound has traded in a narrow range since the spring."
)
OTHER = (
    "Heavy rain flooded streets in the capital on Monday, closing schools and delaying flights at the main "
    "airport. The civil defence agency said no one had been hurt and that pumps were being moved to the worst "
    "hit districts, where water reached car doors in places. Forecasters expect more storms this week."
)
SIGNER = NearDuplicateSigner()


def signatures(*texts: str) -> list[Signature]:
    return SIGNER.sign_many(list(texts))


def test_light_edit_truncation_and_added_paragraph_stay_similar_while_other_news_does_not():
    edited = BASE.replace("kept its main interest rates unchanged", "left its key rates on hold")
    truncated = BASE[: len(BASE) // 2]
    extended = BASE + "\n\nRead more: our full coverage of the Egyptian economy and markets."
    base, *variants, other = signatures(BASE, edited, truncated, extended, OTHER)
    for variant in variants:
        assert similarity(base, variant) >= 0.7
        assert set(base.bands) & set(variant.bands), "LSH must propose the variant as a candidate"
    assert similarity(base, other) < 0.1
    assert not set(base.bands) & set(other.bands)


def test_hash_values_are_datasketchs_so_stored_signatures_stay_comparable():
    texts = [BASE, OTHER, "وقال البنك المركزي المصري إن التضخم تراجع", "two words", ""]
    for text, signature in zip(texts, signatures(*texts), strict=True):
        expected = MinHash(num_perm=SIGNER.num_perm)
        expected.update_batch(list(shingles(folded_words(text), SIGNER.shingle_size)))
        assert signature.hashvalues.dtype == expected.hashvalues.dtype
        assert np.array_equal(signature.hashvalues, expected.hashvalues)


def test_signature_survives_its_stored_form():
    (base,) = signatures(BASE)
    restored = Signature.decode(base.encode(), base.shingle_count)
    assert similarity(base, restored) == 1.0
    # A plain float: it goes into the article's document, which orjson writes without numpy support.
    assert orjson.dumps(similarity(base, restored)) == b"1.0"


def test_shingles_of_short_and_empty_texts():
    assert shingles(folded_words("Breaking news"), 3) == {b"breaking news"}
    assert shingles(folded_words(""), 3) == set()
    assert similarity(*signatures("", BASE)) == 0.0
