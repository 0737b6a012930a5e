import pytest

from newsflow.errors import PermanentError
from newsflow.models import Article, SourceMessage
from newsflow.stages.extract import extract, html_to_text
from newsflow.stages.normalise import normalise, normalise_text


def article(body: str, content_type: str = "text/plain", title: str = "") -> Article:
    return Article(
        id="0" * 32,
        url="https://example.com/a",
        canonical_url="https://example.com/a",
        outlet="Example",
        title=title,
        body=body,
        content_type=content_type,
        published_at=None,
        source=SourceMessage(b"", None, "t", 0, 0),
    )


def test_normalise_text_composes_unicode_and_removes_invisible_and_control_characters():
    decomposed = "Cafe\u0301 \u200bnews\u00ad\x00 \u202bداعش\u202c"
    assert normalise_text(decomposed) == "Café news داعش"


def test_normalise_text_keeps_paragraphs_and_persian_zero_width_non_joiner():
    text = "  first   line \r\n\r\n\r\n\r\n second\tline  \n\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert normalise_text(text) == "first line\n\nsecond line\nمی\u200cخواهم"


def test_html_article_keeps_the_article_and_drops_page_chrome():
    html = (
        "<html><head><title>Cabinet approves budget</title><script>track()</script></head><body>"
        "<nav><a href='/'>Home</a> <a href='/login'>Log in</a></nav>"
        "<article><h1>Cabinet approves budget</h1>"
        "<p>The cabinet approved the 2027 budget on Tuesday after a long debate in parliament.</p>"
        "<p>The finance minister said spending on schools would rise by four percent next year.</p></article>"
        "<footer>Copyright 2026 Example Media. All rights reserved.</footer></body></html>"
    )
    _, text = html_to_text(html)
    assert "approved the 2027 budget" in text and "schools would rise" in text
    assert "track()" not in text and "All rights reserved" not in text
    result = extract(normalise(article(html, "text/html")))
    assert result.title == "Cabinet approves budget"
    assert "finance minister" in result.text


@pytest.mark.parametrize("body", ["", "   \n\t ", "\u200b\u200e", "<html><body><script>x()</script></body></html>"])
def test_empty_text_is_refused(body):
    content_type = "text/html" if body.startswith("<") else "text/plain"
    with pytest.raises(PermanentError) as caught:
        extract(normalise(article(body, content_type)))
    assert caught.value.code == "empty_body"


def test_one_word_body_is_kept():
    assert extract(normalise(article("Breaking"))).text == "Breaking"
