"""One indexed corpus for every search test: the samples (and ../shared/seeds when present) through the real worker.

Package scope: ingesting takes a worker start and the enrichment models, so the search, API,
relevance and browser tests share one deployment, searched read-only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from newsflow import paths
from newsflow.es.client import sync_client
from newsflow.settings import Settings

from ..conftest import WorkerProcess, ingest, isolated_deployment

SAMPLES = paths.samples_dir() / "articles.jsonl"
SEEDS = paths.project_root().parent / "shared" / "seeds"


def seed_files() -> list[str]:
    return sorted(str(path) for path in SEEDS.glob("*.txt")) if SEEDS.is_dir() else []


@pytest.fixture(scope="package")
def corpus(local_services: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a deployment holding the sample articles and the seeds, refreshed and idle."""
    with isolated_deployment(local_services) as settings:
        worker = WorkerProcess(settings, tmp_path_factory.mktemp("search-worker") / "worker.log")
        try:
            ingest(settings, worker, [str(SAMPLES)])
            if seed_files():
                ingest(settings, worker, seed_files(), outlet="seed")
        finally:
            worker.stop()
        with sync_client(settings) as es:
            es.indices.refresh(index=settings.articles_alias)
        yield settings


@pytest.fixture(scope="package")
def corpus_es(corpus: Settings) -> Iterator[Elasticsearch]:
    with sync_client(corpus) as client:
        yield client
