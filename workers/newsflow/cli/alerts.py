"""`newsflow alerts run|tail|list|replay|evaluate`: the spike worker, its alerts, and offline runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from newsflow.settings import load_settings

app = typer.Typer(help="Spike alerts on entities and watch-list keywords (docs/alerts.md).", no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document per line instead of text.")]
DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@app.command()
def run(loglevel: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info") -> None:
    """Run the spike worker: count mentions of articles.enriched per window, publish alerts."""
    import faust  # heavy import, only for this command

    from newsflow.alerts.app import create_app
    from newsflow.es.client import sync_client
    from newsflow.es.indices import install
    from newsflow.kafka.admin import ensure_topics
    from newsflow.logs import logging_config

    settings = load_settings()
    # The alerts topic and index exist before the first alert, so nothing is written to a guessed mapping.
    ensure_topics(settings)
    with sync_client(settings) as es:
        install(es, settings)
    faust.Worker(
        create_app(settings), loglevel=loglevel, quiet=True, logging_config=logging_config(settings, loglevel)
    ).execute_from_commandline()


@app.command()
def tail(
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Print the alerts already on the topic first.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Print alert events as they are published (Ctrl-C to stop)."""
    from kafka import KafkaConsumer, TopicPartition

    from newsflow.kafka.admin import connect

    settings = load_settings()
    consumer = connect(KafkaConsumer, settings, "alerts-tail", enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(settings.topic_alerts, p)
            for p in sorted(consumer.partitions_for_topic(settings.topic_alerts) or ())
        ]
        consumer.assign(partitions)
        if from_beginning:
            consumer.seek_to_beginning()
        else:
            consumer.seek_to_end()
        while True:
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    _print_alert(orjson.loads(record.value), as_json)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


@app.command("list")
def list_alerts(
    since: Annotated[
        str, typer.Option(help="Detected after this: a duration back from now (30m, 6h, 7d) or an ISO date.")
    ] = "24h",
    status: Annotated[str | None, typer.Option(help="Only open or only closed alerts.")] = None,
    size: Annotated[int, typer.Option(help="At most this many, most recent first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Alerts from the alerts index, most recently detected first."""
    from newsflow.es.client import sync_client

    settings = load_settings()
    filters: list[dict[str, Any]] = [{"range": {"detected_at": {"gte": _since(since).isoformat()}}}]
    if status:
        filters.append({"term": {"status": status}})
    with sync_client(settings) as es:
        response = es.options(ignore_status=404).search(
            index=settings.alerts_index,
            query={"bool": {"filter": filters}},
            sort=[{"detected_at": "desc"}],
            size=size,
        )
    documents = [hit["_source"] for hit in response.get("hits", {}).get("hits", [])]
    if as_json:
        for document in documents:
            typer.echo(orjson.dumps(document).decode())
        return
    table = Table("detected", "status", "term", "count", "baseline", "score", "windows", "outlets", "top outlets")
    for document in documents:
        table.add_row(
            document["detected_at"][:19],
            document["status"],
            escape(document["term"]),
            str(document["peak_count"]),
            f"{document['baseline']:.1f}",
            f"{document['peak_score']:.1f}",
            str(document["windows"]),
            str(document["outlet_count"]),
            escape(", ".join(outlet["outlet"] for outlet in document["top_outlets"][:3])),
        )
    Console().print(table)


@app.command()
def replay(
    source: Annotated[
        Path, typer.Option("--from", help="JSON Lines of enriched articles.", exists=True, dir_okay=False)
    ],
    watch_list: Annotated[
        Path | None,
        typer.Option("--watchlist", help="Watch list (default: the alerts_watchlist_file setting).", exists=True),
    ] = None,
    time_field: Annotated[
        str, typer.Option(help="The article time that decides its window: published_at or ingested_at.")
    ] = "published_at",
    events: Annotated[str, typer.Option(help="Which alert events to print: opened or all.")] = "opened",
    as_json: JsonOption = False,
) -> None:
    """Run the detector over a file of timestamped articles, offline (same code as the worker)."""
    from newsflow.alerts.detector import DetectorParams
    from newsflow.alerts.replay import Replay, read_articles
    from newsflow.alerts.terms import SignificantTerms, WatchList

    if time_field not in ("published_at", "ingested_at"):
        raise typer.BadParameter("expected published_at or ingested_at", param_hint="--time-field")
    settings = load_settings()
    watch_list_file = watch_list or settings.alerts_watchlist_file
    watch = WatchList.load(watch_list_file) if watch_list_file else None
    run = Replay(
        DetectorParams.from_settings(settings),
        watch,
        time_field=time_field,
        grace_s=settings.alerts_grace_s,
        significant=SignificantTerms.from_settings(settings, watch),
    )
    started = time.perf_counter()
    for document in read_articles(source):
        run.feed(document)
    alerts = run.finish()
    elapsed = time.perf_counter() - started
    for alert in alerts:
        if events == "all" or alert.event == "opened":
            _print_alert(alert.as_document(), as_json)
    counts = run.counts
    Console(stderr=True).print(
        f"{counts.articles:,} articles ({counts.untimed:,} without a time), {counts.mentions:,} mentions "
        f"({counts.late:,} late) in {elapsed:.1f} s: {counts.articles / max(elapsed, 1e-9):,.0f} articles/s; "
        f"{sum(alert.event == 'opened' for alert in alerts)} alerts"
    )


@app.command()
def evaluate(
    days: Annotated[float, typer.Option(help="Simulated days.")] = 30.0,
    terms: Annotated[int, typer.Option(help="Active terms in the stream.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic stream.")] = 20260105,
    workdir: Annotated[Path, typer.Option(help="Where the stream, its bursts and watch list are written.")] = Path(
        "newsflow-alerts-eval"
    ),
    report: Annotated[
        Path | None, typer.Option(help="Markdown file whose evaluation section is replaced (docs/alerts.md).")
    ] = None,
    significant_terms: Annotated[
        bool, typer.Option(help="Also count significant terms (title and lead words), reported apart.")
    ] = False,
) -> None:
    """Measure the detector on a synthetic stream with injected bursts, against a fixed threshold."""
    from newsflow.alerts.detector import DetectorParams
    from newsflow.alerts.evaluation import evaluate as run_evaluation
    from newsflow.alerts.evaluation import markdown, write_report
    from newsflow.alerts.synthetic import StreamSpec

    settings = load_settings()
    spec = StreamSpec(days=days, terms=terms, window_s=settings.alerts_window_s, seed=seed)
    console = Console(stderr=True)
    result = run_evaluation(
        spec,
        DetectorParams.from_settings(settings),
        workdir,
        progress=console.print,
        significant_per_article=settings.alerts_significant_per_article if significant_terms else None,
    )
    command = f"newsflow alerts evaluate --days {days:g} --terms {terms} --seed {seed}" + (
        " --significant-terms" if significant_terms else ""
    )
    section = markdown(result, command)
    if report:
        write_report(report, section)
        console.print(f"evaluation written to {report}")
    else:
        typer.echo(section)


def _since(value: str) -> datetime:
    unit = DURATION_UNITS.get(value[-1:])
    if unit and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{unit: int(value[:-1])})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected 30m, 6h, 7d or an ISO date, got {value!r}", param_hint="--since") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _print_alert(document: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(orjson.dumps(document).decode())
        return
    outlets = ", ".join(f"{outlet['outlet']} {outlet['count']}" for outlet in document["top_outlets"][:3])
    typer.echo(
        f"{document['window']['end'][:19]} {document['event']:<7} {document['term']}: {document['count']} articles "
        f"(baseline {document['baseline']:.1f}, score {document['score']:.1f}, {document['windows']} windows, "
        f"{document['outlet_count']} outlets: {outlets}) id {document['id']}"
    )
