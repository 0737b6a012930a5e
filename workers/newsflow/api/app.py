"""The search HTTP API and the web page: `newsflow api`, or `create_app()` under any ASGI server.

Errors are JSON problems with a stable `error` code: bad input of any kind is a 400 (never a
500), Elasticsearch unreachable a 503. CORS is closed unless `api_cors_origins` names origins.
The page is static HTML + JS served from `static/`, under a Content-Security-Policy that allows
only this origin's own scripts, so article text cannot run as code even if it were mis-inserted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from elasticsearch import ApiError, Elasticsearch
from elasticsearch import ConnectionError as EsConnectionError
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from newsflow.api.models import Article, Problem, SearchParameters, SearchResponse, Story
from newsflow.es.client import sync_client
from newsflow.search import QueryError, SearchRequest, entity_table, search
from newsflow.search.results import text_direction
from newsflow.settings import Settings, load_settings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
ARTICLE_ID = r"^[0-9a-f]{32}$"
STORY_ID = r"^[A-Za-z0-9:_.\-]{1,128}$"
MAX_STORY_ARTICLES = 100
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
PROBLEMS = {400: {"model": Problem}, 503: {"model": Problem}}


def problem(status: int, error: str, detail: Any) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending value is left out: it is the caller's own input, and may be large.
    return [
        {"parameter": ".".join(str(part) for part in error["loc"][1:]), "problem": error["msg"]}
        for error in exc.errors()
    ]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(QueryError)
    async def invalid_query(_: Request, exc: QueryError) -> JSONResponse:
        return problem(400, "invalid_query", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_parameter(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(400, "invalid_parameter", _validation_detail(exc))

    @app.exception_handler(EsConnectionError)
    async def search_unavailable(_: Request, exc: EsConnectionError) -> JSONResponse:
        log.warning("Elasticsearch unreachable: %s", type(exc).__name__)
        return problem(503, "search_unavailable", "the search index cannot be reached; try again shortly")

    @app.exception_handler(ApiError)
    async def search_refused(_: Request, exc: ApiError) -> JSONResponse:
        if exc.meta.status == 400:  # a request Elasticsearch cannot run: the parameters' fault, say which
            return problem(400, "search_refused", str(exc.message))
        log.warning("Elasticsearch answered %s: %s", exc.meta.status, exc.message)
        return problem(503, "search_unavailable", f"the search index answered {exc.meta.status}")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    entities = entity_table(tuple(settings.entity_files))
    alias = settings.articles_alias
    state: dict[str, Elasticsearch] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["es"] = sync_client(settings)
        try:
            yield
        finally:
            state.pop("es").close()

    app = FastAPI(
        title="newsflow search",
        version="1",
        description="Search news articles across outlets and languages (English, Arabic, more).",
        lifespan=lifespan,
        # The interactive docs load scripts from a CDN, which the page's CSP (and closed networks) refuse.
        docs_url=None,
        redoc_url=None,
    )
    _install_error_handlers(app)
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.api_cors_origins, allow_methods=["GET"], allow_headers=[]
        )

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/api/search", response_model=SearchResponse, responses=PROBLEMS)
    def search_articles(parameters: Annotated[SearchParameters, Query()]) -> dict[str, Any]:
        """Full-text and entity search with filters on every facet, highlights, facet counts and paging."""
        request = SearchRequest.from_parameters(**parameters.model_dump())
        return search(state["es"], alias, request, entities)

    @app.get("/api/articles/{article_id}", response_model=Article, responses={**PROBLEMS, 404: {"model": Problem}})
    def get_article(article_id: Annotated[str, PathParam(pattern=ARTICLE_ID)]) -> Any:
        """One article with its full text, entities and syndicated copies."""
        found = state["es"].search(index=alias, query={"ids": {"values": [article_id]}}, size=1)["hits"]["hits"]
        if not found:
            return problem(404, "not_found", f"no article {article_id}")
        source = found[0]["_source"]
        return {"id": article_id, "direction": text_direction(source.get("language")), "source": source}

    @app.get("/api/stories/{story_id}", response_model=Story, responses={**PROBLEMS, 404: {"model": Problem}})
    def get_story(story_id: Annotated[str, PathParam(pattern=STORY_ID)]) -> Any:
        """A story: its articles in every language, oldest first, with outlet and language counts."""
        response = state["es"].search(
            index=alias,
            query={"bool": {"filter": [{"term": {"story_id": story_id}}, {"exists": {"field": "body"}}]}},
            size=MAX_STORY_ARTICLES,
            sort=[{"published_at": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
            source=["id", "title", "outlet", "language", "published_at", "url"],
            aggs={
                "outlets": {"terms": {"field": "outlets", "size": 50}},
                "languages": {"terms": {"field": "language", "size": 20}},
                "first": {"min": {"field": "published_at"}},
                "last": {"max": {"field": "published_at"}},
            },
        )
        total = response["hits"]["total"]["value"]
        if not total:
            return problem(404, "not_found", f"no story {story_id}")
        aggregations = response["aggregations"]
        return {
            "id": story_id,
            "size": total,
            "outlets": [{"key": b["key"], "count": b["doc_count"]} for b in aggregations["outlets"]["buckets"]],
            "languages": [{"key": b["key"], "count": b["doc_count"]} for b in aggregations["languages"]["buckets"]],
            "first_published": aggregations["first"].get("value_as_string"),
            "last_published": aggregations["last"].get("value_as_string"),
            "articles": [hit["_source"] for hit in response["hits"]["hits"]],
        }

    @app.get("/healthz", responses={503: {"model": Problem}})
    def healthz() -> Any:
        """200 while the articles alias can be searched."""
        health = state["es"].cluster.health(index=alias, timeout="2s", wait_for_status="yellow")
        if health.get("timed_out") or health["status"] == "red":
            return problem(503, "search_unavailable", f"index health {health['status']}")
        return {"status": "ok", "elasticsearch": health["status"]}

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
