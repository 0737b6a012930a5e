"""`newsflow eval`: accuracy of the pipeline's stages on a folder of labelled data."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from rich.console import Console

from newsflow.evaluation import PARTS, run_parts
from newsflow.evaluation.report import as_json, print_reports
from newsflow.settings import load_settings


def evaluate(
    data: Path = typer.Option(
        ...,
        "--data",
        help="Folder of labelled JSON Lines files named as in shared/data (langid.jsonl, ner_en.jsonl, ...).",
        exists=True,
        file_okay=False,
        dir_okay=True,
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object for scripts."),
    only: list[str] = typer.Option(
        [], "--only", help=f"Run only these parts (repeatable): {', '.join(PARTS)}. Default: all."
    ),
) -> None:
    """Measure the stages on labelled data: one table per part, or one JSON object with --json."""
    unknown = [name for name in only if name not in PARTS]
    if unknown:
        raise typer.BadParameter(
            f"unknown part(s) {', '.join(unknown)}; expected {', '.join(PARTS)}", param_hint="--only"
        )
    names = list(dict.fromkeys(only)) or list(PARTS)
    reports = run_parts(data, names, load_settings())
    if json_output:
        typer.echo(orjson.dumps(as_json(data, reports), option=orjson.OPT_INDENT_2).decode())
    else:
        print_reports(reports, Console())
