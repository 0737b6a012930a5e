"""Kibana objects as code: `deploy/kibana/` imported through Kibana's HTTP APIs (target 8.12).

* `*.ndjson`: saved objects (data view, saved searches, Lens visualisations, dashboard) with fixed
  ids, posted together to `/api/saved_objects/_import?overwrite=true` (multipart field `file`,
  header `kbn-xsrf`). Kibana answers 200 even when objects fail: `success: false` is a failure.
* `connectors/*.json` and `rules/*.json`: alerting rules cannot be imported enabled (export
  disables them and drops their API key), so they go through the connector and rule APIs:
  create with a fixed id, or update when the id exists (409).
Credentials come from the settings and are only ever put in the Authorization header.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from newsflow import paths
from newsflow.errors import NewsflowError
from newsflow.settings import Settings

IMPORT_PATH = "/api/saved_objects/_import"
# Fields that the create APIs accept but the update APIs refuse.
CREATE_ONLY = {"connector": ("connector_type_id",), "rule": ("rule_type_id", "consumer")}
API_PATHS = {"connector": "/api/actions/connector/", "rule": "/api/alerting/rule/"}


class KibanaError(NewsflowError):
    """Kibana refused the objects or could not be reached."""


@dataclass
class ImportReport:
    saved_objects: int = 0
    connectors: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)


def kibana_dir() -> Path:
    return paths.project_root() / "deploy" / "kibana"


def saved_object_lines(directory: Path) -> bytes:
    """All NDJSON files of the directory as one upload, in file name order."""
    chunks = [path.read_bytes().strip() for path in sorted(directory.glob("*.ndjson"))]
    return b"\n".join(chunk for chunk in chunks if chunk) + b"\n"


def _auth_headers(settings: Settings) -> dict[str, str]:
    if settings.kibana_api_key:
        return {"Authorization": f"ApiKey {settings.kibana_api_key.get_secret_value()}"}
    if settings.kibana_username:
        password = settings.kibana_password.get_secret_value() if settings.kibana_password else ""
        token = base64.b64encode(f"{settings.kibana_username}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {}


def public_url(url: str) -> str:
    """The URL without any user:password part, for messages."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


def _failure(response: httpx.Response, what: str) -> KibanaError:
    try:
        message = response.json().get("message", response.text[:300])
    except ValueError:
        message = response.text[:300]
    return KibanaError(f"{what}: Kibana answered {response.status_code}: {message}")


def _import_saved_objects(client: httpx.Client, ndjson: bytes) -> int:
    response = client.post(
        IMPORT_PATH,
        params={"overwrite": "true"},
        files={"file": ("newsflow.ndjson", ndjson, "application/ndjson")},
    )
    if response.status_code != 200:
        raise _failure(response, "saved objects import")
    result = response.json()
    if not result.get("success"):
        errors = [
            f"{error.get('type')} {error.get('id')}: {error.get('error', {}).get('type')}"
            + (f" ({error['error']['message']})" if error.get("error", {}).get("message") else "")
            for error in result.get("errors", [])
        ]
        raise KibanaError("saved objects import failed: " + ("; ".join(errors) or orjson.dumps(result).decode()))
    return int(result.get("successCount", 0))


def _put_object(client: httpx.Client, kind: str, path: Path) -> str:
    """Create the connector or rule with its fixed id, or update it when it exists."""
    definition = orjson.loads(path.read_bytes())
    object_id = definition.pop("id")
    url = API_PATHS[kind] + object_id
    response = client.post(url, json=definition)
    if response.status_code == 409:
        update = {key: value for key, value in definition.items() if key not in CREATE_ONLY[kind]}
        response = client.put(url, json=update)
    if response.status_code not in (200, 201):
        raise _failure(response, f"{kind} {object_id}")
    return object_id


def import_objects(settings: Settings, directory: Path | None = None) -> ImportReport:
    """Import everything under `deploy/kibana/`; raises KibanaError on the first refusal."""
    directory = directory or kibana_dir()
    report = ImportReport()
    headers = {"kbn-xsrf": "true", **_auth_headers(settings)}
    try:
        with httpx.Client(base_url=settings.kibana_url, headers=headers, timeout=settings.kibana_timeout_s) as client:
            report.saved_objects = _import_saved_objects(client, saved_object_lines(directory))
            for kind, found in (("connector", report.connectors), ("rule", report.rules)):
                found.extend(_put_object(client, kind, path) for path in sorted(directory.glob(f"{kind}s/*.json")))
    except httpx.HTTPError as exc:
        raise KibanaError(f"cannot reach Kibana at {public_url(settings.kibana_url)}: {type(exc).__name__}") from None
    return report
