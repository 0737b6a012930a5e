"""Canonical entities named in a search query, through the alias table of `newsflow.entities`.

"Daesh", "ISIS" and "داعش" all name `org:islamic-state`; search then also matches the articles
that carry that id, in every language. The alias table's matcher is strict about case (so that
"is" is not the Islamic State in article text); people type queries in lower case, so the query
is also tried title-cased, and words of four letters or more upper-cased ("isis" → "ISIS").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from newsflow.entities.aliases import Entity, load_entities
from newsflow.entities.gazetteer import Gazetteer

MIN_UPPERCASED_WORD = 4


@dataclass(frozen=True, slots=True)
class EntityMention:
    start: int
    end: int
    surface: str  # as the user typed it
    entity_id: str
    label: str  # English label, for "why it matched"


class EntityTable:
    def __init__(self, entities: dict[str, Entity]) -> None:
        self._entities = entities
        self._gazetteer = Gazetteer(entities.values())

    def label(self, entity_id: str) -> str | None:
        entity = self._entities.get(entity_id)
        return entity.labels["en"] if entity else None

    def mentions(self, text: str) -> list[EntityMention]:
        """Entities named in `text`, in order, without overlaps; earlier case variants win."""
        found: list[EntityMention] = []
        for variant in _case_variants(text):
            for mention in self._gazetteer.find(variant):
                if any(mention.start < other.end and other.start < mention.end for other in found):
                    continue
                surface = text[mention.start : mention.end]
                found.append(
                    EntityMention(mention.start, mention.end, surface, mention.entity_id, self.label(mention.entity_id))
                )
        return sorted(found, key=lambda mention: mention.start)


def _case_variants(text: str) -> list[str]:
    """The text as typed, title-cased, and with long words upper-cased; all the same length (offsets hold)."""
    uppercased = " ".join(word.upper() if len(word) >= MIN_UPPERCASED_WORD else word for word in text.split(" "))
    variants = [text, text.title(), uppercased]
    return [variant for variant in dict.fromkeys(variants) if len(variant) == len(text)]


@cache
def entity_table(extra_files: Sequence[Path] = ()) -> EntityTable:
    """The shipped alias table plus the deployment's own files (setting `entity_files`), built once."""
    return EntityTable(load_entities(tuple(extra_files)))
