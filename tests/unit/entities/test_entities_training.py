"""How `newsflow entities train-ar` sets up the members of the Arabic ensemble."""

from newsflow.entities.training import CONFIG_PATH, EMBED, FIRST_MEMBER_FEATURES, member_overrides


def test_only_the_first_member_reads_the_corpus_name_tags_and_word_frequencies():
    assert member_overrides(CONFIG_PATH, 0) == {}
    others = member_overrides(CONFIG_PATH, 1)
    assert others == member_overrides(CONFIG_PATH, 2)
    attrs, rows = others[f"{EMBED}.attrs"], others[f"{EMBED}.rows"]
    assert len(attrs) == len(rows)
    assert "NORM" in attrs and "MORPH" in attrs and not FIRST_MEMBER_FEATURES & set(attrs)
