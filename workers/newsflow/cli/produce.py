"""`newsflow produce`: publish article files, JSON Lines from stdin, or the bundled samples to Kafka."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from newsflow.kafka.admin import ensure_topics
from newsflow.kafka.producer import (
    DEFAULT_OUTLET,
    SINGLE_ARTICLE_SUFFIXES,
    InputError,
    ProduceCounts,
    expand_inputs,
    produce_inputs,
)
from newsflow.paths import samples_dir
from newsflow.settings import Settings, load_settings

SAMPLE_CORPUS = "articles.jsonl"


def produce(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH",
            help="Files (.jsonl/.ndjson, .json, .txt, .html/.htm), folders of them, or - for JSON Lines on stdin.",
            show_default=False,
        ),
    ] = None,
    outlet: Annotated[str, typer.Option(help="Outlet of .txt and .html articles.")] = DEFAULT_OUTLET,
    url: Annotated[
        str | None,
        typer.Option(help="URL of the article, for a single .txt or .html file (default: a urn: of its name)."),
    ] = None,
    samples: Annotated[bool, typer.Option("--samples", help="Also publish the bundled sample corpus.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the counts as one JSON object.")] = False,
) -> None:
    """Publish articles to the raw topic; the worker validates, enriches and indexes them.

    Exit code 1 if any message could not be sent, 2 for a missing or unreadable input.
    """
    err_console = Console(stderr=True)
    requested = list(paths or [])
    if samples:
        requested.append(str(samples_dir() / SAMPLE_CORPUS))
    if not requested:
        raise typer.BadParameter("give at least one PATH, - for stdin, or --samples")
    try:
        names = expand_inputs(requested)
        if url and (len(names) != 1 or Path(names[0]).suffix.lower() not in SINGLE_ARTICLE_SUFFIXES):
            raise typer.BadParameter("--url names one article: give exactly one .txt or .html file", param_hint="--url")
        settings = load_settings()
        created = ensure_topics(settings)
        counts = send_with_progress(settings, names, outlet, url, err_console, show=not json_output)
    except InputError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc

    if json_output:
        report = {
            "topic": settings.topic_raw,
            "topics_created": created,
            "files_read": counts.files_read,
            "messages_sent": counts.messages_sent,
            "failed_sends": counts.failed_sends,
            "first_error": counts.first_error,
        }
        typer.echo(orjson.dumps(report).decode())
    else:
        console = Console()
        if created:
            console.print(f"created topics: {', '.join(created)}")
        console.print(
            f"read {counts.files_read} input(s), sent {counts.messages_sent} message(s) to {settings.topic_raw}, "
            f"{counts.failed_sends} failed"
        )
        if counts.first_error:
            err_console.print(f"[red]first send error:[/red] {counts.first_error}")
    if counts.failed_sends:
        raise typer.Exit(1)


def send_with_progress(
    settings: Settings, names: list[str], outlet: str, url: str | None, console: Console, show: bool
) -> ProduceCounts:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show,
    )
    # The total is unknown until every input is read, so the bar counts acknowledged messages.
    task = progress.add_task("sending", total=None)
    with progress:
        return produce_inputs(
            settings,
            names,
            outlet=outlet,
            url=url,
            on_input=lambda name: progress.update(task, description=f"sending {name}"),
            on_delivery=lambda: progress.advance(task),
        )
