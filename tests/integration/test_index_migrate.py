"""`newsflow index migrate` on a real node: a v1 deployment moves to the current version without losing data."""

from __future__ import annotations

import pytest

from newsflow.es.indices import IndexNames, alias_indices, install, render_template, script_id
from newsflow.es.migrate import migrate

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


@pytest.fixture
def v1_deployment(settings, es) -> IndexNames:
    """The alias on a version-1 index holding three articles, as before this version existed."""
    names = IndexNames.from_settings(settings)
    old = f"{names.articles_alias}-v1"
    es.indices.delete(index=names.articles_index, ignore_unavailable=True)
    v1 = render_template(V1_TEMPLATE, old, settings)["template"]
    es.indices.create(index=old, aliases={names.articles_alias: {"is_write_index": True}}, **v1)
    for number in range(3):
        extra = {"duplicate_of": "a0", "duplicate_status": "near_duplicate"} if number == 1 else {}
        es.index(index=names.articles_alias, id=f"a{number}", document=article(number, **extra), require_alias=True)
    es.indices.refresh(index=old)
    return names


def test_writes_continue_while_pending_and_migration_keeps_every_document(settings, es, v1_deployment):
    names = v1_deployment
    old = f"{names.articles_alias}-v1"
    install(es, settings)  # new templates and scripts; the alias stays on v1 until the migration
    assert alias_indices(es, names.articles_alias) == [old]
    # the worker's scripted upsert still works on v1: the collapse keys it sets were added to v1's mapping
    es.update(
        index=names.articles_alias,
        id="a3",
        script={"id": script_id(settings, "upsert_article"), "params": {"doc": article(3)}},
        scripted_upsert=True,
        upsert={},
        require_alias=True,
        refresh=True,
    )
    assert es.get(index=old, id="a3")["_source"]["duplicate_group"] == "a3"

    report = migrate(es, settings)
    assert (report.source, report.target, report.copied) == (old, names.articles_index, 4)
    assert alias_indices(es, names.articles_alias) == [names.articles_index]
    hidden = es.indices.get_settings(index=old, name="index.hidden", expand_wildcards="all")
    assert hidden[old]["settings"]["index"]["hidden"] == "true"
    assert es.count(index=names.articles_alias)["count"] == 4
    assert es.count(index=f"{names.articles_alias}*")["count"] == 4, "the old copy must not count twice"
    assert es.get(index=names.articles_alias, id="a1")["_source"]["duplicate_group"] == "a0"
    # the new analysis: a vowel variant and an attached conjunction find the name
    variant = es.search(index=names.articles_alias, query={"match": {"title.ar_skeleton": "وبورتينكوف"}})
    assert variant["hits"]["total"]["value"] == 4
    collapsed = es.search(index=names.articles_alias, collapse={"field": "duplicate_group"}, size=10)
    assert len(collapsed["hits"]["hits"]) == 3

    again = migrate(es, settings)
    assert again.source is None and es.indices.exists(index=old)
    deleted = migrate(es, settings, delete_old=True)
    assert deleted.deleted == (old,) and not es.indices.exists(index=old)


def test_a_fresh_install_serves_the_current_version(settings, es):
    names = install(es, settings)
    assert alias_indices(es, names.articles_alias) == [names.articles_index]
    assert migrate(es, settings).source is None
