from newsflow.evaluation.stories import learned_frequencies, pair_articles, placed_in_one_stream
from newsflow.settings import Settings

RAID = (
    "Iraqi forces raided a militant hideout near the Mosul dam on Tuesday, killing 14 fighters.\n\n"
    "The operation near the Mosul dam followed weeks of attacks on the dam's guards, officials said."
)
RAID_AGAIN = (
    "Iraqi forces killed 14 militants in a raid on a hideout near the Mosul dam on Tuesday.\n\n"
    "Officials said the raid near the Mosul dam followed weeks of attacks on its guards."
)
FINAL = (
    "Real Madrid beat Valencia 3-1 in the cup final in Seville on Saturday night.\n\n"
    "Valencia's coach said his team had lost the final in the first half."
)


def row(pair_id: str, first: tuple[str, str], second: tuple[str, str], label: bool) -> dict:
    (title1, text1), (title2, text2) = first, second
    return {"id": pair_id, "title1": title1, "text1": text1, "title2": title2, "text2": text2, "label": label}


def test_each_distinct_article_is_placed_once_and_pairs_are_read_from_the_stories():
    raid = ("Iraqi forces raid militant hideout near Mosul dam", RAID)
    raid_again = ("Raid near Mosul dam kills 14 militants", RAID_AGAIN)
    final = ("Real Madrid win the cup final in Seville", FINAL)
    # The raid article is in both pairs: one article of the stream, as in the data (an article in several pairs).
    rows = [row("a", raid, raid_again, True), row("b", raid, final, False), row("c", final, raid_again, False)]
    settings = Settings(entities_model_ner=False, story_embeddings=False)
    articles = pair_articles(rows, settings)
    counts, stories, ms_per_article = placed_in_one_stream(rows, articles, settings, learned_frequencies(articles))
    assert stories == 2
    assert (counts.pairs, counts.true_positive, counts.false_positive, counts.false_negative) == (3, 1, 0, 0)
    assert ms_per_article > 0
