"""`newsflow demo`: services up, topics and indices, worker, sample articles in, a search out."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from newsflow import paths, services
from newsflow.cli.search import print_result
from newsflow.es.client import sync_client
from newsflow.es.indices import install
from newsflow.kafka.admin import ensure_topics
from newsflow.kafka.dlq import count_by_reason
from newsflow.kafka.lag import wait_until_caught_up
from newsflow.kafka.producer import produce_inputs
from newsflow.search import SearchRequest, entity_table, search
from newsflow.settings import Settings
from newsflow.worker import process


def demo_inputs() -> list[str]:
    """The bundled corpus, its deliberately malformed messages, and the shared seed articles when present."""
    inputs = [str(paths.samples_dir() / "articles.jsonl"), str(paths.samples_dir() / "malformed.jsonl")]
    seeds = paths.project_root().parent / "shared" / "seeds"
    if seeds.is_dir():
        inputs += [str(path) for path in sorted(Path(seeds).glob("*.txt"))]
    return inputs


def show_an_alert(console: Console, settings: Settings) -> None:
    """Replay a synthetic 3-day stream with injected bursts through the spike detector (the code
    `newsflow alerts run` uses): a handful of sample articles has no baseline to spike against."""
    from newsflow.alerts.detector import DetectorParams
    from newsflow.alerts.replay import Replay
    from newsflow.alerts.synthetic import StreamSpec, SyntheticStream

    stream = SyntheticStream(StreamSpec(days=3, terms=40, keyword_terms=0, bursts_per_day=3, decoys_per_day=0))
    replay = Replay(DetectorParams.from_settings(settings), None, grace_s=settings.alerts_grace_s)
    for document in stream.articles():
        replay.feed(document)
    opened = [alert.as_document() for alert in replay.finish() if alert.event == "opened"]
    console.print(
        f"[bold]spike alerts[/bold] on a synthetic 3-day stream with {len(stream.bursts)} injected bursts: "
        f"{len(opened)} opened"
    )
    if opened:
        first = opened[0]
        outlets = ", ".join(f"{entry['outlet']} {entry['count']}" for entry in first["top_outlets"][:3])
        console.print(
            f"  {first['detected_at'][:16]} {first['term']}: {first['count']} articles in {first['window_s']:.0f} s "
            f"(baseline {first['baseline']:.1f}, score {first['score']:.1f}, "
            f"{first['outlet_count']} outlets: {outlets})"
        )


def demo(
    query: str = typer.Option("ISIS", help="What the demo searches for once the articles are indexed."),
    timeout: float = typer.Option(300, help="Seconds to wait for the worker to index everything."),
) -> None:
    """Run the whole flow on this machine; services and worker keep running afterwards (`make down` stops them)."""
    console = Console()
    started = time.perf_counter()
    with console.status("starting Kafka and Elasticsearch (first run downloads them once)"):
        services.up()
    settings = Settings()  # read after `up`, which records the ports actually used
    ensure_topics(settings)
    with sync_client(settings) as es:
        install(es, settings)
    pid = process.start_detached()
    console.print(f"worker running (pid {pid}, log {process.log_file()})")
    counts = produce_inputs(settings, demo_inputs(), outlet="shared seeds")
    console.print(f"published {counts.messages_sent} messages to {settings.topic_raw}")
    with Progress(
        TextColumn("worker"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("indexing", total=None)
        wait_until_caught_up(
            settings, timeout, on_progress=lambda done, total: progress.update(task, completed=done, total=total)
        )
    with sync_client(settings) as es:
        es.indices.refresh(index=settings.articles_alias)
        result = search(
            es, settings.articles_alias, SearchRequest(query=query, size=5), entity_table(tuple(settings.entity_files))
        )
    print_result(result, console)
    dead = count_by_reason(settings)
    console.print(
        f"[bold]dead-lettered on {settings.topic_dlq}:[/bold] "
        + (", ".join(f"{reason} ({count})" for reason, count in dead.most_common()) or "none")
    )
    show_an_alert(console, settings)
    console.print(f"demo finished in {time.perf_counter() - started:.0f}s; search more with `newsflow search QUERY`")
