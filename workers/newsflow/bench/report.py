"""The benchmark result as a table (one row per figure, with its ratio and goal) and as a PNG chart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.table import Table

Row = tuple[str, str, str, str]  # figure, value, ratio, goal
# The story state's parts in the memory run: label, and what an entry is (one, several).
STORY_STATE_PARTS = {
    "held_stories": ("held stories", ("story", "stories")),
    "placed_ids": ("placed article ids", ("article", "articles")),
    "document_frequencies": ("document frequencies", ("key", "keys")),
}


def _rate(per_s: float) -> str:
    return f"{per_s:,.0f}/s" if per_s >= 10 else f"{per_s:,.1f}/s"


def _verdict(met: bool) -> str:
    return "[green]met[/green]" if met else "[red]missed[/red]"


def _enrichment_rows(section: dict[str, Any]) -> Iterator[Row]:
    baseline = section["baseline"]
    yield f"baseline: {baseline['name']}", _rate(baseline["per_s"]), "1", ""
    for profile in ("light", "full"):
        if profile not in section:
            continue
        figures = section[profile]
        yield (
            f"{profile}: Enricher.enrich_batch ({figures['articles']:,} articles)",
            f"{_rate(figures['chain_per_s'])} ({figures['ms_per_article']:.2f} ms)",
            f"{figures['chain_vs_baseline']:.4f}× baseline",
            f">= {figures['goal_per_s']:,}/s {_verdict(figures['meets_goal'])}",
        )
        if figures["not_in_chain"]:
            yield f"  {profile}: enabled but not in the chain", ", ".join(figures["not_in_chain"]), "", ""
        for stage, stage_figures in figures["stages"].items():
            yield (
                f"  {profile}: {stage}",
                f"{_rate(stage_figures['per_s'])} ({stage_figures['ms_per_article']:.2f} ms)",
                f"{stage_figures['share']:.0%} of chain",
                "",
            )


def _e2e_rows(section: dict[str, Any]) -> Iterator[Row]:
    copy = section["plain_copy"]
    yield (
        f"plain Kafka → Elasticsearch copy ({copy['articles']:,})",
        _rate(copy["per_s"]),
        _costs("client", copy["client_cpu_ms_per_article"], copy["node_cpu_ms_per_article"], copy["es_ms_per_article"]),
        "",
    )
    for profile in ("light", "full"):
        if profile not in section:
            continue
        figures = section[profile]
        window = "" if figures["caught_up"] else f", {figures['measured_s']:.0f}s window"
        yield (
            f"{profile}: raw → searchable ({figures['measured_articles']:,}{window}, batch {figures['batch_size']})",
            _rate(figures["per_s"]),
            f"{figures['vs_enrichment']:.2f}× enrichment, {figures['vs_plain_copy']:.2f}× plain copy",
            f"{figures['goal']} {_verdict(figures['meets_goal'])}",
        )
        yield (
            f"  {profile}: cost per article",
            _costs(
                "worker",
                figures["worker_cpu_ms_per_article"],
                figures["node_cpu_ms_per_article"],
                figures["es_ms_per_article"],
            ),
            "",
            "",
        )


def _costs(client: str, client_ms: float, node_ms: float, es_ms: dict[str, float]) -> str:
    indices = ", ".join(f"{index} {ms:.1f}" for index, ms in es_ms.items() if index != "total" and ms >= 0.05)
    return (
        f"{client} CPU {client_ms:.2f} ms; node CPU {node_ms:.2f} ms; "
        f"Elasticsearch index + search {es_ms['total']:.2f} ms ({indices})"
    )


def _latency_rows(section: dict[str, Any]) -> Iterator[Row]:
    for profile, figures in section.items():
        yield (
            f"{profile}: produce → searchable at {_rate(figures['rate_per_s'])} "
            f"({figures['searchable']:,} of {figures['articles']:,} searchable)",
            f"p50 {figures['p50_s']:.2f} s, p99 {figures['p99_s']:.2f} s",
            "",
            f"p99 < 2 s {_verdict(figures['p99_s'] < 2)}",
        )


def _scaling_rows(section: dict[str, Any]) -> Iterator[Row]:
    if "skipped" in section:
        yield "scaling", f"skipped ({section['skipped']})", "", ""
        return
    for profile, figures in section.items():
        yield (
            f"{profile}: {figures['workers']} workers",
            _rate(figures["per_s"]),
            f"{figures['speedup']:.2f}× one worker ({_rate(figures['one_worker_per_s'])})",
            "",
        )


def _memory_rows(section: dict[str, Any], end_to_end: dict[str, Any]) -> Iterator[Row]:
    if run := section.get("long_run"):
        rss = run["rss_mb"]
        recent = run["recent_signatures"]
        yield (
            f"state path, {run['articles']:,} articles: RSS",
            f"{rss['first']:.0f} → {rss['bounded']:.0f} (bound, {run['bounded_at_articles']:,}) → {rss['last']:.0f} MB",
            f"{run['rss_growth_after_bound_mb']:+.1f} MB after the bound",
            "flat",
        )
        yield (
            f"near-duplicate memory ({recent['entries']:,} signatures)",
            f"{recent['bytes'] / 2**20:.1f} MB",
            f"{recent['bytes_per_entry']:,.0f} B/article held",
            "",
        )
        learner = run["boilerplate_learner"]
        yield (
            "boilerplate learner",
            f"{learner['bytes'] / 2**20:.1f} MB",
            f"{learner['growth_after_bound_bytes'] / 2**10:+.0f} KB after the bound",
            "",
        )
        for name, (label, (unit, units)) in STORY_STATE_PARTS.items():
            part = run["story_state"][name]
            growth = part["growth_after_bound_bytes"]
            yield (
                f"{label} ({part['entries']:,} {units})",
                f"{part['bytes'] / 2**20:.1f} MB",
                f"{part['bytes_per_entry']:,.0f} B/{unit}; "
                + ("bound not reached" if growth is None else f"{growth / 2**10:+.0f} KB after its bound"),
                "",
            )
    for profile, registries in section.get("registry", {}).items():
        for name, figures in registries.items():
            yield (
                f"{profile}: Elasticsearch {name} registry",
                f"{figures['docs']:,} docs, {figures['bytes'] / 2**20:.1f} MB",
                f"{figures['bytes_per_doc']:,.0f} B/article",
                "",
            )
    for profile in ("light", "full"):
        if profile in end_to_end:
            peak = end_to_end[profile]["worker_peak_rss_mb"]
            yield f"{profile}: worker peak RSS (end to end)", f"{peak:.0f} MB", "", ""


def _search_rows(section: dict[str, Any]) -> Iterator[Row]:
    yield (
        f"{section['queries']:,} mixed queries over {section['load']['documents']:,} documents",
        f"p50 {section['p50_ms']:.0f} ms, p99 {section['p99_ms']:.0f} ms",
        f"{section['p50_vs_baseline']:.1f}× / {section['p99_vs_baseline']:.1f}× baseline; "
        f"{section['with_hits']:,} with hits",
        "",
    )
    baseline = section["baseline"]
    yield (
        f"  baseline: {baseline['name']}",
        f"p50 {baseline['p50_ms']:.0f} ms, p99 {baseline['p99_ms']:.0f} ms",
        "1",
        "",
    )


def table(result: dict[str, Any]) -> Table:
    meta = result["meta"]
    out = Table(title=f"newsflow bench — {meta['date']} — {meta['machine']['cores']} cores, commit {meta['commit']}")
    for column in ("figure", "value", "ratio", "goal"):
        out.add_column(column)
    sections = [
        ("enrichment (per core, no I/O)", "enrichment", lambda: _enrichment_rows(result["enrichment"])),
        ("end to end", "end_to_end", lambda: _e2e_rows(result["end_to_end"])),
        ("latency", "latency", lambda: _latency_rows(result["latency"])),
        ("scaling", "scaling", lambda: _scaling_rows(result["scaling"])),
        ("memory", "memory", lambda: _memory_rows(result["memory"], result.get("end_to_end", {}))),
        ("search", "search", lambda: _search_rows(result["search"])),
    ]
    for title, key, rows in sections:
        if key not in result:
            continue
        out.add_section()
        out.add_row(f"[bold]{title}[/bold]", "", "", "")
        for row in rows():
            out.add_row(*row)
    return out


def chart(result: dict[str, Any], path: Path) -> None:
    """Throughput, stage shares, latencies and memory in one PNG (needs the `bench` extra: matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(13, 9))
    _throughput_chart(axes[0][0], result)
    _stage_chart(axes[0][1], result.get("enrichment", {}))
    _latency_chart(axes[1][0], result)
    _memory_chart(axes[1][1], result.get("memory", {}).get("long_run"))
    meta = result["meta"]
    figure.suptitle(f"newsflow bench, {meta['date'][:10]}, {meta['machine']['cores']} cores — {meta['command']}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _throughput_chart(ax: Any, result: dict[str, Any]) -> None:
    enrichment, end_to_end = result.get("enrichment", {}), result.get("end_to_end", {})
    bars: dict[str, float] = {}
    if "baseline" in enrichment:
        bars["JSON round trip"] = enrichment["baseline"]["per_s"]
    for profile in ("light", "full"):
        if profile in enrichment:
            bars[f"{profile}\nenrichment"] = enrichment[profile]["chain_per_s"]
        if profile in end_to_end:
            bars[f"{profile}\nend to end"] = end_to_end[profile]["per_s"]
    if "plain_copy" in end_to_end:
        bars["plain\ncopy"] = end_to_end["plain_copy"]["per_s"]
    ax.bar(list(bars), list(bars.values()), color="tab:blue")
    ax.set_yscale("log")
    ax.set_ylabel("articles/s (log)")
    ax.set_title("throughput (enrichment per core; end to end wall clock)")
    ax.tick_params(axis="x", labelsize=8)
    for goal, label in ((1000, "light goal"), (60, "full goal")):
        ax.axhline(goal, linestyle="--", linewidth=0.8, color="grey")
        ax.text(len(bars) - 0.5, goal, label, fontsize=7, va="bottom", ha="right")


def _stage_chart(ax: Any, enrichment: dict[str, Any]) -> None:
    profiles = [profile for profile in ("light", "full") if profile in enrichment]
    bottoms = [0.0] * len(profiles)
    stages = list(dict.fromkeys(stage for profile in profiles for stage in enrichment[profile]["stages"]))
    for stage in stages:
        costs = [enrichment[profile]["stages"].get(stage, {}).get("ms_per_article", 0.0) for profile in profiles]
        ax.bar(profiles, costs, bottom=bottoms, label=stage)
        bottoms = [bottom + cost for bottom, cost in zip(bottoms, costs, strict=True)]
    ax.set_ylabel("ms per article (CPU)")
    ax.set_title("where enrichment time goes")
    ax.legend(fontsize=7)


def _latency_chart(ax: Any, result: dict[str, Any]) -> None:
    labels, p50, p99 = [], [], []
    for profile, figures in result.get("latency", {}).items():
        labels.append(f"{profile} produce→searchable")
        p50.append(figures["p50_s"] * 1000)
        p99.append(figures["p99_s"] * 1000)
    if "search" in result:
        labels.append("search query")
        p50.append(result["search"]["p50_ms"])
        p99.append(result["search"]["p99_ms"])
    positions = range(len(labels))
    ax.bar([p - 0.2 for p in positions], p50, width=0.4, label="p50")
    ax.bar([p + 0.2 for p in positions], p99, width=0.4, label="p99")
    ax.set_xticks(list(positions), labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.set_title("latency")
    ax.legend(fontsize=7)


def _memory_chart(ax: Any, long_run: dict[str, Any] | None) -> None:
    ax.set_title("memory over the long run")
    if not long_run:
        return
    samples = long_run["samples"]
    articles = [sample["articles"] for sample in samples]
    for key, label in (
        ("rss_bytes", "process RSS"),
        ("recent_signatures_bytes", "near-duplicate memory"),
        ("boilerplate_learner_bytes", "boilerplate learner"),
        *((f"{name}_bytes", label) for name, (label, _) in STORY_STATE_PARTS.items()),
    ):
        ax.plot(articles, [sample[key] / 2**20 for sample in samples], marker=".", label=label)
    ax.set_xlabel("articles")
    ax.set_ylabel("MB")
    ax.legend(fontsize=7)
