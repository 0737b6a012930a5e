import base64
from pathlib import Path

import pytest
import yaml

from newsflow.errors import ServiceError
from newsflow.services.common import render_template
from newsflow.services.elasticsearch import elasticsearch_yml, jvm_options
from newsflow.services.kafka import config_dir, new_cluster_id, pinned_version, secured_properties, server_properties
from newsflow.services.security import BROKER_USER, LocalSecurity


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_kafka_server_properties_single_node_kraft(tmp_path):
    config = _properties(server_properties(19092, 19093, tmp_path / "data"))
    assert config["process.roles"] == "broker,controller"
    assert config["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert config["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert config["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert config["log.dirs"] == str(tmp_path / "data")
    internal_topic_settings = [key for key in config if key.endswith((".replication.factor", ".min.isr"))]
    assert len(internal_topic_settings) == 5
    assert {config[key] for key in internal_topic_settings} == {"1"}
    assert config["group.initial.rebalance.delay.ms"] == "0"
    assert config["auto.create.topics.enable"] == "false"
    assert int(config["message.max.bytes"]) >= 10 * 1024 * 1024


def test_kafka_secured_mode_leaves_only_a_sasl_ssl_client_listener(tmp_path):
    secured = LocalSecurity(
        tmp_path / "ca.crt", tmp_path / "node.crt", tmp_path / "node.key", {BROKER_USER: "b-pw", "w": "w-pw"}, "e"
    )
    base = server_properties(19092, 19093, tmp_path / "data")
    # Later keys win in a Java properties file: the secured overrides are appended.
    config = _properties(base + secured_properties(19092, 19093, tmp_path / "keystore.pem", secured))
    assert config["listeners"] == "SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert config["advertised.listeners"] == "SASL_SSL://127.0.0.1:19092"
    assert config["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
    assert config["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert 'username="broker" password="b-pw";' in config["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    assert config["ssl.keystore.type"] == config["ssl.truststore.type"] == "PEM"
    assert config["ssl.truststore.location"] == str(tmp_path / "ca.crt")


def test_elasticsearch_yml_single_node_without_security_ml_or_geoip(tmp_path):
    config = yaml.safe_load(elasticsearch_yml(19200, tmp_path / "data", tmp_path / "logs"))
    assert config["network.host"] == "127.0.0.1"
    assert config["http.port"] == 19200
    assert config["discovery.type"] == "single-node"
    assert config["path.data"] == str(tmp_path / "data")
    assert config["path.logs"] == str(tmp_path / "logs")
    assert config["xpack.security.enabled"] is False
    assert config["xpack.ml.enabled"] is False
    assert config["ingest.geoip.downloader.enabled"] is False
    assert config["search.worker_threads_enabled"] is False


def test_elasticsearch_yml_secured_mode_turns_on_security_and_https(tmp_path):
    config = yaml.safe_load(elasticsearch_yml(19200, tmp_path / "data", tmp_path / "logs", secured=True))
    assert config["xpack.security.enabled"] is True
    assert config["xpack.security.http.ssl.enabled"] is True
    assert config["xpack.security.http.ssl.certificate"] == "certs/node.crt"
    assert config["xpack.security.http.ssl.key"] == "certs/node.key"
    assert config["xpack.security.http.ssl.certificate_authorities"] == ["certs/ca.crt"]


def test_elasticsearch_jvm_options_fix_the_heap_and_use_absolute_paths(tmp_path):
    options = jvm_options(tmp_path / "data", tmp_path / "logs", tmp_path / "tmp").splitlines()
    assert "-Xms2g" in options and "-Xmx2g" in options
    assert f"-XX:ErrorFile={tmp_path / 'logs'}/hs_err_pid%p.log" in options
    assert any(f"file={tmp_path / 'logs'}/gc.log" in option for option in options)
    assert not any("${" in option for option in options)


def test_a_template_value_left_out_is_an_error(tmp_path):
    template = tmp_path / "t.properties"
    template.write_text("port=${port}\nhost=${host}\n")
    assert render_template(template, port=1, host="h") == "port=1\nhost=h\n"
    with pytest.raises(ServiceError, match=r"\$\{host\}"):
        render_template(template, port=1)


def test_the_pinned_kafka_version_comes_from_the_pom():
    version = pinned_version(config_dir() / "pom.xml")
    assert version.startswith(("3.9.", "4."))
    checksums = (config_dir() / "jars.sha256").read_text()
    assert f"kafka_2.13-{version}.jar" in checksums


def test_pom_without_kafka_is_refused(tmp_path: Path):
    pom = tmp_path / "pom.xml"
    pom.write_text('<project xmlns="http://maven.apache.org/POM/4.0.0"><dependencies/></project>')
    with pytest.raises(ServiceError):
        pinned_version(pom)


def test_cluster_ids_are_kafka_uuids():
    cluster_ids = {new_cluster_id() for _ in range(50)}
    assert len(cluster_ids) == 50
    for cluster_id in cluster_ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
