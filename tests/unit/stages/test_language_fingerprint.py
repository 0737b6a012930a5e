import importlib

import pytest

from newsflow.stages.fingerprint import content_hash, folded_words
from newsflow.stages.language import UNDETERMINED, detect_document, detect_text

SENTENCES = {
    "en": "The central bank raised interest rates again on Thursday to fight inflation.",
    "ar": "رفع البنك المركزي أسعار الفائدة مرة أخرى يوم الخميس لمكافحة التضخم.",
    "fr": "La banque centrale a de nouveau relevé ses taux d'intérêt jeudi pour lutter contre l'inflation.",
    "de": "Die Zentralbank hat am Donnerstag die Zinsen erneut angehoben, um die Inflation zu bekämpfen.",
    "es": "El banco central volvió a subir los tipos de interés el jueves para combatir la inflación.",
    "ru": "Центральный банк в четверг снова повысил процентные ставки для борьбы с инфляцией.",
    "tr": "Merkez bankası enflasyonla mücadele etmek için perşembe günü faiz oranlarını yeniden artırdı.",
    "fa": "بانک مرکزی روز پنجشنبه بار دیگر نرخ بهره را برای مبارزه با تورم افزایش داد.",
    "zh": "中央银行周四再次提高利率以对抗通货膨胀。",
    "he": "הבנק המרכזי העלה שוב את הריבית ביום חמישי כדי להילחם באינפלציה.",
}


@pytest.mark.parametrize(("expected", "sentence"), SENTENCES.items())
def test_sentences_in_many_languages_are_labelled(expected, sentence):
    language, probability = detect_text(sentence)
    assert language == expected
    assert probability > 0.5


def test_mixed_document_gets_majority_language_and_the_list_present():
    text = "\n".join([SENTENCES["ar"], SENTENCES["ar"].replace("الخميس", "الأحد"), SENTENCES["en"]])
    language, confidence, present = detect_document(text, min_confidence=0.5)
    assert language == "ar"
    assert set(present) == {"ar", "en"}
    assert 0.5 <= confidence < 0.95


def test_gibberish_is_undetermined_rather_than_guessed():
    language, confidence, _ = detect_document("zxq vbnm qwrtp", min_confidence=0.5)
    assert language == UNDETERMINED
    assert confidence < 0.5


def test_content_hash_ignores_case_spacing_and_punctuation_but_not_words():
    original = "ISIS and al-Qaeda may merge, the FSB said.\n\nMore follows."
    reformatted = "isis  and al qaeda may merge the fsb said more follows"
    assert content_hash(folded_words(original)) == content_hash(folded_words(reformatted))
    assert content_hash(folded_words(original)) != content_hash(folded_words(original.replace("merge", "split")))


def test_folded_words_of_ascii_text_and_punctuation_are_those_of_any_other_text():
    ascii_text = "Al-Qaeda's  FSB_unit\tsaid: 42!\n"
    assert folded_words(ascii_text) == b"al qaeda s fsb_unit said 42"
    assert folded_words(ascii_text + "Straße ÉTÉ") == "al qaeda s fsb_unit said 42 strasse été".encode()
    assert folded_words("“Al-Qaeda’s—FSB…”") == b"al qaeda s fsb"
    assert folded_words("“Al-Qaeda’s—ÉTÉ…”") == "al qaeda s été".encode()
    assert folded_words("") == folded_words(" -- ") == b""


# Languages of international news; their sentences are spaCy's own examples (installed with spaCy,
# written by others), so the check is not tuned to text chosen here.
NEWS_LANGUAGES = [
    *("en", "ar", "fr", "de", "es", "ru", "tr", "fa", "zh", "he", "it", "pt", "nl", "pl", "uk"),
    *("el", "hi", "ja", "ko", "vi", "sv", "da", "fi", "cs", "ro", "hu", "ur", "ta", "bn"),
]


@pytest.mark.parametrize("language", NEWS_LANGUAGES)
def test_example_sentences_of_many_languages_are_labelled(language):
    sentences = importlib.import_module(f"spacy.lang.{language}.examples").sentences
    labels = [detect_text(sentence)[0] for sentence in sentences]
    assert sum(label == language for label in labels) >= 0.8 * len(sentences), labels
