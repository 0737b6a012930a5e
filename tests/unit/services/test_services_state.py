import pytest

from newsflow.services import state
from newsflow.settings import Settings


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_STATE", str(tmp_path))
    for variable in ("NEWSFLOW_KAFKA_BOOTSTRAP", "NEWSFLOW_ES_URL", "NEWSFLOW_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)  # no newsflow.toml from the working directory
    return tmp_path


def test_no_file_is_an_empty_state(state_dir):
    assert state.load() == {}


def test_round_trip(state_dir):
    recorded = {
        "kafka_bootstrap": "127.0.0.1:19092",
        "es_url": "http://127.0.0.1:19200",
        "kafka": {
            "pid": 42,
            "pid_start_ticks": 7,
            "ports": {"client": 19092, "controller": 19093},
            "log": "/x/kafka.log",
            "started_in_s": 3.2,
            "version": "4.1.1",
        },
    }
    state.save(recorded)
    assert state.load() == recorded
    assert [path.name for path in state_dir.iterdir()] == ["services.json"]  # no partial file left


def test_settings_find_the_recorded_endpoints(state_dir):
    state.save({"kafka_bootstrap": "127.0.0.1:19092", "es_url": "http://127.0.0.1:19200"})
    settings = Settings()
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.es_url == "http://127.0.0.1:19200"
