"""`newsflow kibana import` against a local stub of Kibana's import, connector and rule endpoints (127.0.0.1)."""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from newsflow import paths
from newsflow.kibana import KibanaError, import_objects, kibana_dir, saved_object_lines
from newsflow.settings import Settings

API_KEY = "c2VjcmV0LWlkOnNlY3JldC1rZXk="  # must never be printed


class StubKibana:
    """Records every request; the import answers `import_result`, a POST to an id in `existing` answers 409."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.import_result: dict = {"success": True, "successCount": 12, "errors": []}
        self.existing: set[str] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                url = urlsplit(self.path)
                request = {"method": self.command, "path": url.path, "query": parse_qs(url.query), "body": body}
                stub.requests.append({**request, "headers": self.headers})
                status, payload = stub.answer(self.command, url.path)
                data = orjson.dumps(payload)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PUT = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, method: str, path: str) -> tuple[int, dict]:
        if path == "/api/saved_objects/_import":
            return 200, self.import_result
        if method == "POST" and path.rsplit("/", 1)[-1] in self.existing:
            return 409, {"statusCode": 409, "error": "Conflict", "message": "already exists"}
        return 200, {"id": path.rsplit("/", 1)[-1]}


@pytest.fixture
def kibana() -> Iterator[StubKibana]:
    stub = StubKibana()
    thread = threading.Thread(target=stub.server.serve_forever, daemon=True)
    thread.start()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()


def multipart_files(request: dict) -> dict[str, tuple[str, bytes]]:
    head = f"Content-Type: {request['headers']['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request["body"])
    return {
        part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
        for part in message.iter_parts()
    }


def test_import_posts_every_object_with_xsrf_auth_overwrite_and_one_ndjson_file(kibana):
    report = import_objects(Settings(kibana_url=kibana.url, kibana_api_key=API_KEY))
    first = kibana.requests[0]
    assert first["path"] == "/api/saved_objects/_import" and first["query"] == {"overwrite": ["true"]}
    assert first["headers"]["kbn-xsrf"] == "true"
    assert first["headers"]["Authorization"] == f"ApiKey {API_KEY}"
    files = multipart_files(first)
    assert set(files) == {"file"}
    name, content = files["file"]
    assert name.endswith(".ndjson") and content == saved_object_lines(kibana_dir())
    assert report.saved_objects == 12 and len(report.connectors) == 1 and len(report.rules) == 1
    created = [(request["method"], request["path"].split("/")[-2]) for request in kibana.requests[1:]]
    assert created == [("POST", "connector"), ("POST", "rule")]
    rule = orjson.loads(kibana.requests[2]["body"])
    assert rule["rule_type_id"] == ".es-query" and "id" not in rule


def test_existing_connectors_and_rules_are_updated_without_create_only_fields(kibana):
    kibana.existing = {orjson.loads(path.read_bytes())["id"] for path in kibana_dir().glob("*/*.json")}
    import_objects(Settings(kibana_url=kibana.url, kibana_username="elastic", kibana_password="pw"))
    updates = [request for request in kibana.requests if request["method"] == "PUT"]
    assert len(updates) == 2
    assert "connector_type_id" not in orjson.loads(updates[0]["body"])
    rule_update = orjson.loads(updates[1]["body"])
    assert "rule_type_id" not in rule_update and "consumer" not in rule_update and rule_update["params"]
    expected = "Basic " + base64.b64encode(b"elastic:pw").decode()
    assert all(request["headers"]["Authorization"] == expected for request in kibana.requests)


def test_a_refused_object_fails_the_import_with_kibanas_reasons(kibana):
    kibana.import_result = {
        "success": False,
        "successCount": 11,
        "errors": [{"id": "newsflow-overview", "type": "dashboard", "error": {"type": "missing_references"}}],
    }
    with pytest.raises(KibanaError, match="dashboard newsflow-overview: missing_references"):
        import_objects(Settings(kibana_url=kibana.url))
    assert len(kibana.requests) == 1, "nothing is created after a failed import"


def test_the_command_exits_1_and_never_prints_the_secret(kibana):
    error = {"id": "x", "type": "lens", "error": {"type": "unknown", "message": "boom"}}
    kibana.import_result = {"success": False, "errors": [error]}
    env = {"NEWSFLOW_KIBANA_URL": kibana.url, "NEWSFLOW_KIBANA_API_KEY": API_KEY, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "newsflow", "kibana", "import"],
        env=env,
        capture_output=True,
        text=True,
        cwd=paths.project_root(),
        timeout=120,
    )
    assert done.returncode == 1
    assert "boom" in done.stderr
    assert API_KEY not in done.stdout + done.stderr


def test_an_unreachable_kibana_is_reported_without_credentials():
    with pytest.raises(KibanaError, match=r"cannot reach Kibana at http://127\.0\.0\.1:9") as raised:
        import_objects(Settings(kibana_url="http://user:hunter2@127.0.0.1:9/", kibana_timeout_s=2))
    assert "hunter2" not in str(raised.value)
