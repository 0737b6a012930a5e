"""Start, reuse, stop and failure reports of the service manager, over a stand-in shell service."""

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from newsflow.errors import ServiceError
from newsflow.services import manager, state
from newsflow.services.common import Launch


class ShellService:
    """Answers once its command has created the file `ready` in its folder."""

    name: ClassVar[str] = "shell"
    endpoint_key: ClassVar[str] = "shell_endpoint"
    default_ports: ClassVar[dict[str, int]] = {"main": 0}  # no default: a free port
    ready_timeout_s: ClassVar[float] = 1.0

    def __init__(self, folder: Path, script: str) -> None:
        self.folder = folder
        self.script = script

    def version(self) -> str:
        return "1"

    def install(self) -> None:
        pass

    def prepare(self, ports: Mapping[str, int]) -> Launch:
        return Launch(argv=["sh", "-c", self.script], cwd=self.folder, log=self.folder / "shell.log")

    def endpoint(self, ports: Mapping[str, int]) -> str:
        return f"127.0.0.1:{ports['main']}"

    def answers(self, endpoint: str) -> bool:
        return (self.folder / "ready").exists()


@pytest.fixture
def use_service(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_STATE", str(tmp_path / "state"))

    def use(script: str) -> None:
        monkeypatch.setitem(manager.SERVICES, "shell", ShellService(tmp_path, script))

    yield use
    manager.stop_service("shell")


def test_start_records_the_service_then_reuses_it_and_stops_it(use_service):
    use_service("touch ready; exec sleep 60")
    record = manager.start_service("shell")
    assert record["pid"] and record["started_in_s"] is not None
    assert state.load()["shell_endpoint"] == f"127.0.0.1:{record['ports']['main']}"

    assert manager.start_service("shell")["pid"] == record["pid"]  # already running: reused

    report = manager.status()["shell"]
    assert report["state"] == "running" and report["answering"] and report["pid"] == record["pid"]
    assert manager.stop_service("shell")
    assert manager.status()["shell"]["state"] == "stopped"
    assert not manager.stop_service("shell")

    restarted = manager.start_service("shell")
    assert restarted["ports"] == record["ports"] and restarted["pid"] != record["pid"]


def test_a_service_that_exits_while_starting_is_reported_with_its_log(use_service):
    use_service("echo 'broken config [line 3]'; exit 3")
    with pytest.raises(ServiceError, match=r"(?s)shell exited while starting.*shell\.log.*broken config \[line 3\]"):
        manager.start_service("shell")


def test_a_service_that_never_answers_times_out_and_stays_recorded(use_service):
    use_service("exec sleep 60")
    with pytest.raises(ServiceError, match=r"did not answer .* within 1 s; it is still running"):
        manager.start_service("shell")
    assert manager.status()["shell"]["state"] == "running"  # `down` can still stop it


def test_unknown_service_names_are_refused():
    with pytest.raises(ServiceError, match="unknown service 'zookeeper'"):
        manager.start_service("zookeeper")
