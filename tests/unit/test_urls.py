import pytest

from newsflow.urls import article_id, canonical_url


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://WWW.Example.COM/World/Story/?b=2&a=1#comments", "https://example.com/World/Story?a=1&b=2"),
        ("https://example.com/a?utm_source=tw&utm_medium=x&id=7&fbclid=abc", "https://example.com/a?id=7"),
        ("http://example.com:80/", "http://example.com/"),
        ("  urn:newsflow:file:000.txt ", "urn:newsflow:file:000.txt"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_article_id_is_stable_across_url_spellings_and_distinct_per_article():
    assert article_id("https://www.example.com/a/?utm_campaign=z") == article_id("https://example.com/a")
    assert article_id("https://example.com/a") != article_id("https://example.com/b")
    assert len(article_id("https://example.com/a")) == 32
