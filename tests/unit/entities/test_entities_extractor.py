"""EntityExtractor: merging table and model, user files, batches, caps; CoNLL scoring; transliteration."""

import pytest
import yaml
from typer import Typer
from typer.testing import CliRunner

from newsflow.cli.entities import extend_aliases
from newsflow.entities.eval import evaluate_ner, iob_spans
from newsflow.entities.extractor import EntityExtractor, unknown_entity_key
from newsflow.entities.ner import EntitySpan
from newsflow.entities.transliterate import transliterate
from newsflow.errors import ConfigError
from newsflow.settings import Settings


class FixedModel:
    """Stands in for ModelNer: returns the given spans for every text."""

    def __init__(self, *spans: EntitySpan) -> None:
        self.spans = list(spans)

    def extract(self, texts, language):
        return [self.spans for _ in texts]


def extractor_with(model: FixedModel, **settings) -> EntityExtractor:
    extractor = EntityExtractor(Settings(entities_model_ner=False, **settings))
    extractor.model = model
    return extractor


def span_of(text: str, surface: str, entity_type: str) -> EntitySpan:
    start = text.index(surface)
    return EntitySpan(start, start + len(surface), entity_type)


def merged(text: str, language: str, *model_spans: EntitySpan) -> list[tuple[str, str, str, str]]:
    """(surface, type, entity id, source) of each mention the extractor keeps when the model finds `model_spans`."""
    mentions = extractor_with(FixedModel(*model_spans)).extract([text], language)[0]
    return [(m.text, m.type, m.entity_id, m.source) for m in mentions]


def test_table_wins_over_an_overlapping_model_mention_and_unknown_names_get_a_key():
    text = "Islamic State fighters met Yuri Ushakov in Kaliningrad."
    spans = span_of(text, "Islamic State fighters", "LOC"), span_of(text, "Yuri Ushakov", "PER")
    assert merged(text, "en", *spans) == [
        ("Islamic State", "ORG", "org:islamic-state", "table"),
        ("Yuri Ushakov", "PER", "per:yuri-ushakov", "model"),
        ("Kaliningrad", "LOC", "loc:kaliningrad", "table"),
    ]


def test_a_team_read_from_a_results_table_wins_over_the_place_in_the_table():
    text = "Kaliningrad 2 Yuri Ushakov 1"
    team = text.index("Kaliningrad")
    # Not the city's id: the club is another entity.
    assert merged(text, "en", EntitySpan(team, team + len("Kaliningrad"), "ORG", by_layout=True)) == [
        ("Kaliningrad", "ORG", "org:kaliningrad", "model")
    ]


def test_a_model_name_around_a_table_name_is_another_entity():
    text = "Real Madrid beat a team from Kaliningrad; ريال مدريد فاز"
    model = FixedModel(span_of(text, "Real Madrid", "ORG"), span_of(text, "ريال مدريد", "ORG"))
    mentions = extractor_with(model).extract([text], "en")[0]
    assert [(m.text, m.type, m.source) for m in mentions] == [
        ("Real Madrid", "ORG", "model"),
        ("Kaliningrad", "LOC", "table"),
        ("ريال مدريد", "ORG", "model"),
    ]


def test_model_mentions_whose_surface_is_an_alias_get_the_table_id_and_type():
    # The table needs a word start, so it skips the glued "antiISIS"; the model's span there reads as an alias.
    # (English: the Arabic model keeps its own type, see below.)
    text = "an antiISIS rally and جوتشولك"
    model = FixedModel(span_of(text, "ISIS", "LOC"), span_of(text, "جوتشولك", "PER"))
    by_text = {m.text: m for m in extractor_with(model).extract([text], "en")[0]}
    assert (by_text["ISIS"].entity_id, by_text["ISIS"].type, by_text["ISIS"].source) == (
        "org:islamic-state",
        "ORG",
        "model",
    )
    assert by_text["جوتشولك"].entity_id == "per:جوتشولك"


def test_unknown_keys_are_language_normalised():
    assert unknown_entity_key("Sergei Shoigu", "PER") == "per:sergei-shoigu"
    assert unknown_entity_key("Erdoğan's", "PER") == "per:erdogan"
    assert unknown_entity_key("والكرملين", "ORG") == unknown_entity_key("الكرملين", "ORG") == "org:الكرملين"
    assert unknown_entity_key("وليد", "PER") == "per:وليد"  # و can belong to the name: kept without the article


def test_a_user_file_adds_and_replaces_entities_without_code(tmp_path):
    user_file = tmp_path / "mine.yaml"
    user_file.write_text(
        yaml.safe_dump(
            [
                {"id": "per:jaume-pinos", "type": "PER", "labels": {"en": "Jaume Pinos", "ar": "خاومي بينوس"}},
                {"id": "loc:moscow", "type": "LOC", "labels": {"en": "Moskva"}},
            ],
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    jsonl_file = tmp_path / "more.jsonl"
    jsonl_file.write_text('{"id": "org:soufan-group", "type": "ORG", "labels": {"en": "Soufan Group"}}\n')
    extractor = EntityExtractor(Settings(entities_model_ner=False, entity_files=[user_file, jsonl_file]))
    text = "Jaume Pinos (خاومي بينوس) of the Soufan Group spoke in Moskva, not Moscow."
    found = [(m.text, m.entity_id) for m in extractor.extract([text], "en")[0]]
    assert found == [
        ("Jaume Pinos", "per:jaume-pinos"),
        ("خاومي بينوس", "per:jaume-pinos"),
        ("Soufan Group", "org:soufan-group"),
        ("Moskva", "loc:moscow"),
    ]


def test_a_bad_user_file_is_a_config_error_naming_it(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {id: 'per:x', type: ORG, labels: {en: X}}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml, record 1"):
        EntityExtractor(Settings(entities_model_ner=False, entity_files=[bad]))


def test_annotate_fills_articles_per_language_and_respects_the_cap(make_article):
    articles = [
        make_article("ISIS and al-Qaeda, ISIS and al-Qaeda.", "en"),
        make_article("داعش والقاعدة", "ar"),
        make_article("", "en"),
        make_article("Daesh et al-Qaïda", "fr"),
    ]
    extractor = extractor_with(FixedModel(), max_entities_per_document=3)
    extractor.annotate(articles)
    assert [len(a.entities) for a in articles] == [3, 2, 0, 2]  # al-Qaïda folds to al-Qaida
    assert {m.entity_id for a in articles for m in a.entities} == {"org:islamic-state", "org:al-qaeda"}


def test_entities_disabled_leaves_articles_alone(make_article):
    article = make_article("ISIS", "en")
    EntityExtractor(Settings(entities_enabled=False)).annotate([article])
    assert article.entities == []


def test_conll_scores_count_exact_spans_and_types_only():
    assert iob_spans(["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-ORG"]) == {
        (0, 2, "PER"),
        (3, 4, "LOC"),
        (4, 5, "LOC"),
        (5, 6, "ORG"),
    }
    rows = [{"tokens": ["وقال", "ولافروف", "في", "موسكو", "اليوم"], "tags": ["O", "B-PER", "O", "B-LOC", "O"]}]
    # ولافروف starts at 5; a span without the prefix (6..12) still maps to token 1. موسكو typed ORG is wrong.
    result = evaluate_ner(rows, "ar", FixedModel(EntitySpan(6, 12, "PER"), EntitySpan(16, 21, "ORG")))
    assert result["overall"] | {} == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "correct": 1,
        "predicted": 2,
        "gold": 2,
    }
    assert result["per_type"]["PER"]["f1"] == 1.0
    assert result["per_type"]["LOC"]["recall"] == 0.0


def test_transliteration_drafts_arabic_spellings():
    assert transliterate("Lavrov") == ["لافروف"]
    assert transliterate("Bortnikov") == ["بورتنيكوف"]
    assert transliterate("Sergei Shoigu") == ["سيرغي شويغو", "سيرجي شويجو"]


def test_extend_command_drafts_sorted_records_and_skips_known_ids(tmp_path):
    app = Typer()
    app.command()(extend_aliases)
    output = tmp_path / "drafts.yaml"
    result = CliRunner().invoke(app, ["Yuri Ushakov", "Sergey Lavrov", "--type", "PER", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "skipped Sergey Lavrov" in result.output
    [record] = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert record["id"] == "per:yuri-ushakov"
    assert record["labels"] == {"en": "Yuri Ushakov", "ar": "يوري أوشاكوف"}


def test_arabic_model_names_win_over_the_table_it_has_read_and_known_names_keep_their_ids():
    # The Arabic model takes the table's matches as features: where its span differs, the context
    # decided ("نادي موسكو" is a club, not the city); a name the table knows keeps its canonical id
    # and type even when the model typed it otherwise.
    text = "زار وفد من نادي موسكو ومصر"
    assert merged(text, "ar", span_of(text, "نادي موسكو", "ORG"), span_of(text, "ومصر", "ORG")) == [
        ("نادي موسكو", "ORG", "org:نادي-موسكو", "model"),
        ("ومصر", "LOC", "loc:egypt", "model"),
    ]


def test_the_table_still_adds_arabic_names_the_model_left_out():
    text = "زار الوفد موسكو"
    mentions = extractor_with(FixedModel()).extract([text], "ar")[0]
    assert [(m.text, m.entity_id, m.source) for m in mentions] == [("موسكو", "loc:moscow", "table")]
