"""Stage 3: the article's own text out of HTML, or the plain text as given.

HTML goes through trafilatura (main-content extraction); if it finds no main
content, the visible text of the page is used rather than losing the article.
"""

from __future__ import annotations

from functools import cache

import lxml.html
import trafilatura
from trafilatura.settings import Extractor

from newsflow.errors import PermanentError
from newsflow.models import Article
from newsflow.stages.normalise import normalise_text

STAGE = "extract"


def html_to_text(html: str, with_title: bool = True) -> tuple[str, str]:
    """(title, main text) of an HTML page; trafilatura's title only `with_title`.

    Its metadata pass (title, date, author...) costs more than the text extraction itself, and the
    text does not depend on it.
    """
    extracted = trafilatura.bare_extraction(html, options=_extraction_options(with_title))
    if extracted is not None and extracted.text:
        return extracted.title or "", extracted.text
    try:
        tree = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return "", ""
    for invisible in tree.xpath("//script|//style|//noscript|//template"):
        invisible.drop_tree()
    return tree.findtext(".//title") or "", tree.text_content()


@cache
def _extraction_options(with_metadata: bool) -> Extractor:
    """trafilatura's options, made once: made on every call, they cost a fifth of the extraction (its
    configuration is read again). The date bound they hold (today, when made) only limits the page's date,
    which is not used."""
    return Extractor(output_format="python", comments=False, tables=True, with_metadata=with_metadata)


def extract(article: Article) -> Article:
    if article.content_type == "text/html":
        # The message's own title wins, so the page's is only looked for when there is none.
        html_title, text = html_to_text(article.body, with_title=not article.title)
        article.title = article.title or " ".join(normalise_text(html_title).split())
        article.text = normalise_text(text)
    else:
        article.text = article.body
    if not article.text:
        raise PermanentError("empty_body", "no article text left after extraction and normalisation", STAGE)
    return article
