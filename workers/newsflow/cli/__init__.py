"""The `newsflow` command line: one sub-command per job, `--help` on each.

Exit codes: 0 success, 1 the job failed, 2 bad usage or invalid settings.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from newsflow.errors import ConfigError, NewsflowError

app = typer.Typer(
    name="newsflow",
    help="Stream ingestion of news: Kafka -> enrichment -> Elasticsearch, with search and alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


def _register_commands() -> None:
    # Imported here so `newsflow --help` stays fast and each command module owns its options.
    from newsflow.cli import (
        alerts,
        api,
        bench,
        demo,
        dlq,
        entities,
        evaluate,
        index,
        kibana,
        produce,
        search,
        services,
        setup,
        worker,
    )

    app.add_typer(services.app, name="services")
    app.command("setup")(setup.setup)
    app.add_typer(index.app, name="index")
    app.command("produce")(produce.produce)
    app.command("worker")(worker.worker)
    app.add_typer(dlq.app, name="dlq")
    app.add_typer(alerts.app, name="alerts")
    app.command("search")(search.search)
    app.command("api")(api.api)
    app.add_typer(kibana.app, name="kibana")
    app.command("demo")(demo.demo)
    app.command("eval")(evaluate.evaluate)
    app.command("bench")(bench.bench)
    app.add_typer(entities.app, name="entities")


def main() -> None:
    _register_commands()
    try:
        app()
    except ConfigError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
    except NewsflowError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)
