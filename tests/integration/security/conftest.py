"""A secured Kafka broker of the tests' own (SASL/SCRAM-SHA-512 over TLS, certificates made here
with openssl), beside the checkout's shared services, which stay as they are."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsflow import services
from newsflow.services import security
from newsflow.services.security import BROKER_USER, LocalSecurity

from ..faults.conftest import services_state

WORKER_USER = "newsflow-worker"
WORKER_PASSWORD = "worker-scram-Secret-0f3a"
ELASTIC_PASSWORD = "elastic-Secret-77c1"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """(CA, certificate for 127.0.0.1 signed by it, its unencrypted PKCS#8 key), as PEM files."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=newsflow test CA",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=folder)  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "node.key",
            "-out", "node.csr", cwd=folder)  # fmt: skip
    (folder / "node.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "node.ext", "-out", "node.crt", cwd=folder)  # fmt: skip
    return folder / "ca.crt", folder / "node.crt", folder / "node.key"


@dataclass(frozen=True)
class SecuredServices:
    state_dir: Path
    endpoints: dict
    security: LocalSecurity

    def kafka_log(self) -> str:
        return (self.state_dir / "kafka" / "kafka.log").read_text(errors="replace")


@pytest.fixture(scope="session")
def secured_kafka() -> Iterator[SecuredServices]:
    state_dir = Path(tempfile.mkdtemp(prefix="newsflow-secured-"))
    state_dir.chmod(0o755)
    ca, certificate, key = make_certificates(state_dir)
    secured = LocalSecurity(
        ca,
        certificate,
        key,
        {BROKER_USER: "broker-Secret-51d2", WORKER_USER: WORKER_PASSWORD},
        ELASTIC_PASSWORD,
    )
    try:
        with services_state(state_dir):
            security.enable(secured)
            endpoints = services.up(elasticsearch=False)
        yield SecuredServices(state_dir, endpoints, secured)
    finally:
        with services_state(state_dir):
            services.down()
        shutil.rmtree(state_dir, ignore_errors=True)
