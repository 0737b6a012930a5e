"""`newsflow setup`: create the Kafka topics and the Elasticsearch templates, scripts, indices and alias."""

from __future__ import annotations

import orjson
import typer

from newsflow.es.client import sync_client
from newsflow.es.indices import install
from newsflow.kafka.admin import ensure_topics
from newsflow.settings import load_settings


def setup(json_output: bool = typer.Option(False, "--json", help="Print one JSON object for scripts.")) -> None:
    """Idempotent: safe to run again; existing topics and indices are kept."""
    settings = load_settings()
    created_topics = ensure_topics(settings)
    with sync_client(settings) as es:
        names = install(es, settings)
    result = {
        "topics_created": sorted(created_topics),
        "articles_alias": names.articles_alias,
        "articles_indices": f"{names.articles_prefix}-*",
        "fingerprints_index": names.fingerprints_index,
    }
    if json_output:
        typer.echo(orjson.dumps(result).decode())
    else:
        typer.echo(
            f"topics created: {', '.join(result['topics_created']) or 'none (all existed)'}; "
            f"alias {names.articles_alias} -> {names.articles_prefix}-* (monthly); "
            f"fingerprints {names.fingerprints_index}"
        )
