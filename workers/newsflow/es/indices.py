"""Index templates, stored scripts and the write alias, installed from `schemas/elasticsearch/`."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from newsflow.schemas import load_json, load_text
from newsflow.settings import Settings

ARTICLES_TEMPLATE = "elasticsearch/articles.v1.json"
FINGERPRINTS_TEMPLATE = "elasticsearch/fingerprints.v1.json"
SCRIPTS = ("upsert_article", "add_syndication")


@dataclass(frozen=True)
class IndexNames:
    """Names derived from the settings: the versioned indices and their stable alias."""

    articles_alias: str
    articles_index: str
    fingerprints_index: str

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexNames:
        version = load_json(ARTICLES_TEMPLATE)["version"]
        return cls(
            articles_alias=settings.articles_alias,
            articles_index=f"{settings.articles_alias}-v{version}",
            fingerprints_index=settings.fingerprints_index,
        )


def script_id(settings: Settings, name: str) -> str:
    return f"{settings.name_prefix}newsflow-{name}"


def render_template(template_file: str, index_pattern: str, settings: Settings) -> dict[str, Any]:
    """The template file with the deployment's pattern, shards, replicas and refresh interval."""
    template = {key: value for key, value in load_json(template_file).items() if not key.startswith("_comment")}
    template = copy.deepcopy(template)
    template["index_patterns"] = [index_pattern]
    index_settings = template["template"]["settings"]["index"]
    index_settings["number_of_shards"] = settings.index_shards
    index_settings["number_of_replicas"] = settings.index_replicas
    index_settings["refresh_interval"] = settings.index_refresh_interval
    return template


def install(client: Elasticsearch, settings: Settings) -> IndexNames:
    """Idempotently put templates and scripts, create the indices and point the alias at the write index."""
    names = IndexNames.from_settings(settings)
    client.indices.put_index_template(
        name=f"{names.articles_alias}-template",
        **render_template(ARTICLES_TEMPLATE, f"{names.articles_alias}-v*", settings),
    )
    client.indices.put_index_template(
        name=f"{names.fingerprints_index}-template",
        **render_template(FINGERPRINTS_TEMPLATE, f"{names.fingerprints_index}*", settings),
    )
    for name in SCRIPTS:
        client.put_script(
            id=script_id(settings, name),
            script={"lang": "painless", "source": load_text(f"elasticsearch/scripts/{name}.painless")},
        )
    if not client.indices.exists(index=names.articles_index):
        client.indices.create(
            index=names.articles_index, aliases={names.articles_alias: {"is_write_index": True}}
        )
    if not client.indices.exists(index=names.fingerprints_index):
        client.indices.create(index=names.fingerprints_index)
    client.cluster.health(index=[names.articles_index, names.fingerprints_index], wait_for_status="yellow")
    return names


def delete_all(client: Elasticsearch, settings: Settings) -> None:
    """Remove this prefix's indices, templates and scripts (used by tests to clean up)."""
    names = IndexNames.from_settings(settings)
    # Elasticsearch refuses wildcard deletes (action.destructive_requires_name): resolve the names first.
    existing = client.indices.get(index=f"{names.articles_alias}-v*,{names.fingerprints_index}*", allow_no_indices=True)
    if existing:
        client.indices.delete(index=",".join(existing))
    for template in (f"{names.articles_alias}-template", f"{names.fingerprints_index}-template"):
        client.options(ignore_status=404).indices.delete_index_template(name=template)
    for name in SCRIPTS:
        client.options(ignore_status=404).delete_script(id=script_id(settings, name))
