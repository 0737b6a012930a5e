"""Move the articles alias to the current version's month indices: copy, swap atomically, keep the old ones.

The alias serves either an older version's month indices or the single index of the layout before
months. Each article is copied to the current version's index of its month: the month of the index it
comes from, or, from the single index, the month the writers compute (`route_month.painless`). Until the
swap the template creates the new month indices hidden and outside the alias, so nothing counts twice.
Writers keep writing to what the alias serves during the copy, so the copy runs in passes:
1. everything in the old indices;
2. what changed in them since the copy started (new articles, syndicated copies), still before the
   swap, overwriting the first copy;
3. after the atomic alias swap, what changed between pass 2 and the swap, as `create` only, so a
   newer write that already reached a new index is never overwritten.
An update to an already copied article in the instant between pass 2 and the swap (or by a batch that
looked at the alias before the swap) stays in the old index only; it is kept (the old indices are deleted
only with `delete_old`), and the worker's at-least-once replay or a rerun of the migration brings it over.
The old indices are hidden after the swap, so index patterns such as `articles*` do not count them twice.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.exceptions import GeneralAvailabilityWarning

from newsflow.errors import ServiceError
from newsflow.es.indices import (
    COLLAPSE_KEYS_SCRIPT,
    IndexNames,
    alias_indices,
    article_templates,
    articles_template,
    current_month,
    index_month,
    install,
)
from newsflow.schemas import load_text
from newsflow.settings import Settings

# Writes in flight when a pass starts may carry a slightly earlier timestamp.
CLOCK_MARGIN = timedelta(seconds=30)
TASK_POLL_TIMEOUT = "30s"
ROUTE_MONTH_SCRIPT = "elasticsearch/scripts/route_month.painless"


@dataclass(frozen=True)
class MigrationReport:
    alias: str
    source: str | None  # the indices the alias pointed at before (comma-separated); None when current already
    target: str  # the current version's month indices (a pattern)
    copied: int = 0
    caught_up: int = 0
    deleted: tuple[str, ...] = ()


def changed_since(moment: datetime) -> dict[str, Any]:
    since = moment.isoformat()
    return {
        "bool": {
            "should": [
                {"range": {"ingested_at": {"gte": since}}},
                {"range": {"syndicated.seen_at": {"gte": since}}},
            ],
            "minimum_should_match": 1,
        }
    }


def copy_documents(
    client: Elasticsearch, source: str, prefix: str, query: dict[str, Any], op_type: str = "index"
) -> int:
    """Reindex `query`'s documents of `source` into their month indices under `prefix`, deriving the new
    version's fields; returns documents written."""
    client.indices.refresh(index=source)
    month = index_month(source)
    task = client.reindex(
        # The routing script picks each document's index; dest names one only because reindex needs one.
        source={"index": source, "query": query},
        dest={"index": f"{prefix}-{month or current_month()}", "op_type": op_type},
        script={
            "lang": "painless",
            "source": load_text(ROUTE_MONTH_SCRIPT) + "\n" + load_text(COLLAPSE_KEYS_SCRIPT),
            "params": {"prefix": prefix, "month": month},
        },
        conflicts="proceed",  # with op_type=create a conflict means the target already has a newer write
        wait_for_completion=False,
    )["task"]
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", GeneralAvailabilityWarning)  # the tasks API, stable in practice since 2.x
            status = client.tasks.get(task_id=task, wait_for_completion=True, timeout=TASK_POLL_TIMEOUT)
        if status.get("completed"):
            break
        time.sleep(0.1)
    if status.get("error") or status["response"].get("failures"):
        failure = status.get("error") or status["response"]["failures"][:3]
        raise ServiceError(f"copying {source} to {prefix}-* failed: {failure}")
    response = status["response"]
    return response["created"] + response["updated"]


def copy_all(
    client: Elasticsearch, sources: list[str], prefix: str, query: dict[str, Any], op_type: str = "index"
) -> int:
    return sum(copy_documents(client, source, prefix, query, op_type) for source in sources)


def current_indices(client: Elasticsearch, names: IndexNames) -> list[str]:
    found = client.indices.get(index=f"{names.articles_prefix}-*", expand_wildcards="all", allow_no_indices=True)
    return sorted(index for index in found if names.is_current(index))


def older_versions(client: Elasticsearch, names: IndexNames) -> list[str]:
    found = client.indices.get(index=f"{names.articles_alias}-v*", expand_wildcards="all", allow_no_indices=True)
    return sorted(index for index in found if not names.is_current(index))


def delete_older(client: Elasticsearch, names: IndexNames) -> tuple[str, ...]:
    """Delete the older versions' indices and templates (never what the alias serves)."""
    serving = set(alias_indices(client, names.articles_alias))
    deleted = tuple(index for index in older_versions(client, names) if index not in serving)
    if deleted:
        client.indices.delete(index=",".join(deleted))
    for template in article_templates(client, names.articles_alias):
        if template != names.articles_template:
            client.indices.delete_index_template(name=template)
    return deleted


def migrate(client: Elasticsearch, settings: Settings, delete_old: bool = False) -> MigrationReport:
    """Bring the alias to the current version; idempotent, and resumable after an interruption."""
    names = install(client, settings)  # templates and scripts of the new version; never touches the old data
    alias, target = names.articles_alias, f"{names.articles_prefix}-*"
    sources = [index for index in alias_indices(client, alias) if not names.is_current(index)]
    if not sources:
        return MigrationReport(alias, None, target, deleted=delete_older(client, names) if delete_old else ())

    started = datetime.now(UTC) - CLOCK_MARGIN
    copied = copy_all(client, sources, names.articles_prefix, {"match_all": {}})
    second_pass = datetime.now(UTC) - CLOCK_MARGIN
    caught_up = copy_all(client, sources, names.articles_prefix, changed_since(started))
    # From now on new month indices join the alias by the template, like those filled here at the swap.
    client.indices.put_index_template(name=names.articles_template, **articles_template(names, settings, serving=True))
    filled = current_indices(client, names)
    if not filled:  # nothing to copy: the current month's index keeps the alias in existence
        filled = [names.month_index(current_month())]
        client.indices.create(index=filled[0])
    client.indices.update_aliases(
        actions=[{"remove": {"index": source, "alias": alias}} for source in sources]
        + [{"add": {"index": index, "alias": alias}} for index in filled]
    )
    client.indices.put_settings(index=names.articles_alias, settings={"index.hidden": False})
    client.indices.put_settings(index=",".join(sources), settings={"index.hidden": True})
    caught_up += copy_all(client, sources, names.articles_prefix, changed_since(second_pass), op_type="create")
    client.indices.refresh(index=alias)
    deleted = delete_older(client, names) if delete_old else ()
    return MigrationReport(alias, ",".join(sources), target, copied, caught_up, deleted)
