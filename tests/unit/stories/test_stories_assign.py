"""Story assignment on constructed articles: canonical entity ids, numbers and time, no model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsflow.models import Article, Mention, SourceMessage
from newsflow.settings import Settings
from newsflow.stories.assign import StoryAssigner
from newsflow.stories.features import article_features, canonical_number, fold, numbers, terms
from newsflow.stories.scoring import DocumentFrequencies, frequency_keys

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
SETTINGS = Settings(story_window_hours=72)


def article(
    id: str, title: str, body: str, language: str, entity_ids: list[str], published: datetime, outlet: str = "wire"
) -> Article:
    made = Article(
        id=id,
        url=f"https://{outlet}.example/{id}",
        canonical_url=f"https://{outlet}.example/{id}",
        outlet=outlet,
        title=title,
        body=body,
        content_type="text/plain",
        published_at=published,
        source=SourceMessage(b"{}", None, "articles.raw", 0, 0),
    )
    made.text, made.language = body, language
    made.entities = [Mention(0, 1, entity_id, "ORG", entity_id, "table") for entity_id in entity_ids]
    return made


# Background traffic, so that common keys (Iraq, Egypt, years) weigh little and rare ones a lot.
BACKGROUND = [
    article(
        f"bg{i}",
        f"{country} news of the day {i}",
        f"Officials in {country} said on Monday {year} that ...",
        "en",
        [f"loc:{country.lower()}", "loc:iraq", "loc:egypt"],
        NOW,
    )
    for i, (country, year) in enumerate([("Jordan", 2026), ("Iraq", 2026), ("Egypt", 2025), ("Syria", 2026)] * 5)
]

RAID_EN = article(
    "raid-en",
    "Iraqi forces kill senior ISIS commander in Anbar desert raid",
    "Iraqi special forces killed Abu Khattab al-Rawi, the group's 'wali of the desert', and four aides in a raid "
    "125 km west of Ramadi, the Joint Operations Command said. Brigade 26 led the operation in Wadi Horan.",
    "en",
    ["org:islamic-state", "loc:anbar", "loc:iraq", "per:abu-khattab-al-rawi", "loc:wadi-horan"],
    NOW,
    outlet="gulfdailymonitor",
)
RAID_AR = article(
    "raid-ar",
    "مقتل والي الصحراء في داعش بعملية نوعية غربي الأنبار",
    "أعلنت قيادة العمليات المشتركة مقتل أبو خطاب الراوي وأربعة من مرافقيه في وادي حوران على بعد ١٢٥ كم غرب الرمادي، "
    "في عملية نفذها اللواء 26.",
    "ar",
    ["org:islamic-state", "loc:anbar", "loc:iraq", "per:abu-khattab-al-rawi", "loc:wadi-horan"],
    NOW + timedelta(hours=3),
    outlet="sadarafidain",
)
RATES_RAISED = article(
    "rates-raised",
    "Egypt's central bank raises key rates by 200 basis points",
    "The Central Bank of Egypt raised its overnight deposit rate to 27.25% and its lending rate to 28.25%.",
    "en",
    ["org:central-bank-of-egypt", "loc:egypt"],
    NOW - timedelta(days=42),
)
RATES_HELD = article(
    "rates-held",
    "Egypt's central bank holds key rates as inflation eases",
    "The Central Bank of Egypt kept its overnight deposit rate at 25.75% as annual inflation slowed to 12.8%.",
    "en",
    ["org:central-bank-of-egypt", "loc:egypt"],
    NOW,
)
MARATHON = article(
    "marathon",
    "Kenyan runner breaks Muscat Marathon course record",
    "Daniel Kiprono won in 2:08:41; more than 14,000 runners from 110 countries took part.",
    "en",
    ["per:daniel-kiprono", "loc:muscat", "loc:oman"],
    NOW,
)


def assigner() -> StoryAssigner:
    frequencies = DocumentFrequencies()
    for background in BACKGROUND:
        frequencies.add(frequency_keys(article_features(background)))
    return StoryAssigner(SETTINGS, frequencies)


def place(story_assigner: StoryAssigner, placed: Article, known_story: str | None = None) -> str:
    features = article_features(placed)
    key_terms, _ = story_assigner.prepare(features)
    return story_assigner.assign(placed, features, key_terms, [], NOW, known_story).story_id


def test_same_event_in_english_and_arabic_shares_a_story_through_canonical_ids_and_numbers():
    story_assigner = assigner()
    assert place(story_assigner, RAID_EN) == "raid-en"  # a new story takes its first article's id
    assert place(story_assigner, RAID_AR) == "raid-en"


def test_hard_negative_same_actors_another_decision_is_another_story():
    story_assigner = assigner()
    place(story_assigner, RATES_RAISED)
    assert place(story_assigner, RATES_HELD) == "rates-held"


def test_unrelated_article_opens_its_own_story():
    story_assigner = assigner()
    place(story_assigner, RAID_EN)
    assert place(story_assigner, MARATHON) == "marathon"


def test_known_story_wins_over_scoring():
    story_assigner = assigner()
    place(story_assigner, RAID_EN)
    assert place(story_assigner, MARATHON, known_story="raid-en") == "raid-en"  # e.g. a re-delivered member
    assert story_assigner.story_of("marathon") == "raid-en"


def test_story_outside_the_window_is_no_candidate():
    story_assigner = assigner()
    place(story_assigner, RAID_EN)
    late = article(
        "late", RAID_AR.title, RAID_AR.text, "ar", [m.entity_id for m in RAID_AR.entities], NOW + timedelta(days=10)
    )
    assert place(story_assigner, late) == "late"


def test_a_worker_forgets_stories_two_windows_older_than_its_newest_article():
    story_assigner = assigner()
    place(story_assigner, RATES_RAISED)  # six weeks before the raid
    place(story_assigner, RAID_EN)
    assert story_assigner.recent.get("rates-raised") is None
    assert story_assigner.recent.get("raid-en") is not None
    assert story_assigner.story_of("rates-raised") == "rates-raised"
    # The evaluation's stream has no stories index behind it: its assigner holds every story.
    holding = StoryAssigner(SETTINGS, DocumentFrequencies(), hold_all=True)
    place(holding, RATES_RAISED)
    place(holding, RAID_EN)
    assert holding.recent.get("rates-raised") is not None


def test_the_assigner_learns_into_the_frequencies_it_is_given_even_empty_ones():
    shared = DocumentFrequencies(record_changes=True)  # a worker's, flushed to the learned state
    story_assigner = StoryAssigner(SETTINGS, shared)
    place(story_assigner, RAID_EN)
    assert story_assigner.scorer.frequencies is shared
    assert shared.pending_changes()[0] == 1


def test_a_date_in_the_future_does_not_make_the_worker_forget_its_stories():
    story_assigner = assigner()
    place(story_assigner, RAID_EN)
    wrongly_dated = article("next-year", MARATHON.title, MARATHON.text, "en", ["loc:muscat"], NOW + timedelta(days=365))
    place(story_assigner, wrongly_dated)
    assert story_assigner.recent.get("raid-en") is not None


def test_features_read_numbers_and_words_alike_across_scripts_and_spellings():
    assert numbers("١٢٥ كم و14,000 عداء و27.25% و2,5 millones, 3 dead") == ["125", "14000", "27.25", "2.5"]
    assert canonical_number("14.000") == canonical_number("14,000") == "14000"
    assert fold("Erdoğan İstanbul") == "erdogan istanbul"
    assert terms("والقاعدة وبالأنبار") == terms("القاعده الانبار") == ["قاعده", "انبار"]


def test_terms_are_stems_of_words_that_do_not_start_with_a_digit():
    # Numbers in any script go (²abc reads 2abc); a prefix goes only when three letters remain (لله stays),
    # even when they are digits (الـ123).
    text = "The 1990s: Erdoğan's al_Qaeda ² ²abc x² ab, الـ123 للأمم لله والقاعدة، Ⅻth"
    assert terms(text) == ["the", "erdoga", "al_qae", "123", "امم", "لله", "قاعده", "xiith"]
    assert terms("") == terms("ab 12345") == []
