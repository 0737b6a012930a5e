"""Apache Kafka as one KRaft node (broker and controller in one JVM), from Maven Central jars.

The pinned version is the kafka_2.13 dependency of deploy/local/kafka/pom.xml; every jar
Maven resolves must match deploy/local/kafka/jars.sha256.
"""

from __future__ import annotations

import base64
import os
import shutil
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from newsflow import paths
from newsflow.errors import ServiceError
from newsflow.services import security
from newsflow.services.common import (
    LOOPBACK,
    Launch,
    deploy_dir,
    install_once,
    render_template,
    run_command,
    verify_checksums,
)
from newsflow.services.security import BROKER_USER, SCRAM_MECHANISM, LocalSecurity

# The scripts' default heap is 1 GB; half of it is plenty for a local node.
JVM_OPTIONS = ["-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true"]
PROBE_TIMEOUT_MS = 1000
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def config_dir() -> Path:
    return deploy_dir() / "kafka"


def pinned_version(pom: Path) -> str:
    for dependency in ElementTree.parse(pom).getroot().iterfind("m:dependencies/m:dependency", _POM_NS):
        if dependency.findtext("m:artifactId", namespaces=_POM_NS) == "kafka_2.13":
            return dependency.findtext("m:version", namespaces=_POM_NS) or ""
    raise ServiceError(f"{pom} has no org.apache.kafka:kafka_2.13 dependency")


def new_cluster_id() -> str:
    """A random KRaft cluster id in Kafka's Uuid text form: 16 bytes, URL-safe base64, unpadded."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # Kafka never issues these: they read as a CLI option
            return cluster_id


def server_properties(client_port: int, controller_port: int, data_dir: Path) -> str:
    return render_template(
        config_dir() / "server.properties",
        client_port=client_port,
        controller_port=controller_port,
        data_dir=data_dir,
    )


def secured_properties(client_port: int, controller_port: int, keystore: Path, secured: LocalSecurity) -> str:
    """The overrides of the secured mode, appended to server.properties."""
    return render_template(
        config_dir() / "server-secured.properties",
        client_port=client_port,
        controller_port=controller_port,
        broker_user=BROKER_USER,
        broker_password=secured.kafka_users[BROKER_USER],
        keystore=keystore,
        truststore=secured.ca_file,
    )


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        raise ServiceError("the Kafka broker needs Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless)")
    return java


class Kafka:
    name: ClassVar[str] = "kafka"
    endpoint_key: ClassVar[str] = "kafka_bootstrap"
    default_ports: ClassVar[dict[str, int]] = {"client": 9092, "controller": 9093}
    ready_timeout_s: ClassVar[float] = 90.0

    def version(self) -> str:
        return pinned_version(config_dir() / "pom.xml")

    def install_dir(self) -> Path:
        return paths.cache_dir() / f"kafka-{self.version()}"

    def install(self) -> None:
        install_once(self.install_dir(), self._download_jars, f"Kafka {self.version()} jars from Maven Central")

    def _download_jars(self, staging: Path) -> None:
        # Maven runs on a copy of the pom so that it writes nothing into the checkout.
        shutil.copy(config_dir() / "pom.xml", staging / "pom.xml")
        run_command(
            [
                "mvn",
                "--batch-mode",
                "--quiet",
                "--strict-checksums",  # Maven's default only warns on a sha1 mismatch
                f"-Dmaven.repo.local={paths.cache_dir() / 'maven-repository'}",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                "-DoutputDirectory=libs",
            ],
            "downloading the Kafka jars",
            cwd=staging,
        )
        (staging / "pom.xml").unlink()
        verify_checksums(staging / "libs", config_dir() / "jars.sha256")

    def _classpath_args(self) -> list[str]:
        return [
            f"-Dlog4j2.configurationFile={config_dir() / 'log4j2.properties'}",
            "-cp",
            str(self.install_dir() / "libs" / "*"),
        ]

    def prepare(self, ports: Mapping[str, int]) -> Launch:
        home = paths.state_dir() / self.name
        data_dir = home / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        config = home / "server.properties"
        properties = server_properties(ports["client"], ports["controller"], data_dir)
        secured = security.load()
        scram_users: list[str] = []
        if secured is not None:
            keystore = home / "keystore.pem"
            keystore.write_text(secured.key_file.read_text() + secured.certificate_file.read_text())
            keystore.chmod(0o600)
            properties += secured_properties(ports["client"], ports["controller"], keystore, secured)
            for user, password in secured.kafka_users.items():
                scram_users += ["--add-scram", f"{SCRAM_MECHANISM}=[name={user},password={password}]"]
        config.write_text(properties)
        java = java_executable()
        if not (data_dir / "meta.properties").exists():
            run_command(
                [
                    java,
                    *self._classpath_args(),
                    "kafka.tools.StorageTool",
                    "format",
                    "--cluster-id",
                    self._cluster_id(home),
                    "--config",
                    str(config),
                    *scram_users,
                ],
                "formatting the Kafka storage",
            )
        return Launch(
            argv=[java, *JVM_OPTIONS, *self._classpath_args(), "kafka.Kafka", str(config)],
            cwd=home,
            log=home / "kafka.log",
        )

    @staticmethod
    def _cluster_id(home: Path) -> str:
        """The id this checkout's storage was (or will be) formatted with, made once and kept."""
        id_file = home / "cluster.id"
        if not id_file.exists():
            id_file.write_text(new_cluster_id())
        return id_file.read_text().strip()

    def endpoint(self, ports: Mapping[str, int]) -> str:
        return f"{LOOPBACK}:{ports['client']}"

    def answers(self, endpoint: str) -> bool:
        # An admin request, not a TCP connect: the port accepts before requests are served.
        secured = security.load()
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=endpoint,
                client_id="newsflow-services-probe",
                bootstrap_timeout_ms=PROBE_TIMEOUT_MS,
                request_timeout_ms=PROBE_TIMEOUT_MS,
                **(secured.kafka_client_options() if secured else {}),
            )
        except (KafkaError, OSError):
            return False
        try:
            return bool(admin.describe_cluster()["brokers"])
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()
