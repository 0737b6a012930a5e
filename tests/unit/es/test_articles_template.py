"""The articles index template: versions that only add, analyzers that exist, collapse keys the scripts set."""

from __future__ import annotations

from newsflow.es.indices import ARTICLES_TEMPLATE, COMPONENT_TEMPLATES, render_template, script_source
from newsflow.schemas import load_json
from newsflow.settings import Settings

BUILT_IN_ANALYZERS = {"standard", "english"}


def properties(template_file: str) -> dict:
    return load_json(template_file)["template"]["mappings"]["properties"]


def analyzers_used(mapping: dict) -> set[str]:
    found = set()
    for key, value in mapping.items():
        if key in ("analyzer", "search_analyzer"):
            found.add(value)
        elif isinstance(value, dict):
            found |= analyzers_used(value)
    return found


def test_every_version_keeps_the_fields_of_the_previous_one():
    current = load_json(ARTICLES_TEMPLATE)["version"]
    for version in range(2, current + 1):
        older = properties(f"elasticsearch/articles.v{version - 1}.json")
        newer = properties(f"elasticsearch/articles.v{version}.json")
        assert set(older) <= set(newer), f"v{version} drops {set(older) - set(newer)}: a reindex would lose data"


def test_every_analyzer_in_the_mapping_is_defined_by_a_component_or_built_in():
    template = load_json(ARTICLES_TEMPLATE)
    defined = set(BUILT_IN_ANALYZERS)
    for name in template["composed_of"]:
        defined |= set(load_json(COMPONENT_TEMPLATES[name])["template"]["settings"]["analysis"]["analyzer"])
    assert analyzers_used(template["template"]["mappings"]) <= defined


def test_title_and_body_have_per_language_and_exact_subfields():
    mapped = properties(ARTICLES_TEMPLATE)
    for name in ("title", "body"):
        assert {"en", "ar", "ar_skeleton", "exact"} <= set(mapped[name]["fields"])
    assert mapped["duplicate_group"]["type"] == mapped["story_group"]["type"] == "keyword"


def test_component_names_take_the_deployment_prefix():
    rendered = render_template(ARTICLES_TEMPLATE, "t-articles-v*", Settings(name_prefix="t-"))
    assert rendered["composed_of"] == ["t-newsflow-text_analysis"]


def test_the_article_upsert_sets_the_collapse_keys():
    source = script_source("upsert_article")
    assert "duplicate_group" in source and "story_group" in source
    assert "duplicate_group" not in script_source("add_syndication")
