"""`newsflow index migrate|prune` on a real node: a v1 deployment, with a single index or with month indices,
moves to the current version's month indices without losing or doubling a document; old months go whole."""

from __future__ import annotations

import pytest

from newsflow.errors import ConfigError
from newsflow.es.indices import IndexNames, alias_indices, current_month, install, render_template, script_id
from newsflow.es.migrate import migrate
from newsflow.es.retention import prune

V1_TEMPLATE = "elasticsearch/articles.v1.json"


def article(number: int, **fields) -> dict:
    return {
        "id": f"a{number}",
        "title": f"بورتنيكوف يحذر {number}",
        "body": "قال مدير جهاز الأمن الفيدرالي الروسي إن داعش والقاعدة قد يندمجان.",
        "language": "ar",
        "outlet": "Sada",
        "outlets": ["Sada"],
        "ingested_at": "2026-03-01T00:00:00Z",
        **fields,
    }


def start_over(es, names: IndexNames) -> None:
    """No articles index of this prefix yet (the isolated deployment created the current month's)."""
    existing = es.indices.get(index=f"{names.articles_alias}-v*", expand_wildcards="all", allow_no_indices=True)
    if existing:
        es.indices.delete(index=",".join(existing))


def count(es, index: str) -> int:
    return es.count(index=index, expand_wildcards="all")["count"]


@pytest.fixture
def v1_deployment(settings, es) -> IndexNames:
    """The alias on a single version-1 index holding three articles, as before month indices existed."""
    names = IndexNames.from_settings(settings)
    old = f"{names.articles_alias}-v1"
    start_over(es, names)
    v1 = render_template(V1_TEMPLATE, old, settings)["template"]
    es.indices.create(index=old, aliases={names.articles_alias: {"is_write_index": True}}, **v1)
    months = {0: {"published_at": "2026-01-20T23:30:00-03:00"}, 1: {"published_at": "2026-02-03T08:00:00Z"}}
    for number in range(3):
        extra = {"duplicate_of": "a0", "duplicate_status": "near_duplicate"} if number == 1 else {}
        es.index(index=old, id=f"a{number}", document=article(number, **months.get(number, {}), **extra))
    es.indices.refresh(index=old)
    return names


def test_writes_continue_while_pending_and_migration_moves_every_document_to_its_month(settings, es, v1_deployment):
    names = v1_deployment
    old = f"{names.articles_alias}-v1"
    install(es, settings)  # new templates and scripts; the alias stays on v1 until the migration
    assert alias_indices(es, names.articles_alias) == [old]
    # the worker's scripted upsert still writes to v1: the collapse keys and the record timestamp it sets
    # (plain fields, one inside the `source` object) were added to v1's mapping
    record = {"topic": "articles.raw", "partition": 0, "offset": 3, "timestamp": "2026-04-30T23:59:59.999+00:00"}
    es.update(
        index=old,
        id="a3",
        script={"id": script_id(settings, "upsert_article"), "params": {"doc": article(3, source=record)}},
        scripted_upsert=True,
        upsert={},
        refresh=True,
    )
    assert es.get(index=old, id="a3")["_source"]["duplicate_group"] == "a3"

    report = migrate(es, settings)
    assert (report.source, report.target, report.copied) == (old, f"{names.articles_prefix}-*", 4)
    # published_at in UTC (a0: 20 January 23:30 at -03:00 is 21 January), else the record timestamp,
    # else (written before it was stored) the ingest time
    months = {"a0": "2026.01", "a1": "2026.02", "a2": "2026.03", "a3": "2026.04"}
    assert sorted(alias_indices(es, names.articles_alias)) == sorted(names.month_index(m) for m in months.values())
    for article_id, month in months.items():
        hits = es.search(index=names.articles_alias, query={"ids": {"values": [article_id]}})["hits"]["hits"]
        assert [hit["_index"] for hit in hits] == [names.month_index(month)]
    hidden = es.indices.get_settings(index=old, name="index.hidden", expand_wildcards="all")
    assert hidden[old]["settings"]["index"]["hidden"] == "true"
    assert es.count(index=names.articles_alias)["count"] == 4
    assert es.count(index=f"{names.articles_alias}*")["count"] == 4, "the old copy must not count twice"
    hit = es.search(index=names.articles_alias, query={"ids": {"values": ["a1"]}})["hits"]["hits"][0]
    assert hit["_source"]["duplicate_group"] == "a0"
    # the new analysis: a vowel variant and an attached conjunction find the name
    variant = es.search(index=names.articles_alias, query={"match": {"title.ar_skeleton": "وبورتينكوف"}})
    assert variant["hits"]["total"]["value"] == 4
    collapsed = es.search(index=names.articles_alias, collapse={"field": "duplicate_group"}, size=10)
    assert len(collapsed["hits"]["hits"]) == 3

    again = migrate(es, settings)
    assert again.source is None and es.indices.exists(index=old)
    deleted = migrate(es, settings, delete_old=True)
    assert deleted.deleted == (old,) and not es.indices.exists(index=old)


def test_migrating_month_indices_keeps_each_month_and_the_count(settings, es):
    """An older version already in month indices: each one is copied to the same month of the new version,
    also the articles whose month came from their record timestamp, which the copy cannot see."""
    names = IndexNames.from_settings(settings)
    start_over(es, names)
    per_month = {"2026.01": 3, "2026.02": 2}
    number = 0
    for month, size in per_month.items():
        index = f"{names.articles_alias}-v1-{month}"
        v1 = render_template(V1_TEMPLATE, index, settings)["template"]
        es.indices.create(index=index, aliases={names.articles_alias: {}}, **v1)
        for _ in range(size):
            # no published_at and an ingest time in another month: only the index says where it belongs
            es.index(index=index, id=f"a{number}", document=article(number, ingested_at="2026-05-01T00:00:00Z"))
            number += 1
    es.indices.refresh(index=names.articles_alias)

    report = migrate(es, settings, delete_old=True)
    assert report.copied == 5 and len(report.deleted) == 2
    assert sorted(alias_indices(es, names.articles_alias)) == [names.month_index(month) for month in per_month]
    for month, size in per_month.items():
        assert count(es, names.month_index(month)) == size
    assert es.count(index=names.articles_alias)["count"] == 5
    assert es.count(index=f"{names.articles_alias}*")["count"] == 5


def test_a_fresh_install_serves_the_current_month(settings, es):
    names = IndexNames.from_settings(settings)
    start_over(es, names)
    install(es, settings)
    assert alias_indices(es, names.articles_alias) == [names.month_index(current_month())]
    assert migrate(es, settings).source is None


def test_prune_deletes_whole_months_and_their_fingerprints(settings, es):
    names = IndexNames.from_settings(settings)
    start_over(es, names)
    install(es, settings)
    for number, month in enumerate(("2026.01", "2026.02")):
        es.index(index=names.month_index(month), id=f"a{number}", document=article(number))  # joins the alias
        es.index(
            index=settings.fingerprints_index, id=f"hash{number}", document={"article_id": f"a{number}", "month": month}
        )
    es.indices.refresh(index=[names.articles_alias, settings.fingerprints_index])

    with pytest.raises(ConfigError):
        prune(es, settings, "2026-02")
    assert prune(es, settings, "2026.02") == (names.month_index("2026.01"),)
    assert not es.indices.exists(index=names.month_index("2026.01"))
    assert es.count(index=names.articles_alias)["count"] == 1
    fingerprints = es.search(index=settings.fingerprints_index)["hits"]["hits"]
    assert [hit["_source"]["month"] for hit in fingerprints] == ["2026.02"]
    assert prune(es, settings, "2026.02") == ()
    with pytest.raises(ConfigError, match="nothing would be left"):
        prune(es, settings, "2099.01")
