"""Index templates, stored scripts and the write alias, installed from `schemas/elasticsearch/`."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import orjson
from elasticsearch import Elasticsearch

from newsflow.schemas import load_json, load_text
from newsflow.settings import Settings

ARTICLES_TEMPLATE = "elasticsearch/articles.v2.json"
FINGERPRINTS_TEMPLATE = "elasticsearch/fingerprints.v1.json"
NEARDUP_TEMPLATE = "elasticsearch/neardup.v1.json"
STORIES_TEMPLATE = "elasticsearch/stories.v1.json"
ALERTS_TEMPLATE = "elasticsearch/alerts.v1.json"
SCRIPTS = ("upsert_article", "add_syndication", "update_story")
# Component templates (shared settings such as text analysis), referenced by name in `composed_of`.
COMPONENT_TEMPLATES = {"text_analysis": "elasticsearch/text_analysis.v1.json"}
# Appended to the article upsert: the collapse keys follow every write of an article.
COLLAPSE_KEYS_SCRIPT = "elasticsearch/scripts/collapse_keys.painless"


@dataclass(frozen=True)
class IndexNames:
    """Names derived from the settings: the versioned articles index behind its stable alias,
    and the duplicate registries (one index each, bounded by deleting old entries)."""

    articles_alias: str
    articles_index: str
    fingerprints_index: str
    neardup_index: str
    stories_index: str
    alerts_index: str

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexNames:
        version = load_json(ARTICLES_TEMPLATE)["version"]
        return cls(
            articles_alias=settings.articles_alias,
            articles_index=f"{settings.articles_alias}-v{version}",
            fingerprints_index=settings.fingerprints_index,
            neardup_index=settings.neardup_index,
            stories_index=settings.stories_index,
            alerts_index=settings.alerts_index,
        )

    def templates(self) -> dict[str, tuple[str, str]]:
        """template name -> (template file, index pattern)."""
        return {
            f"{self.articles_alias}-template": (ARTICLES_TEMPLATE, f"{self.articles_alias}-v*"),
            f"{self.fingerprints_index}-template": (FINGERPRINTS_TEMPLATE, self.fingerprints_index),
            f"{self.neardup_index}-template": (NEARDUP_TEMPLATE, self.neardup_index),
            f"{self.stories_index}-template": (STORIES_TEMPLATE, self.stories_index),
            f"{self.alerts_index}-template": (ALERTS_TEMPLATE, self.alerts_index),
        }

    def indices(self) -> dict[str, str]:
        """index name -> its template file."""
        return {
            self.articles_index: ARTICLES_TEMPLATE,
            self.fingerprints_index: FINGERPRINTS_TEMPLATE,
            self.neardup_index: NEARDUP_TEMPLATE,
            self.stories_index: STORIES_TEMPLATE,
            self.alerts_index: ALERTS_TEMPLATE,
        }


def script_id(settings: Settings, name: str) -> str:
    return f"{settings.name_prefix}newsflow-{name}"


def script_source(name: str) -> str:
    source = load_text(f"elasticsearch/scripts/{name}.painless")
    return source + "\n" + load_text(COLLAPSE_KEYS_SCRIPT) if name == "upsert_article" else source


def component_template_name(settings: Settings, name: str) -> str:
    return f"{settings.name_prefix}newsflow-{name}"


def alias_indices(client: Elasticsearch, alias: str) -> list[str]:
    """The concrete indices behind an alias, write index first; [] when the alias does not exist."""
    found = client.options(ignore_status=404).indices.get_alias(name=alias)
    if "error" in found or not found:
        return []
    return sorted(found, key=lambda index: not found[index]["aliases"][alias].get("is_write_index", False))


def render_template(template_file: str, index_pattern: str, settings: Settings) -> dict[str, Any]:
    """The template file with the deployment's pattern, shards, replicas and refresh interval."""
    template = {key: value for key, value in load_json(template_file).items() if not key.startswith("_comment")}
    template = copy.deepcopy(template)
    template["index_patterns"] = [index_pattern]
    if "composed_of" in template:
        template["composed_of"] = [component_template_name(settings, name) for name in template["composed_of"]]
    index_settings = template["template"]["settings"]["index"]
    index_settings["number_of_shards"] = settings.index_shards
    index_settings["number_of_replicas"] = settings.index_replicas
    index_settings["refresh_interval"] = settings.index_refresh_interval
    return template


def install(client: Elasticsearch, settings: Settings) -> IndexNames:
    """Idempotently put templates and scripts, create the indices and point the alias at the write index.

    An index that already exists gets the template's mapping again, so fields added within a
    template version reach it; changes that need a reindex get a new template version instead.
    """
    names = IndexNames.from_settings(settings)
    for name, template_file in COMPONENT_TEMPLATES.items():
        component = load_json(template_file)
        client.cluster.put_component_template(
            name=component_template_name(settings, name), template=component["template"], version=component["version"]
        )
    mappings = {}
    for template_name, (template_file, pattern) in names.templates().items():
        rendered = render_template(template_file, pattern, settings)
        client.indices.put_index_template(name=template_name, **rendered)
        mappings[template_file] = rendered["template"]["mappings"]
    for name in SCRIPTS:
        client.put_script(
            id=script_id(settings, name),
            script={"lang": "painless", "source": script_source(name)},
        )
    behind_alias = alias_indices(client, names.articles_alias)
    migration_pending = bool(behind_alias) and behind_alias[0] != names.articles_index
    for index, template_file in names.indices().items():
        if index == names.articles_index and migration_pending:
            # An older version still serves the alias until `newsflow index migrate`: give it the new version's
            # plain top-level fields so that the current scripts can write to it; analysed fields wait for the copy.
            add_plain_fields(client, behind_alias[0], mappings[template_file])
        elif client.indices.exists(index=index):
            client.indices.put_mapping(index=index, **mappings[template_file])
        elif index == names.articles_index:
            client.indices.create(index=index, aliases={names.articles_alias: {"is_write_index": True}})
        else:
            client.indices.create(index=index)
    ready = [index for index in names.indices() if not (index == names.articles_index and migration_pending)]
    client.cluster.health(index=ready, wait_for_status="yellow")
    return names


def add_plain_fields(client: Elasticsearch, index: str, mappings: dict[str, Any]) -> None:
    """Add the top-level fields of `mappings` that `index` lacks and that need no analyzer (never a conflict)."""
    existing = client.indices.get_mapping(index=index)[index]["mappings"].get("properties", {})
    missing = {
        name: spec
        for name, spec in mappings["properties"].items()
        if name not in existing and "analyzer" not in orjson.dumps(spec).decode()
    }
    if missing:
        client.indices.put_mapping(index=index, properties=missing)


def delete_all(client: Elasticsearch, settings: Settings) -> None:
    """Remove this prefix's indices, templates and scripts (used by tests to clean up)."""
    names = IndexNames.from_settings(settings)
    # Elasticsearch refuses wildcard deletes (action.destructive_requires_name): resolve the names first.
    patterns = [
        f"{names.articles_alias}-v*",
        names.fingerprints_index,
        names.neardup_index,
        names.stories_index,
        names.alerts_index,
    ]
    existing = client.indices.get(
        index=",".join(patterns), allow_no_indices=True, ignore_unavailable=True, expand_wildcards="all"
    )
    if existing:
        client.indices.delete(index=",".join(existing))
    for template_name in names.templates():
        client.options(ignore_status=404).indices.delete_index_template(name=template_name)
    for name in COMPONENT_TEMPLATES:
        client.options(ignore_status=404).cluster.delete_component_template(
            name=component_template_name(settings, name)
        )
    for name in SCRIPTS:
        client.options(ignore_status=404).delete_script(id=script_id(settings, name))
