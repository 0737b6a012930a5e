"""docker-compose.yml and the Dockerfile agree with newsflow's settings and the locally pinned services."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml

from newsflow import cli, paths
from newsflow.services import SERVICES
from newsflow.settings import Settings

ROOT = paths.project_root()
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES_BY_NAME: dict[str, Any] = COMPOSE["services"]
NEWSFLOW_SERVICES = ("setup", "worker")
ENV_PREFIX = Settings.model_config["env_prefix"]


def default_port(field: str) -> int:
    """The port in a Settings field's default endpoint (host:port or URL)."""
    default = Settings.model_fields[field].default
    return urlsplit(default if "://" in default else f"//{default}").port


def published_host_ports(service: str) -> set[int]:
    return {int(str(mapping).split(":")[-2]) for mapping in SERVICES_BY_NAME[service].get("ports", [])}


def image_tag(service: str) -> tuple[str, str]:
    name, _, tag = SERVICES_BY_NAME[service]["image"].rpartition(":")
    return name, tag


def newsflow_environment(service: str) -> dict[str, str]:
    return {key: str(value) for key, value in SERVICES_BY_NAME[service].get("environment", {}).items()}


def test_the_expected_services_exist() -> None:
    assert {"kafka", "elasticsearch", "kibana", *NEWSFLOW_SERVICES} <= set(SERVICES_BY_NAME)


def test_images_are_the_versions_pinned_for_local_runs() -> None:
    elastic_version = SERVICES["elasticsearch"].version()
    assert image_tag("kafka") == ("apache/kafka", SERVICES["kafka"].version())
    assert image_tag("elasticsearch") == ("docker.elastic.co/elasticsearch/elasticsearch", elastic_version)
    # Kibana only talks to an Elasticsearch of its own version.
    assert image_tag("kibana") == ("docker.elastic.co/kibana/kibana", elastic_version)


def test_published_ports_are_the_settings_defaults() -> None:
    assert default_port("kafka_bootstrap") in published_host_ports("kafka")
    assert default_port("es_url") in published_host_ports("elasticsearch")
    kafka_env = SERVICES_BY_NAME["kafka"]["environment"]
    # Clients on the host are sent back to the published port.
    assert f":{default_port('kafka_bootstrap')}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]


@pytest.mark.parametrize("service", NEWSFLOW_SERVICES)
def test_newsflow_environment_is_real_valid_settings(service: str) -> None:
    environment = newsflow_environment(service)
    assert {"NEWSFLOW_KAFKA_BOOTSTRAP", "NEWSFLOW_ES_URL"} <= set(environment)
    fields = {
        key.removeprefix(ENV_PREFIX).lower(): value for key, value in environment.items() if key.startswith(ENV_PREFIX)
    }
    assert set(fields) <= set(Settings.model_fields), "every NEWSFLOW_ variable names a Settings field"
    settings = Settings(**fields)
    # The containers reach the services by name, on a listener the service really has.
    host, _, port = settings.kafka_bootstrap.rpartition(":")
    assert host == "kafka"
    assert f"INTERNAL://kafka:{port}" in SERVICES_BY_NAME["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert urlsplit(settings.es_url).hostname == "elasticsearch"
    assert urlsplit(settings.es_url).port == 9200


@pytest.mark.parametrize("service", NEWSFLOW_SERVICES)
def test_newsflow_services_run_real_commands(service: str) -> None:
    if not cli.app.registered_commands:
        cli._register_commands()
    commands = typer.main.get_command(cli.app).commands
    assert SERVICES_BY_NAME[service]["command"][0] in commands


def test_start_order_waits_for_health_and_setup() -> None:
    for dependency in ("kafka", "elasticsearch"):
        assert "healthcheck" in SERVICES_BY_NAME[dependency]
        assert SERVICES_BY_NAME["setup"]["depends_on"][dependency]["condition"] == "service_healthy"
    assert SERVICES_BY_NAME["worker"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_dockerfile_runs_the_newsflow_console_script() -> None:
    instructions = dockerfile_instructions()
    assert ("FROM", "python:3.11-slim") in instructions
    entrypoint = json.loads(next(argument for keyword, argument in instructions if keyword == "ENTRYPOINT"))
    assert entrypoint == ["newsflow"]
    assert re.search(r"^newsflow\s*=", (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.MULTILINE)


def test_dockerfile_copies_what_exists_and_what_newsflow_reads() -> None:
    sources = {
        source
        for keyword, argument in dockerfile_instructions()
        if keyword == "COPY"
        for source in argument.split()[:-1]
    }
    assert {"pyproject.toml", "workers", "schemas", "samples"} <= sources
    assert all((ROOT / source).exists() for source in sources)
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    # The host's recorded endpoints (.newsflow/services.json) would override the image's settings.
    assert ".newsflow" in ignored
