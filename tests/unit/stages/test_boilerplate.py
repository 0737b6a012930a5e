import re

import pytest

from newsflow import paths
from newsflow.models import Article, SourceMessage
from newsflow.settings import Settings
from newsflow.stages.boilerplate import SENTENCE_END, BoilerplateLearner, BoilerplateRemover, line_key
from newsflow.stages.normalise import normalise_text
from tests.outlet_chrome import BODIES, FOOTER, with_footer

SEEDS = paths.project_root().parent / "shared" / "seeds"
SEED_TITLES = {
    "000": "Moscow: Signs of ISIS, Qaeda ‘Imminent Merger’ Detected",
    "001": "Daesh Seeks Partnership With Al-Qaeda to Prolong Reign of Terror in Iraq",
    "002": "موسكو: داعش يسعى للوحدة مع ”النصرة ”والقاعدة",
    "003": "موسكو تحذّر العالم من إندماج القاعدة وداعش خلال اجتماع لأجهزتها الأمنية",
    "004": "Russia, US Should Join Together to Repel Deadly Threat",
}

NEWS_PAGE = "\n".join(
    [
        "Home",
        "World",
        "Business",
        "Sport",
        "Log in",
        "Register",
        (
            "We use cookies to improve your experience on our website. By continuing to browse, you agree to "
            "our use of cookies."
        ),
        "Search",
        "",
        "Port strike halts grain exports for a third day",
        "By Jane Doe | 12 March 2026 | 14:05",
        "Share on Facebook | Share on X | Email",
        "",
        (
            "Dock workers at the country's largest port extended their strike on Wednesday, leaving dozens "
            "of grain ships waiting offshore as talks with the port authority stalled."
        ),
        "",
        (
            "The union is demanding a 12 percent pay rise and an end to temporary contracts, which it says "
            "now cover almost half of the workforce."
        ),
        "Trucks wait outside the closed terminal gates",
        "© Reuters / John Smith",
        (
            "Officials at the agriculture ministry said the delays were already costing exporters several "
            "million dollars a day in penalties and storage fees."
        ),
        "",
        (
            '"We are ready to sign tonight if the authority moves on contracts," the union leader told '
            "reporters outside the terminal."
        ),
        "",
        "Related stories",
        "Grain Prices Jump As Port Dispute Drags On",
        "Exporters Seek Compensation For Delays",
        "Tags: strike, ports, grain, exports, unions",
        "0 comments",
        "Sign up for our morning newsletter and never miss a story.",
        "Facebook Twitter WhatsApp Telegram",
        "© 2026 Example Media. All rights reserved.",
        "Privacy Policy | Terms of Use | Contact us",
    ]
)

NEWS_PAGE_ARTICLE = [
    "Port strike halts grain exports for a third day",
    "Dock workers at the country's largest port",
    "The union is demanding",
    "Officials at the agriculture ministry",
    '"We are ready to sign tonight',
]

ARABIC_PAGE = "\n".join(
    [
        "الرئيسية",
        "أخبار",
        "اقتصاد",
        "تسجيل الدخول",
        "ارتفاع أسعار القمح في الأسواق المحلية",
        (
            "أعلنت وزارة التموين يوم الأربعاء عن زيادة جديدة في أسعار القمح المستورد، بسبب تأخر الشحنات في "
            "الموانئ وارتفاع تكاليف النقل البحري."
        ),
        (
            "وقال مسؤول في الوزارة إن الحكومة تدرس خططا لدعم المخابز الصغيرة حتى لا ترتفع أسعار الخبز على "
            "المواطنين خلال الأشهر المقبلة."
        ),
        (
            "وأضاف أن المخزون الاستراتيجي يكفي لمدة أربعة أشهر، مشيرا إلى أن مفاوضات تجري مع عدد من الدول "
            "المصدرة لتأمين شحنات إضافية."
        ),
        "تابعونا على فيسبوك وتويتر",
        "اقرأ أيضا",
        "جميع الحقوق محفوظة © 2026",
    ]
)

ARABIC_BODY_STARTS = ["ارتفاع أسعار القمح", "أعلنت وزارة التموين", "وقال مسؤول في الوزارة", "وأضاف أن المخزون"]


def make_article(text: str, title: str = "", outlet: str = "Example", article_id: str = "a1") -> Article:
    return Article(
        id=article_id,
        url=f"https://example.com/{article_id}",
        canonical_url=f"https://example.com/{article_id}",
        outlet=outlet,
        title=title,
        body=text,
        content_type="text/plain",
        published_at=None,
        source=SourceMessage(b"", None, "t", 0, 0),
        text=text,
    )


def remover(**overrides) -> BoilerplateRemover:
    return BoilerplateRemover(Settings(**overrides))


def lines_of(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def sentence_lines(text: str) -> list[str]:
    """Lines that carry a sentence: at least five words and final sentence punctuation."""
    return [line for line in lines_of(text) if len(line.split()) >= 5 and line.rstrip("\"'”’»)] ")[-1:] in SENTENCE_END]


def test_news_page_keeps_the_article_and_drops_the_chrome():
    article = remover().clean(make_article(NEWS_PAGE, title=NEWS_PAGE_ARTICLE[0]))
    kept = lines_of(article.text)
    assert len(kept) == len(NEWS_PAGE_ARTICLE)
    for line, start in zip(kept, NEWS_PAGE_ARTICLE, strict=True):
        assert line.startswith(start)
    assert article.boilerplate_lines_removed == len(lines_of(NEWS_PAGE)) - len(NEWS_PAGE_ARTICLE)


def test_headline_is_kept_without_a_title_when_the_body_follows_it():
    text = NEWS_PAGE.replace("By Jane Doe | 12 March 2026 | 14:05\nShare on Facebook | Share on X | Email\n", "")
    kept = lines_of(remover().clean(make_article(text)).text)
    assert kept[0] == NEWS_PAGE_ARTICLE[0]


def test_arabic_article_keeps_its_body():
    article = remover().clean(make_article(ARABIC_PAGE, title="ارتفاع أسعار القمح في الأسواق المحلية"))
    kept = lines_of(article.text)
    assert len(kept) == len(ARABIC_BODY_STARTS)
    for line, start in zip(kept, ARABIC_BODY_STARTS, strict=True):
        assert line.startswith(start)


@pytest.mark.parametrize("text", ["The cabinet approved the budget on Tuesday.", "Breaking", "Live\nSearch"])
def test_tiny_bodies_are_kept_whole(text):
    article = remover().clean(make_article(text))
    assert article.text == text
    assert article.boilerplate_lines_removed == 0


def test_paragraph_structure_is_kept():
    text = (
        "Intro line of the piece that is long enough to be prose, says the author.\n\n"
        "Second paragraph of it, also a full sentence here."
    )
    assert remover().clean(make_article(text)).text == text


def test_html_articles_and_disabled_setting_are_left_alone():
    html_article = make_article(NEWS_PAGE)
    html_article.content_type = "text/html"
    assert remover().clean(html_article).text == NEWS_PAGE
    assert remover(boilerplate_enabled=False).clean(make_article(NEWS_PAGE)).text == NEWS_PAGE


# --- per-outlet learning -------------------------------------------------------------------------


def test_footer_repeated_by_an_outlet_is_learned_and_removed():
    clean = remover(boilerplate_min_outlet_repeats=3)
    first = clean.clean(make_article(with_footer(BODIES[0]), outlet="Courier", article_id="c0"))
    assert FOOTER in first.text  # one article alone cannot tell this footer from the article
    for number, body in enumerate(BODIES[1:3], start=1):
        clean.clean(make_article(with_footer(body), outlet="Courier", article_id=f"c{number}"))
    fourth = clean.clean(make_article(with_footer(BODIES[3]), outlet="Courier", article_id="c3"))
    assert FOOTER not in fourth.text
    assert lines_of(fourth.text) == lines_of(BODIES[3])
    assert fourth.boilerplate_lines_removed == 1
    other_outlet = clean.clean(make_article(with_footer(BODIES[3]), outlet="Gazette", article_id="g0"))
    assert FOOTER in other_outlet.text


@pytest.mark.parametrize(
    "line",
    ["Subscribe to our newsletter!", "Updated 12:05, 3 March 2024", "foo_bar\tbaz--QUX 007", "x", "", "... | ..."],
)
def test_an_ascii_line_has_the_key_of_its_words(line):
    # ASCII lines take a faster path; a non-ASCII space (not a word character) sends the line down the other.
    assert line_key(line) == line_key(line + "\u00a0")
    assert line_key(line) == line_key(line.upper().replace("0", "9").replace(" ", "  "))


def test_line_keys_stay_those_the_shared_state_holds():
    assert line_key("Updated 12:05, 3 March 2024") == "f629d12a4243ade7"
    assert line_key("تحديث 12:05، 3 مارس 2024") == "4ee7fd0b890f09d8"


def test_redelivered_article_counts_once():
    clean = remover(boilerplate_min_outlet_repeats=2)
    for _ in range(3):
        clean.clean(make_article(with_footer(BODIES[0]), outlet="Courier", article_id="same"))
    assert FOOTER in clean.clean(make_article(with_footer(BODIES[1]), outlet="Courier", article_id="next")).text


def test_republished_article_keeps_its_body():
    clean = remover(boilerplate_min_outlet_repeats=2)
    for number in range(3):
        clean.clean(make_article(with_footer(BODIES[0]), outlet="Courier", article_id=f"copy{number}"))
    copy = clean.clean(make_article(with_footer(BODIES[0]), outlet="Courier", article_id="copy-last"))
    assert lines_of(BODIES[0])[0] in copy.text and lines_of(BODIES[0])[1] in copy.text


def test_learner_memory_is_bounded():
    learner = BoilerplateLearner(min_repeats=2, max_outlets=2, max_lines_per_outlet=10, horizon_articles=3)
    for outlet in ("a", "b", "c"):
        learner.observe(outlet, "1", ["k"])
        learner.observe(outlet, "2", ["k"])
    assert not learner.is_repeated("a", "k")  # least recently active outlet forgotten
    assert learner.is_repeated("c", "k")
    learner.observe("c", "3", [f"line{i}" for i in range(20)])
    assert len(learner.to_snapshot()["outlets"][-1]["lines"]) == 10
    for number in range(4, 8):
        learner.observe("c", str(number), ["other"])
    assert not learner.is_repeated("c", "k")  # beyond the horizon


def test_learner_keeps_an_articles_last_lines_when_over_its_bound_whatever_the_hash_seed():
    # Lines are counted in the article's order, so the bound drops its first lines, not a set's arbitrary ones.
    learner = BoilerplateLearner(min_repeats=1, max_outlets=2, max_lines_per_outlet=5, horizon_articles=10)
    lines = [f"line {i}" for i in range(12)] + ["", "line 11"]
    learner.observe("a", "1", lines)
    assert [key for key, _, _ in learner.to_snapshot()["outlets"][0]["lines"]] == lines[7:12]


def test_learner_snapshot_round_trip():
    learner = BoilerplateLearner(min_repeats=2, max_outlets=10, max_lines_per_outlet=100, horizon_articles=50)
    learner.observe("Courier", "1", ["footer", "one"])
    learner.observe("Courier", "2", ["footer", "two"])
    restored = BoilerplateLearner(min_repeats=2, max_outlets=10, max_lines_per_outlet=100, horizon_articles=50)
    restored.restore(learner.to_snapshot())
    assert restored.to_snapshot() == learner.to_snapshot()
    assert restored.is_repeated("Courier", "footer") and not restored.is_repeated("Courier", "one")
    with pytest.raises(ValueError, match="snapshot"):
        restored.restore({"format": "something else"})


# --- shared by several workers: pending changes merged into the stored state -------------------


def shared_learner(**bounds: int) -> BoilerplateLearner:
    limits = {"min_repeats": 2, "max_outlets": 10, "max_lines_per_outlet": 100, "horizon_articles": 50} | bounds
    return BoilerplateLearner(**limits, record_changes=True)


def flush(learner: BoilerplateLearner, store: dict[str, dict]) -> None:
    """What the worker's edge does (es/learned.py), with a dict as the store."""
    pending = learner.pending_changes()
    for entry in pending:
        store[entry["outlet"]] = learner.merged_outlet(store.get(entry["outlet"]), entry)
    learner.acknowledge(pending)
    learner.restore_outlets(list(store.values()))


def test_two_workers_merge_into_counts_each_article_once():
    store: dict[str, dict] = {}
    first, second = shared_learner(), shared_learner()
    first.observe("Courier", "1", ["footer", "one"])
    second.observe("Courier", "2", ["footer", "two"])
    assert not first.is_repeated("Courier", "footer")  # one sighting each: not yet chrome
    flush(first, store)
    flush(second, store)
    assert store["Courier"]["articles_seen"] == 2
    assert dict((key, articles) for key, articles, _ in store["Courier"]["lines"]) == {"footer": 2, "one": 1, "two": 1}
    assert second.is_repeated("Courier", "footer")
    flush(first, store)  # nothing new from it: the store is unchanged, and it takes the other's counts
    assert store["Courier"]["articles_seen"] == 2
    assert first.is_repeated("Courier", "footer")


def test_a_new_learner_takes_the_stored_outlets_and_counts_on_from_them():
    store: dict[str, dict] = {}
    warm = shared_learner()
    for number in range(3):
        warm.observe("Courier", str(number), ["footer", f"line {number}"])
    flush(warm, store)
    restarted = shared_learner()
    restarted.restore_outlets(list(store.values()))
    assert restarted.is_repeated("Courier", "footer")
    restarted.observe("Courier", "2", ["footer"])  # a redelivered article is not counted again
    assert restarted.pending_changes() == []
    restarted.observe("Courier", "3", ["footer"])
    flush(restarted, store)
    assert store["Courier"]["articles_seen"] == 4
    assert store["Courier"]["lines"][-1] == ["footer", 4, 4]


def test_changes_counted_during_a_flush_stay_pending():
    store: dict[str, dict] = {}
    learner = shared_learner()
    learner.observe("Courier", "1", ["footer", "one"])
    pending = learner.pending_changes()
    learner.observe("Courier", "2", ["footer", "two"])  # while the flush runs
    store["Courier"] = learner.merged_outlet(None, pending[0])
    learner.acknowledge(pending)
    assert learner.pending_changes() == [
        {"outlet": "Courier", "articles_seen": 1, "recent_ids": ["2"], "lines": [["footer", 1, 1], ["two", 1, 1]]}
    ]
    learner.restore_outlets(list(store.values()))
    assert learner.is_repeated("Courier", "footer")  # the stored sighting plus the pending one
    flush(learner, store)
    assert store["Courier"]["articles_seen"] == 2
    assert learner.pending_changes() == []


def test_merged_outlet_respects_the_bounds():
    learner = shared_learner(max_lines_per_outlet=10, horizon_articles=5)
    stored = {"outlet": "a", "articles_seen": 10, "recent_ids": ["x"], "lines": [["old", 9, 2], ["kept", 3, 9]]}
    changes = {
        "outlet": "a",
        "articles_seen": 2,
        "recent_ids": ["y", "z"],
        "lines": [[f"line {i}", 1, 1] for i in range(12)] + [["kept", 2, 2]],
    }
    merged = learner.merged_outlet(stored, changes)
    assert merged["articles_seen"] == 12 and merged["recent_ids"] == ["x", "y", "z"]
    keys = [key for key, _, _ in merged["lines"]]
    assert len(keys) == 10 and "old" not in keys  # beyond the horizon, then the least recently seen go
    assert merged["lines"][-1] == ["kept", 5, 12]
    # A stored line that had left the horizon before the changes starts counting again.
    stale = {"outlet": "a", "articles_seen": 10, "recent_ids": [], "lines": [["footer", 7, 4]]}
    again = learner.merged_outlet(
        stale, {"outlet": "a", "articles_seen": 1, "recent_ids": ["w"], "lines": [["footer", 1, 1]]}
    )
    assert again["lines"] == [["footer", 1, 11]]


def test_restored_outlets_stay_within_the_outlet_bound():
    learner = shared_learner(max_outlets=2)
    stored = [{"outlet": name, "articles_seen": 1, "recent_ids": [], "lines": [["k", 1, 1]]} for name in "abc"]
    learner.restore_outlets(stored)
    assert [entry["outlet"] for entry in learner.to_snapshot()["outlets"]] == ["b", "c"]


def test_a_learner_not_shared_records_no_changes():
    learner = BoilerplateLearner(min_repeats=2, max_outlets=10, max_lines_per_outlet=100, horizon_articles=50)
    learner.observe("Courier", "1", ["footer"])
    assert learner.pending_changes() == []


# --- the seed articles ---------------------------------------------------------------------------

SEED_001_ARTICLE = [
    "Daesh Seeks Partnership With Al-Qaeda",
    "Daesh terrorists will only regain power",
    "In an interview with Sputnik",
    "On Monday, Iraqi Vice President",
    "Allawi, however, added",
    "Right now, the two groups",
    "The latest report comes",
    "Currently the group is embattled",
    "Speaking to Sputnik, Jaume Pinos",
    "\"So it's not surprising",
    "Referring to Daesh",
    "He said that he is also interested",
    '"If this merger materializes',
    "He did not rule out",
    "Touching upon",
    "Late last month, a report",
    '"The consolidation of the Sahel',
    "The report cited a March 2 video",
]


def seed(prefix: str) -> str:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not beside this checkout")
    return normalise_text(next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8"))


def test_seed_001_keeps_the_article_paragraphs_and_drops_the_site_chrome():
    article = remover().clean(make_article(seed("001"), title=SEED_TITLES["001"]))
    kept = lines_of(article.text)
    assert len(kept) == len(SEED_001_ARTICLE)
    for line, start in zip(kept, SEED_001_ARTICLE, strict=True):
        assert line.startswith(start)
    assert not re.search(r"Register|Get short URL|©|Community standards|Related:|Tags:|Log in", article.text)


@pytest.mark.parametrize("prefix", ["000", "002", "003", "004"])
def test_clean_seeds_lose_no_paragraph(prefix):
    text = seed(prefix)
    article = remover().clean(make_article(text, title=SEED_TITLES[prefix]))
    assert sentence_lines(article.text) == sentence_lines(text)
    assert SEED_TITLES[prefix] in article.text
