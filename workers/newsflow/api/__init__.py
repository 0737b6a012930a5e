"""The search HTTP API (FastAPI, OpenAPI at /openapi.json) and its web page."""

from newsflow.api.app import create_app

__all__ = ["create_app"]
