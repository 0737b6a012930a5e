"""Retention by month: `newsflow index prune --before YYYY.MM` deletes whole month indices of articles."""

from __future__ import annotations

import re

from elasticsearch import Elasticsearch

from newsflow.errors import ConfigError
from newsflow.es.indices import IndexNames, alias_indices, index_month
from newsflow.settings import Settings

MONTH = re.compile(r"^\d{4}\.(0[1-9]|1[0-2])$")


def prune(client: Elasticsearch, settings: Settings, before: str) -> tuple[str, ...]:
    """Delete the articles' month indices (every version) of the months before `before`; returns them.

    Their texts' fingerprints go first: a copy of a pruned article arriving later becomes an article of
    its own, instead of a syndication stub in a month that was deleted."""
    if not MONTH.match(before):
        raise ConfigError(f"--before takes a month as YYYY.MM, not {before!r}")
    names = IndexNames.from_settings(settings)
    found = client.indices.get(index=f"{names.articles_alias}-v*", expand_wildcards="all", allow_no_indices=True)
    expired = tuple(sorted(index for index in found if (month := index_month(index)) and month < before))
    if not expired:
        return ()
    if set(alias_indices(client, names.articles_alias)) <= set(expired):
        raise ConfigError(f"every index behind {names.articles_alias} is older than {before}: nothing would be left")
    client.delete_by_query(
        index=names.fingerprints_index, query={"range": {"month": {"lt": before}}}, conflicts="proceed", refresh=True
    )
    client.indices.delete(index=",".join(expired))
    return expired
