"""Index templates, stored scripts and the write alias, installed from `schemas/elasticsearch/`."""

from __future__ import annotations

import copy
import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from elasticsearch import Elasticsearch

from newsflow.models import Article
from newsflow.schemas import load_json, load_text
from newsflow.settings import Settings

ARTICLES_TEMPLATE = "elasticsearch/articles.v2.json"
FINGERPRINTS_TEMPLATE = "elasticsearch/fingerprints.v1.json"
NEARDUP_TEMPLATE = "elasticsearch/neardup.v1.json"
STORIES_TEMPLATE = "elasticsearch/stories.v1.json"
ALERTS_TEMPLATE = "elasticsearch/alerts.v1.json"
LEARNED_STATE_TEMPLATE = "elasticsearch/learned_state.v1.json"
SCRIPTS = ("upsert_article", "add_syndication", "update_story")
# Component templates (shared settings such as text analysis), referenced by name in `composed_of`.
COMPONENT_TEMPLATES = {"text_analysis": "elasticsearch/text_analysis.v1.json"}
# Appended to the article upsert: the collapse keys follow every write of an article.
COLLAPSE_KEYS_SCRIPT = "elasticsearch/scripts/collapse_keys.painless"
MONTH_FORMAT = "%Y.%m"
MONTH_INDEX = re.compile(r"-v\d+-(\d{4}\.\d{2})$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IndexNames:
    """Names derived from the settings: the articles' month indices of the current mapping version
    (`{alias}-v{version}-{YYYY.MM}`) behind their stable alias, and the other indices (one each,
    bounded by deleting old entries)."""

    articles_alias: str
    articles_version: int
    fingerprints_index: str
    neardup_index: str
    stories_index: str
    alerts_index: str
    learned_state_index: str

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexNames:
        return cls(
            articles_alias=settings.articles_alias,
            articles_version=load_json(ARTICLES_TEMPLATE)["version"],
            fingerprints_index=settings.fingerprints_index,
            neardup_index=settings.neardup_index,
            stories_index=settings.stories_index,
            alerts_index=settings.alerts_index,
            learned_state_index=settings.learned_state_index,
        )

    @property
    def articles_prefix(self) -> str:
        return version_prefix(self.articles_alias, self.articles_version)

    @property
    def articles_template(self) -> str:
        return f"{self.articles_prefix}-template"

    def month_index(self, month: str) -> str:
        return f"{self.articles_prefix}-{month}"

    def is_current(self, index: str) -> bool:
        """A month index of the current version (not the single index of the layout before months)."""
        return index.startswith(f"{self.articles_prefix}-") and index_month(index) is not None

    def templates(self) -> dict[str, tuple[str, str]]:
        """template name -> (template file, index pattern)."""
        return {
            self.articles_template: (ARTICLES_TEMPLATE, f"{self.articles_prefix}-*"),
            f"{self.fingerprints_index}-template": (FINGERPRINTS_TEMPLATE, self.fingerprints_index),
            f"{self.neardup_index}-template": (NEARDUP_TEMPLATE, self.neardup_index),
            f"{self.stories_index}-template": (STORIES_TEMPLATE, self.stories_index),
            f"{self.alerts_index}-template": (ALERTS_TEMPLATE, self.alerts_index),
            f"{self.learned_state_index}-template": (LEARNED_STATE_TEMPLATE, self.learned_state_index),
        }

    def indices(self) -> dict[str, str]:
        """The single indices (not the articles' month indices) -> their template file."""
        return {
            self.fingerprints_index: FINGERPRINTS_TEMPLATE,
            self.neardup_index: NEARDUP_TEMPLATE,
            self.stories_index: STORIES_TEMPLATE,
            self.alerts_index: ALERTS_TEMPLATE,
            self.learned_state_index: LEARNED_STATE_TEMPLATE,
        }


def version_prefix(alias: str, version: int) -> str:
    return f"{alias}-v{version}"


def index_month(index: str) -> str | None:
    """`YYYY.MM` of a month index; None for the single index of the layout before months (`{alias}-v2`)."""
    found = MONTH_INDEX.search(index)
    return found.group(1) if found else None


def article_month(article: Article) -> str:
    """The month (UTC) of a new article's index: its publication time, else its Kafka record's
    timestamp; both stay the same on re-delivery, the retry topic and dead-letter replay."""
    if article.published_at is not None:
        moment = article.published_at
        # Elasticsearch reads a time without offset as UTC; so does the month.
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    elif article.source.timestamp_ms is not None:
        moment = EPOCH + timedelta(milliseconds=article.source.timestamp_ms)
    else:
        raise ValueError(f"article {article.id} has neither published_at nor a record timestamp")
    return moment.astimezone(UTC).strftime(MONTH_FORMAT)


def script_id(settings: Settings, name: str) -> str:
    """The stored script's id names its source's digest: a worker of a newer release installs its
    own version beside the one older workers still call during a rolling upgrade."""
    digest = hashlib.sha256(script_source(name).encode()).hexdigest()[:12]
    return f"{script_id_prefix(settings)}{name}-{digest}"


def script_id_prefix(settings: Settings) -> str:
    return f"{settings.name_prefix}newsflow-"


@functools.cache
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


def articles_template(names: IndexNames, settings: Settings, serving: bool) -> dict[str, Any]:
    """The current version's articles template. Its month indices join the alias as they are created
    (writers never write through the alias, so none is a write index); while the alias still serves an
    older version they are created hidden and outside it, and `newsflow index migrate` swaps them in."""
    template = render_template(ARTICLES_TEMPLATE, f"{names.articles_prefix}-*", settings)
    if serving:
        template["template"]["aliases"] = {names.articles_alias: {}}
    else:
        template["template"]["settings"]["index"]["hidden"] = True
    return template


def current_month() -> str:
    return datetime.now(UTC).strftime(MONTH_FORMAT)


def install(client: Elasticsearch, settings: Settings) -> IndexNames:
    """Idempotently put templates and scripts, and create the indices; on a fresh deployment, the
    current month's articles index, so that the alias exists.

    An index that already exists gets the template's mapping again, so fields added within a
    template version reach it; changes that need a reindex get a new template version instead.
    """
    names = IndexNames.from_settings(settings)
    for name, template_file in COMPONENT_TEMPLATES.items():
        component = load_json(template_file)
        client.cluster.put_component_template(
            name=component_template_name(settings, name), template=component["template"], version=component["version"]
        )
    serving = alias_indices(client, names.articles_alias)
    migration_pending = any(not names.is_current(index) for index in serving)
    # Before month indices one template matched every version (`{alias}-v*`); it would overlap the current one.
    client.options(ignore_status=404).indices.delete_index_template(name=f"{names.articles_alias}-template")
    mappings = {}
    for template_name, (template_file, pattern) in names.templates().items():
        if template_name == names.articles_template:
            rendered = articles_template(names, settings, serving=not migration_pending)
        else:
            rendered = render_template(template_file, pattern, settings)
        client.indices.put_index_template(name=template_name, **rendered)
        mappings[template_file] = rendered["template"]["mappings"]
    for name in SCRIPTS:
        client.put_script(
            id=script_id(settings, name),
            script={"lang": "painless", "source": script_source(name)},
        )
    for index, template_file in names.indices().items():
        if client.indices.exists(index=index):
            client.indices.put_mapping(index=index, **mappings[template_file])
        else:
            client.indices.create(index=index)
    if migration_pending:
        # An older version still serves the alias until `newsflow index migrate`: give it the new version's
        # plain fields so that the current scripts can write to it; analysed fields wait for the copy.
        for index in serving:
            add_plain_fields(client, index, mappings[ARTICLES_TEMPLATE])
    elif serving:
        client.indices.put_mapping(index=names.articles_alias, **mappings[ARTICLES_TEMPLATE])
    else:
        serving = [names.month_index(current_month())]
        client.indices.create(index=serving[0])  # joins the alias by its template
    client.cluster.health(index=[*names.indices(), *serving], wait_for_status="yellow")
    return names


def missing_plain_fields(existing: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The fields of `wanted` that `existing` lacks and that need no analyzer (never a conflict), within objects too."""
    missing: dict[str, Any] = {}
    for name, spec in wanted.items():
        if name not in existing:
            if "analyzer" not in orjson.dumps(spec).decode():
                missing[name] = spec
        elif "properties" in spec and "properties" in existing[name]:
            inner = missing_plain_fields(existing[name]["properties"], spec["properties"])
            if inner:
                missing[name] = {"properties": inner}
    return missing


def add_plain_fields(client: Elasticsearch, index: str, mappings: dict[str, Any]) -> None:
    """Add the plain fields of `mappings` that `index` lacks."""
    existing = client.indices.get_mapping(index=index)[index]["mappings"].get("properties", {})
    missing = missing_plain_fields(existing, mappings["properties"])
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
        names.learned_state_index,
    ]
    existing = client.indices.get(
        index=",".join(patterns), allow_no_indices=True, ignore_unavailable=True, expand_wildcards="all"
    )
    if existing:
        client.indices.delete(index=",".join(existing))
    for template_name in [*names.templates(), *article_templates(client, names.articles_alias)]:
        client.options(ignore_status=404).indices.delete_index_template(name=template_name)
    for name in COMPONENT_TEMPLATES:
        client.options(ignore_status=404).cluster.delete_component_template(
            name=component_template_name(settings, name)
        )
    stored = client.cluster.state(metric="metadata", filter_path="metadata.stored_scripts")
    prefix = script_id_prefix(settings)
    for stored_id in stored.get("metadata", {}).get("stored_scripts", {}):
        if stored_id.startswith(prefix) and stored_id.removeprefix(prefix).rsplit("-", 1)[0] in SCRIPTS:
            client.options(ignore_status=404).delete_script(id=stored_id)


def article_templates(client: Elasticsearch, alias: str) -> list[str]:
    """The articles templates of every version still installed (older ones serve until a migration)."""
    found = client.options(ignore_status=404).indices.get_index_template(name=f"{alias}-v*-template")
    return [template["name"] for template in found.get("index_templates", [])]
