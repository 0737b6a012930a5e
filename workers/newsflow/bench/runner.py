"""One benchmark run: the parts asked for (and those they need), their sizes, one result object."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsflow import paths
from newsflow.bench import e2e, enrichment, memory, search
from newsflow.deployment import isolated
from newsflow.settings import Settings

PARTS = ("enrichment", "e2e", "latency", "scaling", "memory", "search")
# A part that reports a ratio to another part's figure runs that part too.
NEEDS = {"e2e": ("enrichment",), "latency": ("e2e",), "scaling": ("e2e",)}
E2E_GOALS = {"full": ("vs_enrichment", 0.85), "light": ("vs_plain_copy", 0.5)}


@dataclass(frozen=True)
class Sizes:
    enrichment: dict[str, int]
    plain_copy: int
    e2e: dict[str, int]  # most articles produced per profile; fewer when the window would end first
    e2e_window_s: float  # longest throughput measurement, after the first commit
    e2e_batch_size: int | None  # None: the settings' batch size
    latency_s: float
    scaling_workers: int  # 0: not measured
    memory_articles: int
    search_documents: int
    search_queries: int
    timeout_s: float = 900.0


FULL = Sizes(
    enrichment={"light": 3000, "full": 500},
    plain_copy=10_000,
    e2e={"light": 20000, "full": 3000},
    e2e_window_s=180,
    e2e_batch_size=None,
    latency_s=30,
    scaling_workers=2,
    memory_articles=1_000_000,
    search_documents=100_000,
    search_queries=1000,
)
QUICK = Sizes(
    enrichment={"light": 400, "full": 100},
    plain_copy=1000,
    e2e={"light": 1500, "full": 400},
    e2e_window_s=30,
    # Two batches of the full profile at the default size would take minutes: smaller batches, stated.
    e2e_batch_size=100,
    latency_s=6,
    scaling_workers=0,
    memory_articles=10_000,
    search_documents=1_000,
    search_queries=200,
    timeout_s=240,
)


def with_prerequisites(parts: Sequence[str]) -> list[str]:
    wanted: set[str] = set()

    def add(part: str) -> None:
        wanted.add(part)
        for needed in NEEDS.get(part, ()):
            add(needed)

    for part in parts:
        add(part)
    return [part for part in PARTS if part in wanted]


@dataclass
class Run:
    parts: list[str]
    profiles: list[str]
    sizes: Sizes
    command: str
    on_progress: Callable[[str], None] = lambda message: None
    latency_rate: float | None = None  # articles/s; None: LATENCY_LOAD of the measured maximum
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="newsflow-bench-")))

    def settings(self, name: str, **overrides: Any) -> Settings:
        return Settings(name_prefix=f"bench-{self.run_id}-{name}-", **overrides)

    def execute(self) -> dict[str, Any]:
        result: dict[str, Any] = {"meta": self.meta()}
        if "enrichment" in self.parts:
            self.on_progress("enrichment per core")
            result["enrichment"] = enrichment.run(self.profiles, self.sizes.enrichment)
        if "e2e" in self.parts:
            result.update(self.end_to_end(result["enrichment"]))
        if "memory" in self.parts:
            self.on_progress(f"memory: {self.sizes.memory_articles:,} articles")
            result.setdefault("memory", {})["long_run"] = memory.run(
                self.sizes.memory_articles, self.log_dir / "memory-samples.jsonl", self.on_progress
            )
        if "search" in self.parts:
            self.on_progress(f"search: {self.sizes.search_documents:,} documents")
            settings = search.search_settings(f"bench-{self.run_id}-search-")
            with isolated(settings):
                result["search"] = search.run(settings, self.sizes.search_documents, self.sizes.search_queries)
        result["meta"]["load_average_end"] = os.getloadavg()
        return result

    def end_to_end(self, enriched: dict[str, Any]) -> dict[str, Any]:
        """The plain copy, then per profile: throughput, latency and registry size with the same
        warm worker, and scaling with more workers."""
        sections: dict[str, dict[str, Any]] = {"end_to_end": {}, "latency": {}, "memory": {"registry": {}}}
        timeout_s = self.sizes.timeout_s
        self.on_progress(f"plain Kafka -> Elasticsearch copy of {self.sizes.plain_copy:,} articles")
        with isolated(self.settings("copy")) as settings:
            sections["end_to_end"]["plain_copy"] = e2e.plain_copy(settings, self.sizes.plain_copy, timeout_s)
        for profile in self.profiles:
            settings = self.e2e_settings(profile)
            limit = self.e2e_limit(profile, settings, enriched[profile]["chain_per_s"])
            with isolated(settings), e2e.running_workers(settings, 1, self.log_dir) as workers:
                self.on_progress(f"end to end, {profile}: up to {limit:,} articles or {self.sizes.e2e_window_s:.0f}s")
                latency = "latency" in self.parts
                measured = e2e.measure_throughput(
                    settings, workers, limit, self.sizes.e2e_window_s, timeout_s, drain=latency
                )
                if latency and measured["drained"] and measured["per_s"] > 0:
                    rate = self.latency_rate or e2e.LATENCY_LOAD * measured["per_s"]
                    self.on_progress(f"latency, {profile}: {rate:.1f} articles/s for {self.sizes.latency_s:.0f}s")
                    sections["latency"][profile] = e2e.measure_latency(
                        settings, rate, self.sizes.latency_s, start=measured["articles"]
                    )
                    basis = f"{e2e.LATENCY_LOAD:.0%} of the measured maximum"
                    sections["latency"][profile]["rate_basis"] = "fixed" if self.latency_rate else basis
                sections["memory"]["registry"][profile] = e2e.registry_stats(settings)
            sections["end_to_end"][profile] = self.e2e_ratios(profile, measured, enriched[profile], sections)
            if "scaling" in self.parts and self.sizes.scaling_workers > 1:
                enrichment_per_s = enriched[profile]["chain_per_s"]
                sections.setdefault("scaling", {})[profile] = self.scaling(profile, measured, enrichment_per_s)
        if "scaling" in self.parts and self.sizes.scaling_workers <= 1:
            sections["scaling"] = {"skipped": "quick mode"}
        return {name: section for name, section in sections.items() if section}

    def e2e_settings(self, profile: str, name: str | None = None) -> Settings:
        batch = {"batch_size": self.sizes.e2e_batch_size} if self.sizes.e2e_batch_size else {}
        return self.settings(name or profile, **enrichment.PROFILES[profile], **batch)

    def e2e_limit(self, profile: str, settings: Settings, enrichment_per_s: float, workers: int = 1) -> int:
        """Enough articles to keep the workers busy for the window (one cannot outrun enrichment alone)."""
        enough = max(3 * workers * settings.batch_size, round(workers * enrichment_per_s * self.sizes.e2e_window_s))
        return min(enough, workers * self.sizes.e2e[profile])

    def e2e_ratios(
        self, profile: str, measured: dict[str, Any], enriched: dict[str, Any], sections: dict[str, Any]
    ) -> dict[str, Any]:
        copy_rate = sections["end_to_end"]["plain_copy"]["per_s"]
        ratios = {
            "vs_enrichment": measured["per_s"] / enriched["chain_per_s"],
            "vs_plain_copy": measured["per_s"] / copy_rate,
        }
        goal_name, goal = E2E_GOALS[profile]
        return {**measured, **ratios, "goal": f"{goal_name} >= {goal}", "meets_goal": ratios[goal_name] >= goal}

    def scaling(self, profile: str, one_worker: dict[str, Any], enrichment_per_s: float) -> dict[str, Any]:
        workers = self.sizes.scaling_workers
        settings = self.e2e_settings(profile, f"{profile}-x{workers}")
        limit = self.e2e_limit(profile, settings, enrichment_per_s, workers)
        self.on_progress(f"scaling, {profile}: {workers} workers over {settings.topic_partitions} partitions")
        with isolated(settings), e2e.running_workers(settings, workers, self.log_dir) as running:
            measured = e2e.measure_throughput(
                settings, running, limit, self.sizes.e2e_window_s, self.sizes.timeout_s, drain=False
            )
        return {**measured, "one_worker_per_s": one_worker["per_s"], "speedup": measured["per_s"] / one_worker["per_s"]}

    def meta(self) -> dict[str, Any]:
        return {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": self.command,
            "parts": self.parts,
            "profiles": self.profiles,
            "sizes": self.sizes.__dict__,
            "machine": machine(),
            "load_average_start": os.getloadavg(),
            "commit": git_commit(),
            "worker_logs": str(self.log_dir),
        }


def _proc_field(path: str, name: str) -> str:
    return next(
        (line.split(":", 1)[1].strip() for line in Path(path).read_text().splitlines() if line.startswith(name)), ""
    )


def machine() -> dict[str, Any]:
    memory_kb = int(_proc_field("/proc/meminfo", "MemTotal").split()[0])
    return {
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 2**20, 1),
        "python": sys.version.split()[0],
    }


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=paths.project_root(), capture_output=True, text=True, check=True).stdout


def git_commit() -> str:
    """HEAD, with `+dirty` when tracked files differ from it (figures then include uncommitted work)."""
    try:
        return _git("rev-parse", "--short", "HEAD").strip() + (
            "+dirty" if _git("status", "--porcelain", "-uno") else ""
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
