"""The HTTP API on a real node: responses, OpenAPI, clear 400s for bad input, escaping, CORS, headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from newsflow.api import create_app
from newsflow.es.indices import IndexNames, current_month, script_id

HOSTILE = {
    "id": "0" * 32,
    "url": "https://example.test/hostile",
    "outlet": "<b>Evil</b> Wire",
    "outlets": ["<b>Evil</b> Wire"],
    "title": '<img src=x onerror="alert(1)"> Lavrov meets envoy',
    "body": "<script>alert('x')</script> Lavrov met the envoy in Geneva & spoke of \"talks\".",
    "language": "en",
    "published_at": "2026-03-02T09:40:00Z",
    "duplicate_status": "original",
    "story_id": "story-geneva",
}
ARABIC = {
    **HOSTILE,
    "id": "1" * 32,
    "url": "https://example.test/arabic",
    "outlet": "Sada",
    "outlets": ["Sada"],
    "title": "لافروف يلتقي المبعوث",
    "body": "التقى لافروف المبعوث الأممي في جنيف.",
    "language": "ar",
}


@pytest.fixture(scope="module")
def client(settings, es):
    for document in (HOSTILE, ARABIC):
        es.update(
            index=IndexNames.from_settings(settings).month_index(current_month()),
            id=document["id"],
            script={"id": script_id(settings, "upsert_article"), "params": {"doc": document}},
            scripted_upsert=True,
            upsert={},
        )
    es.indices.refresh(index=settings.articles_alias)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_search_returns_hits_facets_and_escaped_highlights(client):
    response = client.get("/api/search", params={"q": "Lavrov", "collapse": "none"})
    assert response.status_code == 200
    body = response.json()
    (hit,) = [hit for hit in body["hits"] if hit["id"] == HOSTILE["id"]]
    assert hit["title"] == HOSTILE["title"]  # plain text stays plain text
    assert "<img" not in hit["title_html"] and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in hit["title_html"]
    assert "<mark>Lavrov</mark>" in hit["snippet_html"] and "<script>" not in hit["snippet_html"]
    assert hit["matched"] == [{"kind": "text", "text": "Lavrov", "entity_id": None, "label": None}]
    assert {bucket["key"] for bucket in body["facets"]["languages"]} == {"en"}
    assert response.headers["x-content-type-options"] == "nosniff"


def test_arabic_hits_are_right_to_left(client):
    hits = client.get("/api/search", params={"q": "لافروف"}).json()["hits"]
    assert [hit["direction"] for hit in hits] == ["rtl"]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"q": 'Lavrov "unclosed'}, "invalid_query"),
        ({"q": "a\x01b"}, "invalid_query"),
        ({"size": "1000"}, "invalid_parameter"),
        ({"size": "ten"}, "invalid_parameter"),
        ({"sort": "popularity"}, "invalid_parameter"),
        ({"since": "yesterday"}, "invalid_parameter"),
        ({"since": "2026-03-05", "until": "2026-03-01"}, "invalid_query"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "invalid_query"),
        ({"q": "x" * 3000}, "invalid_parameter"),
        ({"outlet": "x" * 40000}, "search_refused"),
    ],
)
def test_bad_input_is_a_clear_400_never_a_500(client, params, error):
    response = client.get("/api/search", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error and response.json()["detail"]


def test_article_and_story_endpoints(client):
    article = client.get(f"/api/articles/{HOSTILE['id']}")
    assert article.status_code == 200 and article.json()["source"]["body"] == HOSTILE["body"]
    assert client.get(f"/api/articles/{'f' * 32}").status_code == 404
    assert client.get("/api/articles/not-an-id").status_code == 400
    story = client.get("/api/stories/story-geneva").json()
    assert story["size"] == 2 and {b["key"] for b in story["languages"]} == {"en", "ar"}
    assert client.get("/api/stories/no-such-story").status_code == 404


def test_openapi_health_and_page(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/search", "/api/articles/{article_id}", "/api/stories/{story_id}", "/healthz"} <= set(schema["paths"])
    assert "400" in schema["paths"]["/api/search"]["get"]["responses"]
    assert client.get("/healthz").json()["status"] == "ok"
    page = client.get("/")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200


def test_cors_is_closed_unless_origins_are_configured(settings, client):
    origin = {"Origin": "https://elsewhere.example"}
    assert "access-control-allow-origin" not in client.get("/api/search", headers=origin).headers
    opened = settings.model_copy(update={"api_cors_origins": ["https://elsewhere.example"]})
    with TestClient(create_app(opened)) as allowed:
        response = allowed.get("/api/search", headers=origin)
    assert response.headers["access-control-allow-origin"] == "https://elsewhere.example"
