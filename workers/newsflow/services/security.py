"""The secured mode of the local services: Kafka with SASL/SCRAM-SHA-512 over TLS on its client
listener, Elasticsearch with security on and HTTPS.

It is switched on by `<state dir>/security.json`, written by `enable` before the services are
first started (the SCRAM users are created when the Kafka storage is formatted), and it stays on
across restarts. Without the file the services run as before: plaintext, no authentication.
The certificate files (PEM, unencrypted PKCS#8 key) are made by the caller, e.g. with openssl.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from newsflow import paths

SECURITY_FILE = "security.json"
SCRAM_MECHANISM = "SCRAM-SHA-512"
BROKER_USER = "broker"  # the broker's own SCRAM user, for its inter-broker listener


@dataclass(frozen=True)
class LocalSecurity:
    ca_file: Path  # the CA that signed the certificate; clients verify against it
    certificate_file: Path  # for 127.0.0.1 (subjectAltName IP:127.0.0.1)
    key_file: Path
    kafka_users: dict[str, str]  # SCRAM-SHA-512 user -> password, BROKER_USER included
    elastic_password: str  # of the built-in `elastic` superuser

    def kafka_client_options(self, user: str = BROKER_USER) -> dict[str, object]:
        """kafka-python options for one of the SCRAM users."""
        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": SCRAM_MECHANISM,
            "sasl_plain_username": user,
            "sasl_plain_password": self.kafka_users[user],
            "ssl_cafile": str(self.ca_file),
        }


def security_file() -> Path:
    return paths.state_dir() / SECURITY_FILE


def enable(security: LocalSecurity) -> None:
    """Record the secured mode for this state folder's services (before their first start)."""
    if BROKER_USER not in security.kafka_users:
        raise ValueError(f"kafka_users must include the broker's own user {BROKER_USER!r}")
    record = {key: str(value) if isinstance(value, Path) else value for key, value in asdict(security).items()}
    target = security_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch(mode=0o600)
    target.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
    os.chmod(target, 0o600)  # it holds passwords


def load() -> LocalSecurity | None:
    """The secured mode of this state folder's services, or None when they run unsecured."""
    try:
        record = orjson.loads(security_file().read_bytes())
    except FileNotFoundError:
        return None
    return LocalSecurity(
        ca_file=Path(record["ca_file"]),
        certificate_file=Path(record["certificate_file"]),
        key_file=Path(record["key_file"]),
        kafka_users=record["kafka_users"],
        elastic_password=record["elastic_password"],
    )
