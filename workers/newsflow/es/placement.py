"""Which concrete index holds each article document, for the writers: they never write through the alias.

The alias serves month indices (`{alias}-v{version}-{YYYY.MM}`) or, until `newsflow index migrate`, the
single index of the layout before months; writers follow whichever it serves, batch by batch. An article
stays in the month index it was first written to: re-delivery, a syndicated copy and story ids all update
the document there, so the alias never holds two documents with one id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from elasticsearch import ApiError

from newsflow.errors import ConfigError
from newsflow.es.bulk import BulkSender
from newsflow.es.indices import IndexNames, index_month


class StoredArticle(NamedTuple):
    month: str
    story_id: str | None


@dataclass(frozen=True)
class Placement:
    """The indices behind the alias when a batch starts."""

    single: str | None  # the one index of the layout before months, while it still serves
    prefix: str  # `{alias}-v{version}` of the month indices
    existing: frozenset[str]

    def index(self, month: str | None) -> str:
        """The index of an article of this month (None: unknown, which only the single index can take)."""
        if self.single:
            return self.single
        if month is None:
            raise ValueError("a month index needs the month")
        return f"{self.prefix}-{month}"


class ArticleIndices:
    def __init__(self, sender: BulkSender, names: IndexNames) -> None:
        self._sender = sender
        self._alias = names.articles_alias
        self._prefix = names.articles_prefix

    async def placement(self) -> Placement:
        found = await self._sender.call(self._sender.client.indices.get_alias, name=self._alias)
        single = sorted(index for index in found if index_month(index) is None)
        months = sorted(index for index in found if index_month(index) is not None)
        # While an older version still serves, its months (and its template) take the new ones too.
        prefix = months[0].rsplit("-", 1)[0] if months else self._prefix
        return Placement(single[0] if single else None, prefix, frozenset(found))

    async def stored(self, article_ids: Iterable[str]) -> dict[str, StoredArticle]:
        """article id -> the month of the index already holding it and its story id, for the documents
        searchable (refreshed) in month indices.

        An `ids` search over the alias: a GET by id through an alias of several indices is refused."""
        ids = sorted(set(article_ids))
        if not ids:
            return {}
        # The story id from doc values: reading `_source` would decompress each whole article.
        response = await self._sender.call(
            self._sender.client.search,
            index=self._alias,
            query={"ids": {"values": ids}},
            source=False,
            docvalue_fields=["story_id"],
            size=len(ids),
        )
        return {
            hit["_id"]: StoredArticle(month, hit.get("fields", {}).get("story_id", [None])[0])
            for hit in response["hits"]["hits"]
            if (month := index_month(hit["_index"]))
        }

    async def stored_months(self, article_ids: Iterable[str]) -> dict[str, str]:
        return {article_id: found.month for article_id, found in (await self.stored(article_ids)).items()}

    async def ensure(self, placement: Placement, indices: Iterable[str]) -> None:
        """Create the month indices a batch writes to that do not exist yet, from their version's template,
        which puts them behind the alias; one that did not join it was made without the template."""
        missing = sorted(set(indices) - placement.existing)
        if not missing:
            return
        for index in missing:
            try:
                await self._sender.call(self._sender.client.indices.create, index=index)
            except ApiError as exc:
                if exc.message != "resource_already_exists_exception":  # another worker's, or a stray one
                    raise
        joined = await self._sender.call(
            self._sender.client.options(ignore_status=404).indices.get_alias, index=",".join(missing), name=self._alias
        )
        strays = [index for index in missing if index not in joined]
        if strays:
            raise ConfigError(
                f"{', '.join(strays)} exist outside the alias {self._alias} (no articles template matched when they "
                "were created): run `newsflow setup`, then delete them"
            )
