"""`newsflow kibana import`: the data view, saved searches, dashboard, connector and alerting rule of deploy/kibana/."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.markup import escape

from newsflow.kibana import KibanaError, import_objects, public_url
from newsflow.settings import load_settings

app = typer.Typer(help="Kibana objects as code (deploy/kibana/).", no_args_is_help=True)
err_console = Console(stderr=True)


@app.command("import")
def import_command(
    directory: Path | None = typer.Option(None, "--dir", help="Objects to import (default: deploy/kibana/)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object for scripts."),
) -> None:
    """Import (overwrite) the saved objects, then create or update the connector and rules.

    Kibana URL and credentials: settings kibana_url, kibana_api_key or kibana_username/kibana_password.
    """
    settings = load_settings()
    try:
        report = import_objects(settings, directory)
    except KibanaError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    if json_output:
        typer.echo(orjson.dumps(asdict(report)).decode())
    else:
        typer.echo(
            f"{public_url(settings.kibana_url)}: {report.saved_objects} saved objects imported; "
            f"connectors {', '.join(report.connectors) or 'none'}; rules {', '.join(report.rules) or 'none'}"
        )
