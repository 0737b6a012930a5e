"""The search page in headless Chromium (Debian's, driven by Playwright) over the indexed sample corpus.

`make test` installs Debian's chromium when missing and run as root; elsewhere the test skips
with the reason. The screenshot is checked for content: highlight colour present, page not blank.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from newsflow.api import create_app
from newsflow.services.common import choose_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Without the background-networking flags Chromium keeps calling Google hosts, refused on closed networks.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HIGHLIGHT_RGB = (0xFF, 0xE5, 0x8A)  # `mark` background in app.css

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (`make test` installs it when run as root)"
)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def base_url(corpus) -> Iterator[str]:
    port = choose_port()
    server = uvicorn.Server(uvicorn.Config(create_app(corpus), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as playwright:
        # Playwright gives each launch a new empty profile directory of its own.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def open_search(page, base_url: str, query: str) -> None:
    page.goto(f"{base_url}/{query}")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)


@pytest.mark.parametrize(("query", "direction"), [("Moscow", "ltr"), ("داعش&collapse=stories", "rtl")])
def test_results_show_highlights_in_the_languages_direction_and_facets(page, base_url, tmp_path, query, direction):
    open_search(page, base_url, f"?q={query}")
    assert page.locator("#results > li.hit").count() >= 2
    directions = set(page.eval_on_selector_all("#results > li.hit", "items => items.map(i => i.dir)"))
    assert direction in directions, directions  # other languages come in too when the entity ids are indexed
    assert page.locator("#results mark").count() > 0
    assert page.locator("#facets section[data-facet=outlets] label").count() >= 2
    # article text is text: no element from the corpus may reach the DOM beyond <mark>
    assert page.locator("#results script, #results img").count() == 0

    screenshot = tmp_path / "search-page.png"
    page.screenshot(path=str(screenshot), full_page=False)
    assert_screenshot_shows_results(screenshot)


def test_a_facet_click_filters_to_arabic_right_to_left(page, base_url):
    open_search(page, base_url, "?sort=date")
    page.locator("#facets section[data-facet=languages] label", has_text="العربية").locator("input").check()
    page.wait_for_function("() => new URLSearchParams(location.search).get('lang') === 'ar'")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#results > li.hit')].every(i => i.dir === 'rtl')"
        " && document.querySelectorAll('#results > li.hit').length > 0"
    )


def test_story_grouping_and_bad_input_message(page, base_url):
    open_search(page, base_url, "?q=Egypt%20central%20bank&collapse=duplicates")
    assert page.locator("#results details.group:not([hidden]) summary").first.inner_text().startswith("2 ")
    open_search(page, base_url, "?q=%22unclosed")
    assert "never closed" in page.locator("#status").inner_text()


def assert_screenshot_shows_results(path: Path) -> None:
    from PIL import Image

    image = Image.open(path).convert("RGB")
    assert image.size == (1280, 900)
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours and len(colours) > 50, "the page looks blank"
    near_highlight = sum(
        count for count, rgb in colours if all(abs(a - b) <= 6 for a, b in zip(rgb, HIGHLIGHT_RGB, strict=True))
    )
    assert near_highlight > 200, "no highlighted words visible in the screenshot"
