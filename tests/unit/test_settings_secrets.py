"""Secrets come from the environment or from files (Docker and Kubernetes secrets), never shown in a repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsflow.settings import Settings


def test_secrets_are_read_from_one_file_each_in_the_secrets_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "newsflow_es_api_key").write_text("key-from-a-file\n")
    (tmp_path / "newsflow_kafka_sasl_password").write_text("scram-from-a-file")
    monkeypatch.setenv("NEWSFLOW_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSFLOW_KAFKA_SASL_PASSWORD", "scram-from-the-environment")
    settings = Settings()
    assert settings.es_api_key == "key-from-a-file"
    assert settings.kafka_sasl_password == "scram-from-the-environment", "the environment comes first"
    assert "from-a-file" not in repr(settings) and "from-the-environment" not in repr(settings)
