"""`newsflow dlq list|show|replay`: inspect dead-lettered messages, and replay them after a fix."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from kafka.consumer.fetcher import ConsumerRecord
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from newsflow.kafka.dlq import dead_letter_view, dead_letters, replay
from newsflow.settings import load_settings

app = typer.Typer(
    help="Inspect the dead-letter topic and replay messages once the cause is fixed.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ErrorCodeOption = Annotated[
    str | None, typer.Option("--error-code", help="Only dead letters with this reason code, e.g. body_too_long.")
]
PREVIEW_BYTES = 2000


def _row(record: ConsumerRecord) -> dict[str, Any]:
    return {"offset": record.offset, "value_bytes": len(record.value), "dead_letter": dead_letter_view(record)}


def _selected(error_code: str | None) -> list[ConsumerRecord]:
    records = dead_letters(load_settings())
    return [record for record in records if error_code in (None, dead_letter_view(record)["error_code"])]


@app.command("list")
def list_dead_letters(
    error_code: ErrorCodeOption = None,
    limit: Annotated[int, typer.Option(help="Show at most this many, the most recent.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The most recent dead letters: where each came from and why it was refused."""
    rows = [_row(record) for record in _selected(error_code)[-limit:]]
    if as_json:
        typer.echo(orjson.dumps(rows).decode())
        return
    table = Table("offset", "failed at", "code", "stage", "source", "key", "reason")
    for row in rows:
        letter = row["dead_letter"]
        source = f"{letter['source_topic']}:{letter['source_partition']}:{letter['source_offset']}"
        table.add_row(
            str(row["offset"]),
            letter["failed_at"][:19],
            letter["error_code"],
            letter["stage"],
            source,
            letter["source_key"] or "-",
            escape(letter["reason"][:120]),
        )
    Console().print(table)


@app.command()
def show(
    offset: Annotated[int, typer.Argument(help="Offset of the dead letter on the dead-letter topic.")],
    raw: Annotated[
        bool, typer.Option("--raw", help="Write the original message bytes to stdout, nothing else.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """One dead letter: its reason and the original message."""
    record = next((record for record in dead_letters(load_settings()) if record.offset == offset), None)
    if record is None:
        Console(stderr=True).print(f"[red]error:[/red] no dead letter at offset {offset}")
        raise typer.Exit(1)
    if raw:
        typer.get_binary_stream("stdout").write(record.value)
        return
    row = _row(record)
    preview = record.value[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    if as_json:
        typer.echo(orjson.dumps({**row, "value_preview": preview}).decode())
        return
    console = Console()
    for name, value in row["dead_letter"].items():
        console.print(f"[bold]{name}[/bold]: {escape(str(value))}")
    console.print(f"[bold]message[/bold] ({row['value_bytes']} bytes, first {PREVIEW_BYTES} shown):")
    console.print(escape(preview), markup=False, highlight=False)


@app.command("replay")
def replay_dead_letters(
    offsets: Annotated[
        list[int] | None, typer.Option("--offset", help="A dead letter to replay (repeatable).", show_default=False)
    ] = None,
    error_code: ErrorCodeOption = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every dead letter.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be replayed, send nothing.")] = False,
) -> None:
    """Send dead-lettered messages back to their source topic, unchanged, once the cause is fixed.

    The cause may be a setting, a mapping or a worker release. Choose them by --offset,
    --error-code, or --all. Replaying twice is harmless: documents are keyed by URL, and a message
    that fails again is dead-lettered again.
    """
    if not (offsets or error_code or replay_all):
        raise typer.BadParameter("choose dead letters with --offset, --error-code or --all")
    chosen = _selected(error_code)
    if offsets:
        wanted = set(offsets)
        chosen = [record for record in chosen if record.offset in wanted]
        if missing := wanted - {record.offset for record in chosen}:
            Console(stderr=True).print(f"[red]error:[/red] no such dead letter: {sorted(missing)}")
            raise typer.Exit(1)
    if dry_run:
        typer.echo(f"would replay {len(chosen)} dead letters: offsets {[record.offset for record in chosen]}")
        return
    sent = replay(load_settings(), chosen)
    typer.echo(f"replayed {sent} dead letters")
