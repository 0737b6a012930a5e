"""`newsflow bench`: throughput, latency, memory and search figures, each with its baseline and goal."""

from __future__ import annotations

import shlex
import sys
from enum import StrEnum
from pathlib import Path

import orjson
import typer
from rich.console import Console

err_console = Console(stderr=True)


class Profile(StrEnum):
    light = "light"
    full = "full"
    both = "both"


def bench(
    quick: bool = typer.Option(False, "--quick", help="Smaller counts (under 5 minutes), no scaling run."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of the table."),
    profile: Profile = typer.Option(Profile.both, "--profile", help="light (no model NER), full, or both."),
    only: list[str] = typer.Option(
        [],
        "--only",
        help="Run only this part (repeatable): enrichment, e2e, latency, scaling, memory, search. "
        "Parts that report a ratio to another part run it too.",
    ),
    chart: Path | None = typer.Option(
        None, "--chart", help="Also draw the figures into this PNG (needs the bench extra)."
    ),
    latency_rate: float | None = typer.Option(
        None,
        "--latency-rate",
        min=0.1,
        help="Measure latency at this many articles/s instead of half the measured maximum "
        "(to compare commits at one load).",
    ),
) -> None:
    """Benchmark enrichment per core, end to end through Kafka and Elasticsearch, latency, scaling,
    memory and search, on a generated corpus; Kafka and Elasticsearch must be running."""
    from newsflow.bench import report, runner  # heavy imports, only for this command

    unknown = sorted(set(only) - set(runner.PARTS))
    if unknown:
        raise typer.BadParameter(f"unknown part {', '.join(unknown)}; choose from {', '.join(runner.PARTS)}")
    run = runner.Run(
        parts=runner.with_prerequisites(only or runner.PARTS),
        profiles=["light", "full"] if profile is Profile.both else [profile.value],
        sizes=runner.QUICK if quick else runner.FULL,
        command=shlex.join(["newsflow", *sys.argv[1:]]),
        on_progress=lambda message: err_console.print(f"[dim]bench: {message}[/dim]"),
        latency_rate=latency_rate,
    )
    result = run.execute()
    if chart:
        report.chart(result, chart)
    if as_json:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY).decode())
    else:
        Console().print(report.table(result))
