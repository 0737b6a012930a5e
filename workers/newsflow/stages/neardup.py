"""Near-duplicate signatures: MinHash over word shingles, cut into LSH band keys.

Band keys are plain strings, so any store that can answer "which documents
share one of these keys" (an Elasticsearch `terms` query) finds candidates;
the MinHash signatures then estimate how similar a candidate really is.
Similarity is the larger of Jaccard and containment, so a truncated copy or
a copy with a paragraph added still counts as a near duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import operator
from dataclasses import dataclass
from functools import cache, partial

import numpy as np
from datasketch import MinHash, MinHashLSH

from newsflow.models import Article
from newsflow.stages.fingerprint import folded_words

# LSH finds candidates down to this Jaccard similarity (about 2 in 3 at 0.3, all above 0.5), below
# the verification threshold, so that truncated copies (low Jaccard, high containment) are still found.
CANDIDATE_JACCARD = 0.3
# MinHash as datasketch computes it by default (scheme affine32), so stored signatures stay comparable:
# a shingle's hash is the first 4 bytes of its SHA-1, read little-endian (the first of the digest's
# five words), pre-mixed by the MurmurHash3 finalizer, then permuted by h -> a*h + b mod 2^32.
# Computed here for all of a text's shingles at once (datasketch makes a Python call per shingle);
# tests/unit/stages/test_neardup.py checks the values against datasketch's MinHash.
_SHA1_WORDS = 5
_EMPTY_HASH = np.uint32(0xFFFFFFFF)
# Hash objects made and read by map: no Python step per shingle or band.
_SHA1_DIGEST = type(hashlib.sha1()).digest
_BAND_HASH = partial(hashlib.blake2b, digest_size=8)
_BAND_HEXDIGEST = type(hashlib.blake2b()).hexdigest


@dataclass(frozen=True, slots=True)
class Signature:
    hashvalues: np.ndarray  # uint32 MinHash values, num_perm of them
    shingle_count: int
    bands: list[str]

    def encode(self) -> str:
        """Compact text form for storage (base64 of the little-endian uint32 values)."""
        return base64.b64encode(self.hashvalues.astype("<u4", copy=False).tobytes()).decode("ascii")

    @staticmethod
    def decode(encoded: str, shingle_count: int) -> Signature:
        values = np.frombuffer(base64.b64decode(encoded), dtype="<u4")
        return Signature(values, shingle_count, [])


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (uint32 products wrap, which is its modulo 2^32)."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def shingles(folded: bytes, size: int) -> set[bytes]:
    """Word n-grams of a text's `folded_words`; short texts give their whole word sequence as one shingle."""
    words = folded.split()
    if len(words) < size:
        return {folded} if words else set()
    # zip and join mapped in C: no Python step per shingle. The suffixes differ in length: zip stops at the
    # last whole shingle.
    return set(map(b" ".join, zip(*(words[i:] for i in range(size)), strict=False)))


class NearDuplicateSigner:
    def __init__(
        self, candidate_jaccard: float = CANDIDATE_JACCARD, num_perm: int = 128, shingle_size: int = 3
    ) -> None:
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        # datasketch picks the band layout (b bands of r rows) that best separates `candidate_jaccard`.
        lsh = MinHashLSH(threshold=candidate_jaccard, num_perm=num_perm)
        # Band i is hashvalues[i*r : (i+1)*r], as bytes of the little-endian uint32 values.
        self._band_bytes = [slice(4 * band * lsh.r, 4 * (band + 1) * lsh.r) for band in range(lsh.b)]
        self._band_prefixes = [f"{band}:" for band in range(lsh.b)]
        self._multipliers, self._offsets = MinHash(num_perm=num_perm).permutations

    def sign_many(self, texts: list[str]) -> list[Signature]:
        return [self.sign(text) for text in texts]

    def sign(self, text: str) -> Signature:
        return self.sign_folded(folded_words(text))

    def sign_folded(self, folded: bytes) -> Signature:
        """The signature of a text by its `folded_words`."""
        shingle_set = shingles(folded, self.shingle_size)
        if not shingle_set:
            hashvalues = np.full(self.num_perm, _EMPTY_HASH)
        else:
            digests = np.frombuffer(b"".join(map(_SHA1_DIGEST, map(hashlib.sha1, shingle_set))), "<u4")
            hashes = _fmix32(digests[::_SHA1_WORDS])
            permuted = np.multiply.outer(hashes, self._multipliers)
            permuted += self._offsets
            hashvalues = permuted.min(axis=0)
        return Signature(hashvalues, len(shingle_set), self._bands(hashvalues))

    def _bands(self, hashvalues: np.ndarray) -> list[str]:
        values = hashvalues.astype("<u4", copy=False).tobytes()
        hexdigests = map(_BAND_HEXDIGEST, map(_BAND_HASH, map(values.__getitem__, self._band_bytes)))
        return list(map(operator.add, self._band_prefixes, hexdigests))


@cache
def near_duplicate_signer() -> NearDuplicateSigner:
    return NearDuplicateSigner()


def sign_near_duplicates(articles: list[Article], signer: NearDuplicateSigner) -> None:
    """Batch stage: one MinHash signature per article."""
    for article in articles:
        # The fingerprint stage has folded the words, unless it did not run.
        folded = article.folded_words if article.folded_words is not None else folded_words(article.text)
        article.signature = signer.sign_folded(folded)


def similarity(a: Signature, b: Signature) -> float:
    """max(Jaccard, containment of the smaller in the larger), estimated from the signatures."""
    if not a.shingle_count or not b.shingle_count:
        return 0.0
    jaccard = int(np.count_nonzero(a.hashvalues == b.hashvalues)) / a.hashvalues.size
    # |A ∩ B| = J (|A| + |B|) / (1 + J); containment divides it by the smaller set.
    intersection = jaccard * (a.shingle_count + b.shingle_count) / (1 + jaccard)
    return max(jaccard, min(1.0, intersection / min(a.shingle_count, b.shingle_count)))
