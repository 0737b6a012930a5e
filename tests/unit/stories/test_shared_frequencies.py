"""Story rarity weights shared by several workers: pending changes, merged counts, the bound, the steps."""

import math
from collections import Counter

from newsflow.stories.scoring import MAX_STEP_ARTICLES, DocumentFrequencies, bounded_counts, merged_counts


def flush(frequencies: DocumentFrequencies, store: dict) -> None:
    """What the worker's edge does (es/learned.py), with a dict as the store."""
    documents, counts = frequencies.pending_changes()
    store["documents"] = store.get("documents", 0) + documents
    store["counts"] = merged_counts(store.get("counts", {}), counts, frequencies.max_keys)
    frequencies.acknowledge(documents, counts)
    frequencies.restore_merged(store["documents"], store["counts"])


def test_two_workers_share_one_count_of_every_article():
    store: dict = {}
    first, second = DocumentFrequencies(record_changes=True), DocumentFrequencies(record_changes=True)
    first.add(["e:egypt", "en:minist"])
    first.add(["e:egypt", "n:125"])
    second.add(["e:egypt", "e:bortnikov"])
    flush(first, store)
    flush(second, store)
    flush(first, store)
    assert store == {"documents": 3, "counts": Counter({"e:egypt": 3, "en:minist": 1, "n:125": 1, "e:bortnikov": 1})}
    assert first.idf("e:bortnikov") == second.idf("e:bortnikov") > first.idf("e:egypt") == 1.0


def test_a_restarted_worker_starts_with_the_stored_weights():
    store: dict = {}
    warm = DocumentFrequencies(record_changes=True)
    for number in range(10):
        warm.add(["e:egypt", f"n:{number}"])
    flush(warm, store)
    restarted = DocumentFrequencies(record_changes=True)
    restarted.restore_merged(store["documents"], store["counts"])
    assert restarted.idf("n:3") == warm.idf("n:3") > restarted.idf("e:egypt")
    assert restarted.pending_changes() == (0, Counter())


def test_changes_added_during_a_flush_stay_pending_and_count_in_the_weights():
    frequencies = DocumentFrequencies(record_changes=True)
    frequencies.add(["e:egypt"])
    documents, counts = frequencies.pending_changes()
    frequencies.add(["e:egypt", "n:125"])  # while the flush runs
    frequencies.acknowledge(documents, counts)
    assert frequencies.pending_changes() == (1, Counter({"e:egypt": 1, "n:125": 1}))
    frequencies.restore_merged(5, {"e:egypt": 4})
    assert frequencies.documents == 6
    assert frequencies.idf("e:egypt") == math.log(7 / 6) + 1  # in 4 stored articles and the pending one
    assert frequencies.idf("n:125") == math.log(7 / 2) + 1


def test_counts_stay_within_the_bound_singletons_first():
    counts = Counter({"a": 5, "b": 1, "c": 2, "d": 1, "e": 3})
    assert bounded_counts(Counter(counts), 5) == counts
    assert bounded_counts(Counter(counts), 3) == Counter({"a": 5, "c": 2, "e": 3})
    assert bounded_counts(Counter(counts), 2) == Counter({"a": 5, "e": 3})
    assert merged_counts({"a": 1, "b": 1}, {"a": 1, "c": 1}, 2) == Counter({"a": 2})


def test_frequencies_not_shared_record_no_changes():
    frequencies = DocumentFrequencies()
    frequencies.add(["e:egypt"])
    assert frequencies.pending_changes() == (0, Counter())


def test_idf_of_many_keys_follows_every_added_article_among_the_first_hundred():
    frequencies = DocumentFrequencies()
    keys = ["e:egypt", "n:125", "en:minist", "en:unseen"]
    for added in (["e:egypt", "n:125"], ["e:egypt"], ["en:minist", "e:egypt"]):
        before = list(frequencies.idfs(keys))
        frequencies.add(added)
        after = list(frequencies.idfs(keys))
        assert after == [frequencies.idf(key) for key in keys] != before
    assert frequencies.idf("e:egypt") == 1.0
    assert frequencies.idf("en:unseen") == math.log(4) + 1


def test_past_the_first_hundred_keys_are_weighed_by_the_counts_at_the_last_step():
    frequencies = DocumentFrequencies()
    for _ in range(200):
        frequencies.add(["e:egypt"])
    version = frequencies.version
    frequencies.add(["n:125"])  # 201 articles: the next step is 1 % (2 articles) after the one at 200
    assert frequencies.version is version
    assert frequencies.idf("n:125") == math.log(201) + 1  # unseen at the step
    assert list(frequencies.idfs(["n:125", "e:egypt"])) == [math.log(201) + 1, 1.0]
    frequencies.add(["n:125"])
    assert frequencies.version is not version
    assert frequencies.idf("n:125") == math.log(203 / 3) + 1
    assert frequencies.idf("e:egypt") == math.log(203 / 201) + 1


def test_steps_are_at_most_max_step_articles_apart():
    frequencies = DocumentFrequencies()
    frequencies.restore_merged(1_000_000, {"e:egypt": 1000})  # 1 % would be 10,000 articles
    version = frequencies.version
    for _ in range(MAX_STEP_ARTICLES - 1):
        frequencies.add(["e:egypt"])
    assert frequencies.version is version and frequencies.idf("e:egypt") == math.log(1_000_001 / 1001) + 1
    frequencies.add(["e:egypt"])
    assert frequencies.version is not version
    assert frequencies.idf("e:egypt") == math.log((1_000_001 + MAX_STEP_ARTICLES) / (1001 + MAX_STEP_ARTICLES)) + 1


def test_forgetting_keys_takes_a_step():
    frequencies = DocumentFrequencies(max_keys=3)
    for _ in range(300):
        frequencies.add(["e:egypt", "n:125"])
    version = frequencies.version
    frequencies.add(["en:one", "en:two"])  # four keys: those seen once go
    assert frequencies.version is not version
    assert len(frequencies) == 2 and frequencies.idf("en:one") == math.log(302) + 1
