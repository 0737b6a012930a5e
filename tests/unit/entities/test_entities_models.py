"""The statistical models behind EntityExtractor: shipped, loadable offline, batched, capped."""

from collections import Counter

import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example

from newsflow.entities.layout import EntitySpan, with_line_names
from newsflow.entities.ner import (
    ARABIC_MODEL_DIR,
    ArabicFeatures,
    ModelNer,
    _name_parts,
    arabic_pipelines,
    name_readings,
    split_proclitics,
    voted,
)


def test_english_model_finds_people_the_table_does_not_know(with_model):
    text = "Prime Minister John Smith met Jaume Pinos in Taiz on Monday."
    mentions = with_model.extract([text], "en")[0]
    for mention in mentions:
        assert text[mention.start : mention.end] == mention.text
    people = {m.entity_id for m in mentions if m.type == "PER" and m.source == "model"}
    assert {"per:john-smith", "per:jaume-pinos"} <= people


def test_arabic_model_ships_with_its_card_and_finds_names(with_model):
    assert (ARABIC_MODEL_DIR / "MODEL_CARD.md").is_file()
    text = "وقال الرئيس الفرنسي جاك شيراك في باريس إن فرنسا تدعم القرار"
    mentions = with_model.extract([text], "ar")[0]
    assert any(m.type == "PER" and "شيراك" in m.text and m.source == "model" for m in mentions)
    assert {"loc:paris", "loc:france"} <= {m.entity_id for m in mentions}


def test_arabic_features_give_the_model_the_alias_table_reading_of_each_token():
    doc = ArabicFeatures()(spacy.blank("ar")("قال مسؤول في وزارة الخارجية الأمريكية ببغداد"))
    assert [(token.lemma_, token.tag_) for token in doc] == [
        ("قال", ""),
        ("مسوول", ""),
        ("في", ""),
        ("وزاره", "B-ORG"),
        ("خارجيه", "I-ORG"),
        ("امريكيه", "I-ORG"),
        ("ببغداد", "B-LOC"),  # no article: a leading ب may be the name's own
    ]


def test_one_model_call_per_language_and_batch(with_model, make_article, monkeypatch):
    calls = []
    original = with_model.model.extract
    monkeypatch.setattr(
        with_model.model,
        "extract",
        lambda texts, language: calls.append((language, len(texts))) or original(texts, language),
    )
    articles = [
        make_article(t, lang) for t, lang in [("Lavrov spoke.", "en"), ("تحدث لافروف", "ar"), ("Merz spoke.", "en")]
    ]
    with_model.annotate(articles)
    assert sorted(calls) == [("ar", 1), ("en", 2)]
    assert all(article.entities for article in articles)


def test_long_texts_are_cut_at_a_space_for_the_model():
    model = ModelNer(max_chars=20)
    assert model._head("short") == "short"
    assert model._head("Sergei Lavrov met Alexander Bortnikov") == "Sergei Lavrov met"


def test_languages_without_a_model_get_no_model_mentions():
    assert ModelNer(max_chars=100).extract(["Emmanuel Macron à Paris", ""], "fr") == [[], []]


def _parts(text: str, entity_type: str = "ORG") -> list[str]:
    doc = spacy.blank("en")(text)
    return [part.text for part in _name_parts(doc[:], entity_type)]


def test_model_spans_are_cut_at_free_standing_scores_and_punctuation():
    assert _parts("Sunderland 1 Wimbledon 3") == ["Sunderland", "Wimbledon"]
    assert _parts('Vaughan 9-1-55-1 , " Red Shirts', "PER") == ["Vaughan", "Red Shirts"]
    assert _parts("Manchester City v") == ["Manchester City"]


def test_name_parts_keep_joined_words_particles_and_misc_numbers():
    assert _parts("Ata-ur-Rehman", "PER") == ["Ata-ur-Rehman"]
    assert _parts("Bank of Canada") == ["Bank of Canada"]
    assert _parts("Procter & Gamble") == ["Procter & Gamble"]
    assert _parts("de Villepin", "PER") == ["de Villepin"]
    assert _parts("FTSE 100", "MISC") == ["FTSE 100"]
    assert _parts("U.S. Open", "MISC") == ["U.S. Open"]


def _model_types(words: list[str], ents: list[tuple[int, int, str]]) -> list[tuple[str, str]]:
    """What ModelNer makes of a doc the English model labelled with `ents` (token spans, OntoNotes labels)."""
    doc = Doc(spacy.blank("en").vocab, words=words)
    doc.ents = [Span(doc, start, end, label=label) for start, end, label in ents]
    return [(doc.text[s.start : s.end], s.type) for s in with_line_names(ModelNer._spans(doc, "en"), doc.text)]


def test_a_place_followed_by_its_score_is_a_team():
    words = ["Sunderland", "1", "Wimbledon", "3"]
    assert _model_types(words, [(0, 4, "GPE")]) == [("Sunderland", "ORG"), ("Wimbledon", "ORG")]
    assert _model_types(["He", "flew", "to", "Antwerp", "."], [(3, 4, "GPE")]) == [("Antwerp", "LOC")]


def test_a_name_followed_by_a_bracketed_country_is_an_athlete():
    words = ["2.", "Claudia", "Mues", "(", "Germany", ")", "18.80"]
    ents = [(1, 3, "ORG"), (4, 5, "GPE")]
    assert _model_types(words, ents) == [("Claudia Mues", "PER"), ("Germany", "LOC")]
    words = ["Fabrizio", "Ravanelli", "(", "Middlesbrough", ")"]
    assert _model_types(words, [(0, 2, "PERSON"), (3, 4, "ORG")]) == [
        ("Fabrizio Ravanelli", "PER"),
        ("Middlesbrough", "ORG"),
    ]


def test_names_in_match_lines_and_standings_rows_are_teams_but_a_batsman_keeps_his_runs():
    assert _model_types(["Stranraer", "0", "Brechin", "1"], [(0, 1, "PERSON"), (2, 3, "PERSON")]) == [
        ("Stranraer", "ORG"),
        ("Brechin", "ORG"),
    ]
    words = ["Manchester", "United", "15", "7", "5", "3", "29"]
    assert _model_types(words, [(0, 2, "PERSON")]) == [("Manchester United", "ORG")]
    words = ["(", "Shaun", "Young", "113", ")", ";", "Victoria", "220"]
    assert _model_types(words, [(1, 3, "PERSON")]) == [("Shaun Young", "PER")]


def test_names_found_in_the_lead_are_also_found_past_the_models_cut():
    lead = "Prime Minister Jaume Pinos arrived in Taiz on Monday."
    text = lead + " The talks went on for hours. Later, Jaume Pinos and Pinosville officials left."
    spans = ModelNer(max_chars=len(lead) + 1).extract([text], "en")[0]
    names = [(text[s.start : s.end], s.type, s.start >= len(lead)) for s in spans]
    assert ("Jaume Pinos", "PER", False) in names
    assert ("Jaume Pinos", "PER", True) in names
    assert not any(name.startswith("Pinosville") for name, _, _ in names)


def test_teams_of_results_tables_are_organisations():
    text = "Standings:\nReading 22 7 5 10\nMontrose 2 Ross County 1\nWest Bromwich v Bolton\nReading is in Berkshire."
    spans = ModelNer(max_chars=1000).extract([text], "en")[0]
    teams = {text[s.start : s.end] for s in spans if s.type == "ORG"}
    assert {"Reading", "Montrose", "Ross County", "West Bromwich", "Bolton"} <= teams
    assert not any(s.type == "ORG" and s.start > text.index("is in") for s in spans)


def test_an_away_fixture_names_the_visiting_team_then_the_place():
    text = "Colorado at St Louis"
    spans = ModelNer(max_chars=1000).extract([text], "en")[0]
    assert [(text[s.start : s.end], s.type) for s in spans] == [("Colorado", "ORG"), ("St Louis", "LOC")]


def test_players_of_line_ups_are_people():
    text = "South Africa : 15 - Andre Joubert , 14 - James Small ; 8 - Gary Teichmann ."
    spans = ModelNer(max_chars=1000).extract([text], "en")[0]
    people = {text[s.start : s.end] for s in spans if s.type == "PER"}
    assert {"Andre Joubert", "James Small", "Gary Teichmann"} <= people


def test_places_of_datelines_are_locations():
    text = "MANCHESTER , England 1996-08-31\nTIGNES 1996-12-07\nMADRID (Reuters) - Talks resumed."
    spans = ModelNer(max_chars=1000).extract([text], "en")[0]
    places = {text[s.start : s.end] for s in spans if s.type == "LOC"}
    assert {"MANCHESTER", "England", "TIGNES", "MADRID"} <= places


def test_initials_with_a_surname_and_cricket_dismissals_are_people():
    words = ["J.", "Adams", "lbw", "b", "Moody", "5", ";", "S.", "Waugh", "spoke"]
    ents = [(4, 5, "ORG"), (7, 9, "ORG")]
    assert _model_types(words, ents) == [("J. Adams", "PER"), ("Moody", "PER"), ("S. Waugh", "PER")]


def test_nationality_words_are_misc_in_any_capitals_but_longer_names_keep_their_type():
    text = (
        "SOCCER - SCOTTISH LEAGUE .\nWelsh referee Derek Bevan met a Mexican and a South Korean."
        " American Airlines flew. They polish shoes."
    )
    spans = ModelNer(max_chars=1000).extract([text], "en")[0]
    by_text = {text[s.start : s.end]: s.type for s in spans}
    assert {by_text.get(word) for word in ("SCOTTISH", "Welsh", "Mexican", "South Korean")} == {"MISC"}
    assert "American" not in by_text
    assert "polish" not in by_text


def test_a_lone_surname_that_speaks_is_a_person_but_an_acronym_is_not():
    words = ["Rosati", "said", "that", "NATO", "said", "no", "."]
    assert _model_types(words, [(0, 1, "ORG"), (3, 4, "ORG")]) == [("Rosati", "PER"), ("NATO", "ORG")]


def test_a_market_index_is_misc():
    words = ["The", "Nasdaq", "composite", "index", "rose", "and", "Nasdaq", "hired", "."]
    assert _model_types(words, [(1, 2, "ORG"), (6, 7, "ORG")]) == [("Nasdaq", "MISC"), ("Nasdaq", "ORG")]


def test_a_name_after_club_or_team_is_the_club():
    words = ["Belgian", "club", "Standard", "Liege", "fined", "Marc", "Wilmots", "."]
    assert _model_types(words, [(2, 4, "PERSON"), (5, 7, "PERSON")]) == [
        ("Belgian", "MISC"),
        ("Standard Liege", "ORG"),
        ("Marc Wilmots", "PER"),
    ]


def test_a_bracketed_acronym_after_an_organisation_is_its_own():
    words = ["the", "Moro", "National", "Liberation", "Front", "(", "MNLF", ")", "and", "Mues", "(", "GER", ")"]
    ents = [(1, 5, "ORG"), (9, 10, "PERSON")]
    assert _model_types(words, ents) == [
        ("Moro National Liberation Front", "ORG"),
        ("MNLF", "ORG"),
        ("Mues", "PER"),
    ]


def test_a_name_ending_in_a_company_word_is_a_company():
    words = ["Pirelli", "SpA", "and", "Brewpole", "BV", "hired", "Ann", "Co", "."]
    assert _model_types(words, [(0, 2, "PERSON"), (3, 5, "GPE")]) == [("Pirelli SpA", "ORG"), ("Brewpole BV", "ORG")]


def test_line_shapes_are_read_past_the_models_cut():
    text = "The league table after Saturday's games is below.\nReading 22 7 5 10"
    spans = ModelNer(max_chars=30).extract([text], "en")[0]
    assert ("Reading", "ORG") in [(text[s.start : s.end], s.type) for s in spans]


def test_arabic_stems_lose_attached_prefixes_with_or_without_the_article():
    assert split_proclitics("وبالعراق") == ("وبال", "عراق")
    assert split_proclitics("للامم") == ("لل", "امم")
    assert split_proclitics("وواشنطن") == ("و", "واشنطن")
    assert split_proclitics("قال") == ("", "قال")  # three letters: nothing to take off
    assert split_proclitics("2002") == ("", "2002")


def test_arabic_affix_features_are_the_stem_and_its_edges():
    doc = ArabicFeatures(affixes=True)(spacy.blank("ar")("وبالعراق = |"))
    assert [(token.dep_, str(token.morph)) for token in doc] == [
        ("عراق", "C=وبال|P=عر|S=اق"),
        ("=", "C=-|P=_|S=_"),
        ("|", "C=-|P=_|S=_"),
    ]


def test_ensemble_members_keep_the_names_most_of_them_found():
    chirac, paris, wide = EntitySpan(0, 10, "PER"), EntitySpan(14, 19, "LOC"), EntitySpan(0, 19, "ORG")
    assert voted([[chirac, paris]]) == [chirac, paris]  # one model: as it is
    assert voted([[chirac, paris], [chirac], [wide]]) == [chirac]
    assert voted([[chirac], [EntitySpan(0, 10, "ORG")], [paris]]) == []  # same extent, another type: no majority
    assert voted([[wide], [wide, paris], [chirac, paris]]) == [wide]  # overlaps: more votes, then longer


def test_ensemble_members_share_the_feature_pass_and_find_what_each_finds_alone():
    members = arabic_pipelines(ARABIC_MODEL_DIR)
    assert len(members) == 3
    texts = ["وقال الرئيس الفرنسي جاك شيراك في باريس إن فرنسا تدعم القرار", "والتقى وزير الخارجية بنظيره في القاهرة"]
    shared = ModelNer(max_chars=2000)._member_docs(members, texts)
    alone = [[nlp(text) for text in texts] for nlp in members]
    assert [[[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs] for docs in shared] == [
        [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs] for docs in alone
    ]


def _gold_example(nlp, text: str, names: list[tuple[int, int, str]]) -> Example:
    doc = nlp.make_doc(text)
    doc.ents = [Span(doc, start, end, label) for start, end, label in names]
    return Example(nlp.make_doc(text), doc)


def test_name_readings_are_the_tag_each_stem_had_most_in_the_other_folds(tmp_path):
    nlp = spacy.blank("ar")
    examples = [
        _gold_example(nlp, "وصل زيدان الى مدريد", [(1, 2, "PER"), (3, 4, "LOC")]),
        _gold_example(nlp, "قال شيراك في باريس", [(1, 2, "PER"), (3, 4, "LOC")]),
        _gold_example(nlp, "زار شيراك باريس اليوم", [(1, 2, "PER"), (2, 3, "LOC")]),
        _gold_example(nlp, "مدينة باريس كبيرة", []),
    ]
    features = ArabicFeatures(affixes=True, training_names=True)
    features.initialize(lambda: examples)

    unseen = features(nlp.make_doc("والتقى زيدان وشيراك في باريس"))
    assert [token.ent_id_ for token in unseen] == ["", "B-PER", "B-PER", "O", "B-LOC"]
    # A training sentence reads the other folds only: زيدان is named in this sentence alone.
    assert features(nlp.make_doc("وصل زيدان الى مدريد"))[1].ent_id_ == ""

    features.to_disk(tmp_path)
    loaded = ArabicFeatures(affixes=True, training_names=True).from_disk(tmp_path)
    assert loaded(nlp.make_doc("وصل زيدان الى مدريد"))[1].ent_id_ == "B-PER"
    assert loaded.name_readings == features.name_readings


def test_a_stem_reads_as_its_most_frequent_tag_and_a_name_wins_a_tie():
    stem = 7
    assert name_readings([{stem: Counter({"O": 3, "B-ORG": 1})}, {stem: Counter({"B-ORG": 1})}]) == {stem: "O"}
    assert name_readings([{stem: Counter({"O": 1, "B-PER": 1})}]) == {stem: "B-PER"}


def test_word_frequencies_tell_common_words_from_rare_ones():
    doc = ArabicFeatures(word_frequencies=True)(spacy.blank("ar")("وقال شيراك في"))
    common, rare, very_common = (int(token.ent_kb_id_.split()[1]) for token in doc)
    assert rare == 0 < common < very_common
