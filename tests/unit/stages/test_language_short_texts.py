import pytest
import wordfreq

from newsflow.stages import language
from newsflow.stages.language import detect_document, detect_text, language_probabilities


@pytest.mark.parametrize("pair", ["rising prices", "peace talks", "heavy rain", "stock markets", "the minister"])
def test_short_english_pairs_are_english(pair):
    assert detect_text(pair)[0] == "en"


@pytest.mark.parametrize(
    ("pair", "expected"),
    [("el gobierno", "es"), ("harga minyak", "id"), ("die regierung", "de"), ("le gouvernement", "fr")],
)
def test_short_pairs_of_other_languages_are_theirs(pair, expected):
    assert language_probabilities(pair).get("en", 0.0) < 0.3
    assert detect_text(pair)[0] == expected


def test_word_frequencies_move_probability_between_candidates_without_adding_any():
    model_only = [("es", 0.6), ("en", 0.3), ("la", 0.1)]  # Latin has no word list
    weighed = language._weighed_by_word_frequencies("brilliant canopy", model_only)
    scores = dict(weighed)
    assert max(scores, key=scores.__getitem__) == "en"
    assert sum(scores.values()) == pytest.approx(1.0)
    # A language without a list is not pushed down with the one the words contradict.
    assert scores["la"] > scores["es"]


def test_words_no_list_knows_leave_the_model_as_it_was():
    model_only = [("de", 0.5), ("nl", 0.3), ("en", 0.2)]
    weighed = dict(language._weighed_by_word_frequencies("qwzxv vbnmq", model_only))
    assert weighed == pytest.approx(dict(model_only))


def test_word_frequencies_do_not_move_long_texts():
    sentence = (
        "The central bank kept its key interest rate unchanged on Thursday, citing slowing inflation "
        "and a weaker outlook for exports."
    )
    model_only = [("en", 0.7), ("fr", 0.3)]
    assert language._weighed_by_word_frequencies(sentence, model_only) == model_only
    assert detect_text(sentence)[0] == "en"


@pytest.mark.parametrize(("word", "expected"), [("وظائف", "ar"), ("بانتظام", "ar"), ("هولندا", "ar")])
def test_arabic_words_the_letters_leave_open_are_settled_by_frequency(word, expected):
    assert detect_text(word)[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مكتبة", "ar"),  # ta marbuta: Arabic
        ("يتحدث", "ar"),  # Arabic ya
        ("کتابی", "fa"),  # Persian kaf and ya
        ("پدر", "fa"),  # pe: never Arabic
        ("گفتگو کرد", "fa"),
        ("بڑے شہر", "ur"),  # retroflex ڑ and Urdu he: Urdu, neither Arabic nor Persian
    ],
)
def test_arabic_script_letters_settle_arabic_persian_and_urdu(text, expected):
    assert detect_text(text)[0] == expected


def test_letters_that_disagree_leave_the_choice_to_the_model():
    # Arabic ي next to Persian گ: no letter rule applies, the model's candidates stay as they were.
    probabilities = language_probabilities("گيلان")
    assert set(probabilities) & {"fa", "ar"}


def test_mixed_language_document_lists_both_languages():
    text = (
        "The foreign ministers met in Riyadh on Monday to discuss the security of shipping in the Gulf.\n"
        "قال وزير الخارجية في مؤتمر صحفي إن الاجتماع بحث أمن الملاحة في الخليج والتعاون بين الدول.\n"
        "They agreed to meet again next month in Muscat, officials said after the talks."
    )
    language, _, present = detect_document(text, 0.5)
    assert language == "en"
    assert set(present) == {"en", "ar"}


@pytest.mark.parametrize("gibberish", ["qwzx vbnm", "zzkt wqop", "ptkq"])
def test_gibberish_is_undetermined(gibberish):
    assert detect_document(gibberish, 0.5)[0] == "und"


@pytest.mark.parametrize("hint", ["es", "es-ES", "ES_mx"])
def test_a_declared_language_settles_a_torn_short_text(hint):
    without, with_hint = language_probabilities("precio final"), language_probabilities("precio final", hint)
    assert with_hint["es"] > without["es"]
    assert sum(with_hint.values()) == pytest.approx(sum(without.values()))


def test_a_declared_language_does_not_outweigh_a_sure_model():
    sentence = "Les ministres des affaires étrangères se sont réunis lundi pour discuter de la sécurité."
    assert detect_text(sentence, hint="en")[0] == "fr"


def test_the_declared_language_reaches_the_paragraphs_of_a_document():
    language, _, _ = detect_document("precio final", 0.3, hint="es")
    assert language == "es"


@pytest.mark.parametrize(
    ("word", "code"), [("government", "en"), ("Regierung", "de"), ("Straße", "de"), ("الحكومة", "ar"), ("don't", "en")]
)
def test_compact_word_lists_give_wordfreqs_frequencies(word, code):
    expected = wordfreq.word_frequency(word, code, wordlist=language.WORD_LIST)
    assert expected > 0
    assert language._WordList(code).frequency(word) == pytest.approx(expected, rel=0.01)


def test_an_unlisted_word_gets_a_tenth_of_the_lists_smallest_frequency():
    word_list = language._WordList("en")
    smallest = min(wordfreq.get_frequency_dict("en", language.WORD_LIST).values())
    assert word_list.frequency("qwzxvbnm") == pytest.approx(smallest * language.UNLISTED_WORD_SHARE)
