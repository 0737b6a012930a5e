"""Move the articles alias to the current template version: copy, swap atomically, keep the old index.

Writers keep writing through the alias during the copy, so the copy runs in passes:
1. everything in the old index;
2. what changed in the old index since the copy started (new articles, syndicated copies), still
   before the swap, overwriting the first copy;
3. after the atomic alias swap, what changed between pass 2 and the swap, as `create` only, so a
   newer write that already reached the new index through the alias is never overwritten.
An update to an already copied article in the instant between pass 2 and the swap stays in the old
index only; it is kept (the old index is deleted only with `delete_old`), and the worker's at-least-once
replay or a rerun of the migration brings it over.
The old index is hidden after the swap, so index patterns such as `articles*` do not count it twice.
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
from newsflow.es.indices import COLLAPSE_KEYS_SCRIPT, IndexNames, alias_indices, install
from newsflow.schemas import load_text
from newsflow.settings import Settings

# Writes in flight when a pass starts may carry a slightly earlier timestamp.
CLOCK_MARGIN = timedelta(seconds=30)
TASK_POLL_TIMEOUT = "30s"


@dataclass(frozen=True)
class MigrationReport:
    alias: str
    source: str | None  # the index the alias pointed at before; None when it was current already
    target: str
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
    client: Elasticsearch, source: str, target: str, query: dict[str, Any], op_type: str = "index"
) -> int:
    """Reindex `query`'s documents into `target`, deriving the new version's fields; returns documents written."""
    client.indices.refresh(index=source)
    task = client.reindex(
        source={"index": source, "query": query},
        dest={"index": target, "op_type": op_type},
        script={"lang": "painless", "source": load_text(COLLAPSE_KEYS_SCRIPT)},
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
        raise ServiceError(f"copying {source} to {target} failed: {failure}")
    response = status["response"]
    return response["created"] + response["updated"]


def older_versions(client: Elasticsearch, names: IndexNames) -> list[str]:
    found = client.indices.get(index=f"{names.articles_alias}-v*", expand_wildcards="all", allow_no_indices=True)
    return sorted(index for index in found if index != names.articles_index)


def migrate(client: Elasticsearch, settings: Settings, delete_old: bool = False) -> MigrationReport:
    """Bring the alias to the current version; idempotent, and resumable after an interruption."""
    names = install(client, settings)  # templates and scripts of the new version; never touches the old data
    alias, target = names.articles_alias, names.articles_index
    source = alias_indices(client, alias)[0]
    if source == target:
        deleted = tuple(older_versions(client, names)) if delete_old else ()
        if deleted:
            client.indices.delete(index=",".join(deleted))
        return MigrationReport(alias, None, target, deleted=deleted)

    started = datetime.now(UTC) - CLOCK_MARGIN
    if not client.indices.exists(index=target):
        # Hidden while it fills, so `articles*` patterns never see both copies.
        client.indices.create(index=target, settings={"index.hidden": True})
    client.cluster.health(index=target, wait_for_status="yellow")
    copied = copy_documents(client, source, target, {"match_all": {}})
    second_pass = datetime.now(UTC) - CLOCK_MARGIN
    caught_up = copy_documents(client, source, target, changed_since(started))
    client.indices.update_aliases(
        actions=[
            {"remove": {"index": source, "alias": alias}},
            {"add": {"index": target, "alias": alias, "is_write_index": True}},
        ]
    )
    client.indices.put_settings(index=target, settings={"index.hidden": False})
    client.indices.put_settings(index=source, settings={"index.hidden": True})
    caught_up += copy_documents(client, source, target, changed_since(second_pass), op_type="create")
    client.indices.refresh(index=target)
    deleted = (source,) if delete_old else ()
    if deleted:
        client.indices.delete(index=source)
    return MigrationReport(alias, source, target, copied, caught_up, deleted)
