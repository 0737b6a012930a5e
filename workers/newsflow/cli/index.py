"""`newsflow index status|migrate|prune`: which indices serve the articles alias, moving it to the current
version, and deleting old months."""

from __future__ import annotations

from dataclasses import asdict

import orjson
import typer

from newsflow.es.client import sync_client
from newsflow.es.indices import IndexNames, alias_indices
from newsflow.es.migrate import migrate as run_migration
from newsflow.es.migrate import older_versions
from newsflow.es.retention import prune as run_prune
from newsflow.settings import load_settings

app = typer.Typer(help="The versioned month indices of the articles behind their alias.", no_args_is_help=True)
JsonOption = typer.Option(False, "--json", help="Print one JSON object for scripts.")


@app.command()
def status(json_output: bool = JsonOption) -> None:
    """The alias, the indices it points at, and whether a migration is pending."""
    settings = load_settings()
    names = IndexNames.from_settings(settings)
    with sync_client(settings) as es:
        serving = sorted(alias_indices(es, names.articles_alias))
        older = older_versions(es, names)
    result = {
        "alias": names.articles_alias,
        "serving": serving,
        "current_version_indices": f"{names.articles_prefix}-*",
        "migration_pending": any(not names.is_current(index) for index in serving),
        "older_indices_kept": [index for index in older if index not in serving],
    }
    if json_output:
        typer.echo(orjson.dumps(result).decode())
        return
    typer.echo(f"alias {result['alias']} -> {', '.join(serving) or 'missing (run newsflow setup)'}")
    if result["migration_pending"]:
        typer.echo(f"migration pending to {result['current_version_indices']}: run `newsflow index migrate`")
    if result["older_indices_kept"]:
        typer.echo(f"older versions kept (hidden): {', '.join(result['older_indices_kept'])}")


@app.command()
def migrate(
    delete_old: bool = typer.Option(False, "--delete-old", help="Delete the previous versions' indices afterwards."),
    json_output: bool = JsonOption,
) -> None:
    """Copy the articles into the current version's month indices and swap the alias atomically; idempotent.

    The old indices are kept (hidden) until `--delete-old`; writers may keep running.
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


@app.command()
def prune(
    before: str = typer.Option(..., "--before", help="Delete the months before this one (YYYY.MM, UTC)."),
    json_output: bool = JsonOption,
) -> None:
    """Delete the articles' month indices older than a month, with their texts' fingerprints."""
    settings = load_settings()
    with sync_client(settings) as es:
        deleted = run_prune(es, settings, before)
    if json_output:
        typer.echo(orjson.dumps({"deleted": deleted}).decode())
    else:
        typer.echo(f"deleted: {', '.join(deleted)}" if deleted else f"no month index before {before}")
