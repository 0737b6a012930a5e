import hashlib
from pathlib import Path

import pytest

from newsflow.errors import ServiceError
from newsflow.services import elasticsearch
from newsflow.services.common import install_once, verify_checksums


def _write_checksums(folder: Path, names: list[str]) -> Path:
    lines = [f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}" for name in names]
    checksum_file = folder.parent / "jars.sha256"
    checksum_file.write_text("\n".join(lines) + "\n")
    return checksum_file


@pytest.fixture
def jars(tmp_path):
    folder = tmp_path / "libs"
    folder.mkdir()
    for name in ("a.jar", "b.jar"):
        (folder / name).write_bytes(name.encode() * 100)
    return folder


def test_matching_checksums_pass(jars):
    verify_checksums(jars, _write_checksums(jars, ["a.jar", "b.jar"]))


def test_a_changed_jar_is_refused(jars):
    checksum_file = _write_checksums(jars, ["a.jar", "b.jar"])
    (jars / "b.jar").write_bytes(b"tampered")
    with pytest.raises(ServiceError, match=r"sha256 mismatch: b\.jar"):
        verify_checksums(jars, checksum_file)


def test_a_missing_or_unlisted_jar_is_refused(jars):
    checksum_file = _write_checksums(jars, ["a.jar", "b.jar"])
    (jars / "a.jar").unlink()
    (jars / "c.jar").write_bytes(b"extra")
    with pytest.raises(ServiceError, match=r"(?s)missing a\.jar.*not listed: c\.jar"):
        verify_checksums(jars, checksum_file)


def test_install_builds_once(tmp_path):
    builds = []

    def build(staging: Path) -> None:
        builds.append(staging)
        (staging / "done").write_text("yes")

    target = tmp_path / "tool-1.0"
    install_once(target, build, "tool")
    install_once(target, build, "tool")
    assert len(builds) == 1
    assert (target / "done").read_text() == "yes"


def test_a_failed_install_leaves_nothing_and_the_next_one_clears_old_leftovers(tmp_path):
    target = tmp_path / "tool-1.0"
    leftover = tmp_path / ".tool-1.0.partial-99999"  # from an attempt that was killed
    leftover.mkdir()

    def failing_build(staging: Path) -> None:
        (staging / "half").write_text("half")
        raise ServiceError("download interrupted")

    with pytest.raises(ServiceError):
        install_once(target, failing_build, "tool")
    assert not target.exists()
    assert not list(tmp_path.glob(".tool-1.0.partial-*"))


def test_npm_parts_that_do_not_join_to_the_pinned_tarball_are_refused(tmp_path):
    node_modules = tmp_path / "node_modules"
    for package, suffix in elasticsearch.NPM_PARTS.items():
        part = node_modules / package / "target" / f"{elasticsearch.TARBALL}.{suffix}"
        part.parent.mkdir(parents=True)
        part.write_bytes(b"not elasticsearch")
    with pytest.raises(ServiceError, match="not the pinned one"):
        elasticsearch._join_verified(node_modules, tmp_path / elasticsearch.TARBALL)
