"""`newsflow search`: full-text search with highlights and facet counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from newsflow.es.client import sync_client
from newsflow.search import SearchRequest
from newsflow.search import search as run_search
from newsflow.settings import load_settings


def _parse_date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected an ISO date such as 2026-11-01, got {value!r}", param_hint=option) from None


def print_result(result: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]{result['total']}[/bold] articles match [italic]{result['query'] or '*'}[/italic]")
    for rank, hit in enumerate(result["hits"], start=1):
        snippet = escape(hit["snippet"]).replace("«", "[bold yellow]").replace("»", "[/bold yellow]")
        outlets = ", ".join(hit["outlets"]) or hit["outlet"]
        console.print(f"{rank:>2}. [bold]{escape(hit['title'])}[/bold]")
        console.print(f"    [dim]{escape(outlets)} · {hit['language']} · {(hit['published_at'] or '')[:10]}[/dim]")
        if snippet:
            console.print(f"    {snippet}")
    for facet, counts in result["facets"].items():
        console.print(f"[bold]{facet}:[/bold] " + ", ".join(f"{key} ({count})" for key, count in counts.items()))


def search(
    query: str = typer.Argument("", help="Words or phrases in any language; quotes for phrases, - to exclude."),
    outlet: list[str] = typer.Option([], "--outlet", help="Only these outlets (repeatable)."),
    lang: list[str] = typer.Option([], "--lang", help="Only these detected languages, e.g. en, ar (repeatable)."),
    since: str | None = typer.Option(None, help="Published on or after this ISO date."),
    until: str | None = typer.Option(None, help="Published before this ISO date."),
    size: int = typer.Option(10, min=0, max=1000, help="Number of hits."),
    sort: str = typer.Option("relevance", help="relevance or date."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object for scripts."),
) -> None:
    """Search the indexed articles; prints hits with highlights, then counts by outlet, language and date."""
    if sort not in ("relevance", "date"):
        raise typer.BadParameter("expected relevance or date", param_hint="--sort")
    request = SearchRequest(
        query=query,
        outlets=outlet,
        languages=lang,
        since=_parse_date(since, "--since"),
        until=_parse_date(until, "--until"),
        size=size,
        sort=sort,  # type: ignore[arg-type]
    )
    settings = load_settings()
    with sync_client(settings) as es:
        result = run_search(es, settings.articles_alias, request)
    if json_output:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    else:
        print_result(result, Console())
