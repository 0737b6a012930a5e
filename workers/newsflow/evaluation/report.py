"""Results of `newsflow eval` parts, printed as rich tables or as one JSON object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

OK = "ok"
SKIPPED = "skipped"


@dataclass(slots=True)
class ResultTable:
    """One table of a part's results; cells are printed as given (format numbers before)."""

    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass(slots=True)
class PartReport:
    """What one part measured: `metrics` go to JSON as they are, `tables` to the terminal."""

    part: str
    status: str = OK
    note: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    tables: list[ResultTable] = field(default_factory=list)


def percent(share: float) -> str:
    return f"{100 * share:.1f}"


def as_json(data_dir: Path, reports: list[PartReport]) -> dict[str, Any]:
    return {
        "data": str(data_dir),
        "parts": {
            report.part: {"status": report.status, **({"note": report.note} if report.note else {}), **report.metrics}
            for report in reports
        },
    }


def print_reports(reports: list[PartReport], console: Console) -> None:
    for report in reports:
        if report.status != OK:
            console.print(f"[bold]{report.part}[/bold]: [yellow]{report.status}[/yellow] ({report.note})")
            continue
        console.print(f"[bold]{report.part}[/bold]" + (f": {report.note}" if report.note else ""))
        for result in report.tables:
            table = Table(title=result.title, title_justify="left")
            for index, column in enumerate(result.columns):
                numeric = all(_is_number(row[index]) for row in result.rows)
                table.add_column(column, justify="right" if numeric else "left")
            for row in result.rows:
                table.add_row(*row)
            console.print(table)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return cell == "-"
    return True
