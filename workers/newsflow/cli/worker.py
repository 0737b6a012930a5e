"""`newsflow worker`: run the enrichment worker (foreground, or detached for the demo)."""

from __future__ import annotations

import typer

from newsflow.errors import ConfigError
from newsflow.settings import load_settings
from newsflow.worker import process


def worker(
    detach: bool = typer.Option(False, "--detach", help="Run in the background; pid and log in .newsflow/."),
    stop: bool = typer.Option(False, "--stop", help="Stop the worker started with --detach."),
    status: bool = typer.Option(False, "--status", help="Say whether a detached worker runs, and where it logs."),
    loglevel: str = typer.Option("info", help="debug, info, warning or error"),
) -> None:
    """Consume articles.raw, enrich, index into Elasticsearch; dead-letter what cannot be processed."""
    if stop:
        typer.echo("worker stopped" if process.stop() else "no worker was running")
        return
    if status:
        pid = process.running_pid()
        typer.echo(f"worker running, pid {pid}, log {process.log_file()}" if pid else "worker not running")
        raise typer.Exit(0 if pid else 1)
    if detach:
        pid = process.start_detached()
        typer.echo(f"worker started, pid {pid}, log {process.log_file()}")
        return
    run_worker(loglevel)


def run_worker(loglevel: str) -> None:
    import faust  # heavy import, only for this command
    from elasticsearch import AuthorizationException

    from newsflow.es.client import sync_client
    from newsflow.es.indices import install
    from newsflow.kafka.admin import ensure_topics
    from newsflow.logs import logging_config
    from newsflow.worker.app import create_app

    settings = load_settings()
    # Topics and indices are created before consuming, so nothing is written to a guessed mapping.
    ensure_topics(settings)
    with sync_client(settings) as es:
        try:
            install(es, settings)
        except AuthorizationException:
            # A least-privilege key writes to its own indices only; an administrator ran `newsflow setup`.
            if not es.indices.exists_alias(name=settings.articles_alias):
                raise ConfigError(
                    f"these Elasticsearch credentials may not install the indices and {settings.articles_alias} "
                    "does not exist: run `newsflow setup` with an administrator's credentials first"
                ) from None
    faust.Worker(
        create_app(settings), loglevel=loglevel, quiet=True, logging_config=logging_config(settings, loglevel)
    ).execute_from_commandline()
