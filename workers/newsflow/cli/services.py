"""`newsflow services up|down|status`: this checkout's local Kafka broker and Elasticsearch node."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from newsflow import services
from newsflow.errors import ServiceError

app = typer.Typer(
    help="Install (once, cached), start, stop and inspect the local Kafka broker and Elasticsearch node.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

JsonOption = typer.Option(False, "--json", help="Print one JSON object to stdout (progress stays on stderr).")


def _run(action: Callable[[], Any], as_json: bool) -> Any:
    """The action's result; a ServiceError becomes a message and exit code 1."""
    try:
        return action()
    except ServiceError as exc:
        if as_json:
            print(orjson.dumps({"error": str(exc)}).decode())
        err_console.print("[red]error:[/red]", escape(str(exc)))  # log excerpts contain [brackets]
        raise typer.Exit(1) from exc


def _print_json(value: Any) -> None:
    print(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def _status_table(report: dict[str, dict[str, Any]]) -> Table:
    table = Table("service", "state", "endpoint", "pid", "RSS", "version")
    for name, service in report.items():
        if service["state"] == "running":
            state = "[green]running[/]" if service["answering"] else "[yellow]running, not answering[/]"
        else:
            state = "[dim]stopped[/]"
        table.add_row(
            name,
            state,
            service["endpoint"] or "-",
            str(service["pid"] or "-"),
            f"{service['rss_mb']} MB" if service["rss_mb"] is not None else "-",
            service["version"],
        )
    return table


@app.command()
def up(
    kafka: bool = typer.Option(True, "--kafka/--no-kafka", help="Start the Kafka broker."),
    elasticsearch: bool = typer.Option(True, "--elasticsearch/--no-elasticsearch", help="Start Elasticsearch."),
    as_json: bool = JsonOption,
) -> None:
    """Download what is missing, then start the services (reusing any already running)."""
    recorded = _run(lambda: services.up(kafka=kafka, elasticsearch=elasticsearch), as_json)
    if as_json:
        _print_json(recorded)
    else:
        report = services.status()
        console.print(_status_table(report))
        for name, service in report.items():
            console.print(f"{name} log: {service['log']}", soft_wrap=True)


@app.command()
def down(as_json: bool = JsonOption) -> None:
    """Stop the services this checkout started (data is kept)."""
    was_running = _run(services.down, as_json)
    if as_json:
        _print_json({name: "stopped" if running else "not running" for name, running in was_running.items()})
    else:
        for name, running in was_running.items():
            if not running:
                console.print(f"{name} was not running")


@app.command()
def status(as_json: bool = JsonOption) -> None:
    """Each service: running or stopped, endpoint, pid and memory."""
    report = _run(services.status, as_json)
    if as_json:
        _print_json(report)
    else:
        console.print(_status_table(report))
