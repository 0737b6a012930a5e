"""The articles index's analyzers on a real node: Arabic spellings users mix, English possessives, exact phrases."""

from __future__ import annotations

import pytest


def terms(es, settings, field: str, text: str) -> list[str]:
    analysed = es.indices.analyze(index=settings.articles_alias, field=field, text=text)
    return [token["token"] for token in analysed["tokens"]]


@pytest.mark.parametrize(
    ("written", "searched"),
    [
        ("بورتنيكوف", "البورتنيكوف"),  # with and without the article
        ("بورتنيكوف", "وبورتنيكوف"),  # attached conjunction
        ("بورتنيكوف", "بـورتـنيكوف"),  # tatweel
        ("الإسلامية", "الاسلاميه"),  # hamza on alef, ta marbuta
        ("مُوسْكُو", "موسكو"),  # diacritics
        ("مصطفى", "مصطفي"),  # alef maqsura
        ("٢٠١٨", "2018"),  # Eastern Arabic digits
    ],
)
def test_arabic_spelling_variants_share_their_terms(es, settings, written, searched):
    assert terms(es, settings, "body.ar", written) == terms(es, settings, "body.ar", searched)


def test_transliteration_vowel_variants_meet_in_the_skeleton_field_only(es, settings):
    assert terms(es, settings, "body.ar", "بورتنيكوف") != terms(es, settings, "body.ar", "بورتينكوف")
    assert terms(es, settings, "body.ar_skeleton", "بورتنيكوف") == terms(es, settings, "body.ar_skeleton", "بورتينكوف")
    # an attached preposition without the article, which the light stemmer keeps
    assert terms(es, settings, "body.ar_skeleton", "لكرة اليد") == terms(es, settings, "body.ar_skeleton", "كرة اليد")


def test_english_possessives_stem_and_exact_keeps_every_word(es, settings):
    assert terms(es, settings, "body.en", "Russia's ministers") == ["russia", "minist"]
    assert terms(es, settings, "body.exact", "The Islamic State's") == ["the", "islamic", "state's"]
    assert terms(es, settings, "body.exact", "الدولةُ الإسلاميّة") == ["الدوله", "الاسلاميه"]
