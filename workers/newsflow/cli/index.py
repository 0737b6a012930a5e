"""`newsflow index status|migrate`: which index version serves the articles alias, and moving it to the current one."""

from __future__ import annotations

from dataclasses import asdict

import orjson
import typer

from newsflow.es.client import sync_client
from newsflow.es.indices import IndexNames, alias_indices
from newsflow.es.migrate import migrate as run_migration
from newsflow.es.migrate import older_versions
from newsflow.settings import load_settings

app = typer.Typer(help="The versioned articles index behind its alias.", no_args_is_help=True)
JsonOption = typer.Option(False, "--json", help="Print one JSON object for scripts.")


@app.command()
def status(json_output: bool = JsonOption) -> None:
    """The alias, the index it points at, and whether a migration is pending."""
    settings = load_settings()
    names = IndexNames.from_settings(settings)
    with sync_client(settings) as es:
        serving = alias_indices(es, names.articles_alias)
        older = older_versions(es, names)
    result = {
        "alias": names.articles_alias,
        "serving": serving[0] if serving else None,
        "current_version_index": names.articles_index,
        "migration_pending": bool(serving) and serving[0] != names.articles_index,
        "older_indices_kept": [index for index in older if index not in serving],
    }
    if json_output:
        typer.echo(orjson.dumps(result).decode())
        return
    typer.echo(f"alias {result['alias']} -> {result['serving'] or 'missing (run newsflow setup)'}")
    if result["migration_pending"]:
        typer.echo(f"migration pending to {names.articles_index}: run `newsflow index migrate`")
    if result["older_indices_kept"]:
        typer.echo(f"older versions kept (hidden): {', '.join(result['older_indices_kept'])}")


@app.command()
def migrate(
    delete_old: bool = typer.Option(False, "--delete-old", help="Delete the previous versions' indices afterwards."),
    json_output: bool = JsonOption,
) -> None:
    """Copy the articles into the current version's index and swap the alias atomically; idempotent.

    The old index is kept (hidden) until `--delete-old`; writers may keep running.
    """
    settings = load_settings()
    with sync_client(settings) as es:
        report = run_migration(es, settings, delete_old=delete_old)
    if json_output:
        typer.echo(orjson.dumps(asdict(report)).decode())
    elif report.source is None:
        typer.echo(f"alias {report.alias} already on {report.target}")
    else:
        typer.echo(
            f"alias {report.alias}: {report.source} -> {report.target}; "
            f"{report.copied} copied, {report.caught_up} caught up"
        )
    if report.deleted:
        typer.echo(f"deleted: {', '.join(report.deleted)}", err=json_output)
