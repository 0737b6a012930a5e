"""`newsflow api`: the search HTTP API and web page (uvicorn)."""

from __future__ import annotations

import typer

from newsflow.settings import load_settings


def api(
    host: str | None = typer.Option(None, help="Address to bind (default: setting api_host, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default: setting api_port, 8000)."),
) -> None:
    """Serve the search API (OpenAPI at /openapi.json) and the search page at /."""
    import uvicorn

    from newsflow.api import create_app

    settings = load_settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="info",
        # uvicorn's access log prints query strings (what people search for): leave it to a proxy's policy.
        access_log=False,
    )
