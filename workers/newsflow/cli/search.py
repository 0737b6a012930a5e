"""`newsflow search`: full-text and entity search with filters, highlights, facet counts and paging."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from newsflow.es.client import sync_client
from newsflow.search import QueryError, SearchRequest, entity_table
from newsflow.search import search as run_search
from newsflow.settings import load_settings

err_console = Console(stderr=True)


def _parse_date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected an ISO date such as 2026-11-01, got {value!r}", param_hint=option) from None


def _reasons(hit: dict[str, Any]) -> str:
    parts = [
        f"entity {reason['label']}" if reason["kind"] == "entity" else f"{reason['kind']} “{reason['text']}”"
        for reason in hit["matched"]
    ]
    return "matched: " + ", ".join(parts) if parts else ""


def print_result(result: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]{result['total']}[/bold] articles match [italic]{escape(result['query'] or '*')}[/italic]")
    for rank, hit in enumerate(result["hits"], start=1):
        snippet = escape(hit["snippet"]).replace("«", "[bold yellow]").replace("»", "[/bold yellow]")
        outlets = ", ".join(hit["outlets"]) or hit["outlet"] or ""
        group = hit.get("group")
        grouped = f" · {group['size']} in group" if group and group["size"] > 1 else ""
        console.print(f"{rank:>2}. [bold]{escape(hit['title'])}[/bold]")
        console.print(
            f"    [dim]{escape(outlets)} · {hit['language']} · {(hit['published_at'] or '')[:10]}{grouped} · "
            f"{escape(_reasons(hit))}[/dim]"
        )
        if snippet:
            console.print(f"    {snippet}")
    for facet, buckets in result["facets"].items():
        # The date histogram fills gaps with empty buckets (useful to a chart); a terminal line skips them.
        counts = ", ".join(
            f"{bucket.get('label', bucket['key'])} ({bucket['count']})" for bucket in buckets if bucket["count"]
        )
        if counts:
            console.print(f"[bold]{facet}:[/bold] {escape(counts)}")
    if result["next_cursor"]:
        console.print(f"[dim]next page: --cursor {result['next_cursor']}[/dim]")


def search(
    query: str = typer.Argument("", help='Words in any language (all must match); "a phrase"; -word to exclude.'),
    outlet: list[str] = typer.Option([], "--outlet", help="Only these outlets (repeatable)."),
    country: list[str] = typer.Option([], "--country", help="Only outlets of these countries (repeatable)."),
    lang: list[str] = typer.Option([], "--lang", help="Only these detected languages, e.g. en, ar (repeatable)."),
    entity: list[str] = typer.Option([], "--entity", help="Only articles naming this entity id (repeatable)."),
    entity_type: list[str] = typer.Option([], "--entity-type", help="Only articles naming an entity of this type."),
    story: list[str] = typer.Option([], "--story", help="Only articles of this story id (repeatable)."),
    duplicate_status: list[str] = typer.Option([], "--duplicate-status", help="original, near_duplicate (repeatable)."),
    since: str | None = typer.Option(None, help="Published on or after this ISO date."),
    until: str | None = typer.Option(None, help="Published before this ISO date."),
    size: int = typer.Option(10, help="Hits per page (0-100)."),
    sort: str = typer.Option("relevance", help="relevance or date."),
    collapse: str = typer.Option("duplicates", help="none, duplicates (one hit per original) or stories."),
    cursor: str | None = typer.Option(None, help="Continue after the page that printed this cursor."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object for scripts."),
) -> None:
    """Search the indexed articles; prints hits with highlights and why they matched, then facet counts.

    A query naming a known entity (Daesh, ISIS, داعش) also finds the articles about it in every language.
    """
    settings = load_settings()
    try:
        request = SearchRequest.from_parameters(
            q=query,
            outlet=outlet,
            country=country,
            lang=lang,
            entity=entity,
            entity_type=entity_type,
            story=story,
            duplicate_status=duplicate_status,
            since=_parse_date(since, "--since"),
            until=_parse_date(until, "--until"),
            size=size,
            sort=sort,
            collapse=collapse,
            cursor=cursor,
        )
        with sync_client(settings) as es:
            result = run_search(es, settings.articles_alias, request, entity_table(tuple(settings.entity_files)))
    except QueryError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if json_output:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    else:
        print_result(result, Console())
