"""`EntityExtractor`: named-entity mentions with canonical ids for whole batches of articles.

Every text is matched against the alias table (any language). English and
Arabic texts also go through the statistical model, one `nlp.pipe` call per
language and batch; a model mention overlapping a table mention is dropped
(the table wins) unless it is a name read from a line layout or a wider name
around the table's ("Real Madrid"), and one whose surface is a table alias
takes that entity's id and type. The Arabic model reads the table's matches
as features, so there the model's names win (a name the table knows keeps its
id and type) and the table adds the names it left out. Without the model (light profile) English
texts still get the names of line layouts and nationality words (`layout`).
Names unknown to the table get a normalised key (`per:sergei-shoigu`,
`loc:كالينينغراد`) so they still facet and count.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from newsflow.entities.aliases import load_entities
from newsflow.entities.arabic import article_reading
from newsflow.entities.gazetteer import Gazetteer, shipped_gazetteer
from newsflow.entities.layout import EntitySpan, with_line_names
from newsflow.entities.normalise import fold, slug
from newsflow.models import Article, Mention
from newsflow.settings import Settings

if TYPE_CHECKING:
    from newsflow.entities.ner import ModelNer

MODEL_SOURCE = "model"
_POSSESSIVE = re.compile(r"'s?$")


@lru_cache(maxsize=20_000)  # names recur from article to article
def unknown_entity_key(surface: str, entity_type: str) -> str:
    """`<type>:<slug>` of a name the table does not know, the same for its spelling variants.

    Possessive 's goes; an Arabic first word loses attached prefixes when it
    carries the article (والكرملين -> الكرملين), so inflected forms share a key.
    """
    words = _POSSESSIVE.sub("", fold(surface)).split()
    if words:
        words[0] = article_reading(words[0]) or words[0]
    return f"{entity_type.lower()}:{slug(' '.join(words))}"


class EntityExtractor:
    def __init__(self, settings: Settings, arabic_model_dir: Path | None = None) -> None:
        """`arabic_model_dir` overrides the shipped Arabic model (to score a freshly trained one)."""
        self.enabled = settings.entities_enabled
        self.max_mentions = settings.max_entities_per_document
        if not self.enabled:
            self.gazetteer = Gazetteer(())
        elif settings.entity_files:
            self.gazetteer = Gazetteer(load_entities(settings.entity_files).values())
        else:  # the same table the Arabic model reads: built once
            self.gazetteer = shipped_gazetteer()
        self.model: ModelNer | None = None
        if self.enabled and settings.entities_model_ner:
            # Imported here: spaCy costs about a second and 100 MB, which the light profile does without.
            from newsflow.entities.ner import ARABIC_MODEL_DIR, ModelNer

            self.model = ModelNer(settings.entities_model_max_chars, arabic_model_dir or ARABIC_MODEL_DIR)

    def annotate(self, articles: list[Article]) -> None:
        """Fill `article.entities` for every article, batching the model calls per language."""
        if not self.enabled:
            return
        by_language: dict[str, list[Article]] = defaultdict(list)
        for article in articles:
            by_language[article.language].append(article)
        for language, group in by_language.items():
            for article, mentions in zip(group, self.extract([a.text for a in group], language), strict=True):
                article.entities = mentions

    def extract(self, texts: list[str], language: str) -> list[list[Mention]]:
        """Mentions per text, in text order, at most `max_entities_per_document` each."""
        if not self.enabled:
            return [[] for _ in texts]
        table = [self.gazetteer.find(text) for text in texts]
        if self.model is not None:
            model = self.model.extract(texts, language)
        elif language == "en":
            model = [with_line_names([], text) for text in texts]
        else:
            return [mentions[: self.max_mentions] for mentions in table]
        return [
            self._merge(text, table_mentions, spans, model_first=language == "ar")[: self.max_mentions]
            for text, table_mentions, spans in zip(texts, table, model, strict=True)
        ]

    def _merge(
        self, text: str, table_mentions: list[Mention], spans: Sequence[EntitySpan], model_first: bool = False
    ) -> list[Mention]:
        """`model_first`: the model read the table's matches as features (Arabic) and already chose among them."""
        # A name around a table name is another entity ("Real Madrid", "New York Times", "Bank of Canada").
        wins = [span for span in spans if model_first or span.by_layout or _is_wider_name(text, span, table_mentions)]
        if wins:
            table_mentions = [m for m in table_mentions if not any(m.start < w.end and w.start < m.end for w in wins)]
        merged = list(table_mentions)
        for span in spans:
            if any(span.start < m.end and m.start < span.end for m in table_mentions):
                continue
            surface = text[span.start : span.end]
            known = self.gazetteer.resolve(surface)
            # A name the table knows keeps its canonical id, whatever type the model gave it: ids are what
            # facets and alerts count (on Arabic, taking the model's type instead moved F1 by 0.001).
            if known and not (span.by_layout and known.type != span.type):
                merged.append(Mention(span.start, span.end, surface, known.type, known.entity_id, MODEL_SOURCE))
            else:
                key = unknown_entity_key(surface, span.type)
                merged.append(Mention(span.start, span.end, surface, span.type, key, MODEL_SOURCE))
        return sorted(merged, key=lambda mention: mention.start)


def _is_wider_name(text: str, span: EntitySpan, table_mentions: list[Mention]) -> bool:
    """`span` holds a table mention and more, and every word it adds is written as a name (any if uncased)."""
    inside = [m for m in table_mentions if span.start <= m.start and m.end <= span.end]
    if not inside or any(span.start < m.end and m.start < span.end and m not in inside for m in table_mentions):
        return False
    if len(inside) == 1 and (inside[0].start, inside[0].end) == (span.start, span.end):
        return False
    return all(not word[0].islower() for word in text[span.start : span.end].split())
