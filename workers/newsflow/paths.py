"""Where newsflow finds its data files and keeps its runtime state.

The JSON Schemas and index templates live in the top-level `schemas/` folder
(the design card keeps them there, as data). An editable install or a source
checkout finds them beside `workers/`; the Docker image copies the same tree.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def project_root() -> Path:
    """The checkout holding pyproject.toml and schemas/, or NEWSFLOW_ROOT."""
    if env := os.environ.get("NEWSFLOW_ROOT"):
        return Path(env).resolve()
    for candidate in PACKAGE_DIR.parents:
        if (candidate / "schemas").is_dir() and (candidate / "pyproject.toml").is_file():
            return candidate
    raise FileNotFoundError(
        "cannot find the newsflow project root (a folder with pyproject.toml and schemas/); set NEWSFLOW_ROOT"
    )


def schemas_dir() -> Path:
    return project_root() / "schemas"


def samples_dir() -> Path:
    return project_root() / "samples"


def cache_dir() -> Path:
    """Downloads (Kafka jars, Elasticsearch tarball) shared by every checkout."""
    return Path(os.environ.get("NEWSFLOW_CACHE", Path.home() / ".cache" / "newsflow"))


def state_dir() -> Path:
    """Runtime state of this checkout's local services: data, logs, pids, endpoints."""
    if env := os.environ.get("NEWSFLOW_STATE"):
        return Path(env)
    return project_root() / ".newsflow"


def faust_data_root() -> Path:
    """Where faust apps keep their data folders (faust creates only the last level)."""
    root = state_dir() / "faust"
    root.mkdir(parents=True, exist_ok=True)
    return root
