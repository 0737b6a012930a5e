"""`newsflow bench`: the generated corpus, and the enrichment part end to end at a tiny size (no timings asserted)."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import orjson
import pytest
import typer
from typer.testing import CliRunner

from newsflow.bench import corpus, enrichment, report, runner
from newsflow.cli import bench as bench_cli
from newsflow.schemas import validator
from newsflow.stages.neardup import NearDuplicateSigner

ARABIC = re.compile("[\u0600-\u06ff]")

app = typer.Typer()
app.command()(bench_cli.bench)


def test_corpus_is_deterministic_valid_and_about_three_kilobytes() -> None:
    messages = list(corpus.messages(200))
    assert [m.value for m in messages[:5]] == [m.value for m in corpus.messages(5)]
    articles = [orjson.loads(m.value) for m in messages]
    schema = validator("article.v1.json")
    assert all(schema.is_valid(article) for article in articles)
    assert len({article["url"] for article in articles}) == len(articles)
    assert 2500 < sum(len(m.value) for m in messages) / len(messages) < 4500
    near_duplicates = sum(corpus.is_near_duplicate(index) for index in range(200))
    assert 5 <= near_duplicates <= 40
    languages = {"ar" if ARABIC.search(a["title"]) else "en" for a in articles}
    assert languages == {"en", "ar"}


def test_a_near_duplicate_repeats_most_of_an_earlier_article() -> None:
    index = next(i for i in range(1, 200) if corpus.is_near_duplicate(i))
    copy = corpus.article(index)
    words = set(copy["body"].split())
    best = max(len(words & set(corpus.article(i)["body"].split())) / len(words) for i in range(index))
    assert best > 0.7


def test_reports_of_one_story_name_its_people_and_most_stories_are_small() -> None:
    stories = Counter(corpus.story_of(index) for index in range(2000))
    sizes = sorted(stories.values(), reverse=True)
    assert sizes[0] >= 50  # the day's leading story
    assert sum(size == 1 for size in sizes) > len(sizes) / 2
    (story, _), *_ = stories.most_common(1)
    reports = [corpus.article(index) for index in range(2000) if corpus.story_of(index) == story][:20]
    people = [name for name, _ in corpus.names()["PER"]]
    named = [{person for person in people if person in report["body"]} for report in reports]
    english = [names for names, report in zip(named, reports, strict=True) if not ARABIC.search(report["title"])]
    assert len(english) >= 5 and len(set.intersection(*english)) >= 1


def test_unrelated_articles_rarely_share_a_near_duplicate_band() -> None:
    """As real ones: of 690 real articles in the same-story pairs, 9 share a band with an unrelated one."""
    signer = NearDuplicateSigner()
    count = 600
    bands = {index: set(signer.sign(corpus.article(index)["body"]).bands) for index in range(count)}
    originals = {index for index in range(count) if not corpus.is_near_duplicate(index)}
    sharing = {
        index
        for index in originals
        if any(
            bands[index] & bands[other] and corpus.story_of(other) != corpus.story_of(index)
            for other in originals - {index}
        )
    }
    assert len(sharing) < 0.05 * len(originals)


@pytest.fixture(scope="module")
def light_enrichment() -> dict:
    return enrichment.run(["light"], {"light": 20})


def test_enrichment_reports_the_chain_and_every_stage(light_enrichment: dict) -> None:
    light = light_enrichment["light"]
    assert light_enrichment["baseline"]["per_s"] > 0
    assert light["articles"] == 20 and light["chain_per_s"] > 0
    assert {"validate", "normalise", "extract", "language", "fingerprint", "neardup"} <= set(light["stages"])
    assert sum(stage["share"] for stage in light["stages"].values()) == pytest.approx(1, abs=0.05)
    assert isinstance(light["not_in_chain"], list)


def test_stage_clocks_are_removed_after_the_breakdown() -> None:
    enricher = enrichment.Enricher(enrichment.profile_settings("light"))
    originals = {name: getattr(enrichment.pipeline, name, None) for name in enrichment.STAGE_FUNCTIONS}
    with enrichment.clocked_stages(enricher, enrichment.StageClock()):
        assert enrichment.pipeline.parse_message is not originals["parse_message"]
    assert {name: getattr(enrichment.pipeline, name, None) for name in enrichment.STAGE_FUNCTIONS} == originals
    assert all(
        method not in vars(holder)
        for holder in vars(enricher).values()
        if hasattr(holder, "__dict__")
        for method in enrichment.STAGE_METHODS
    )


def test_table_renders_the_enrichment_part(light_enrichment: dict) -> None:
    result = {"meta": {"date": "now", "machine": {"cores": 2}, "commit": "abc"}, "enrichment": light_enrichment}
    assert report.table(result).row_count > len(light_enrichment["light"]["stages"])


def test_quick_json_enrichment_prints_one_object(monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = dataclasses.replace(runner.QUICK, enrichment={"light": 10, "full": 10})
    monkeypatch.setattr(runner, "QUICK", tiny)
    result = CliRunner().invoke(app, ["--quick", "--json", "--only", "enrichment", "--profile", "light"])
    assert result.exit_code == 0, result.output
    printed = orjson.loads(result.stdout)
    assert set(printed) == {"meta", "enrichment"}
    assert printed["meta"]["parts"] == ["enrichment"]
    assert {"baseline", "light"} <= set(printed["enrichment"])


def test_parts_bring_the_parts_their_ratios_need() -> None:
    assert runner.with_prerequisites(["latency"]) == ["enrichment", "e2e", "latency"]
    assert runner.with_prerequisites(["search"]) == ["search"]


def test_a_latency_rate_must_be_positive() -> None:
    result = CliRunner().invoke(app, ["--only", "latency", "--latency-rate", "0"])
    assert result.exit_code == 2
    assert "--latency-rate" in result.output
