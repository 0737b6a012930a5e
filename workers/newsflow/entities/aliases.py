"""The curated alias table: entity records, their files, and the merge of shipped and user files.

A record is one entity: canonical id (`<type>:<slug>`), type, a label per
language and aliases per language. Files are YAML (a list of records) or JSON
Lines (one record a line); the shipped ones live in `entities/data/`, sorted
by id so that a review shows one entity per hunk. Files named by the
`entity_files` setting are read after the shipped ones: a record with an
existing id replaces it, so users can correct or add entities without code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from newsflow.errors import ConfigError

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")
_ID_PATTERN = r"^(per|org|loc|misc):[^\s:]+$"


class Entity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID_PATTERN, description="canonical id, `<type>:<slug>`, e.g. org:islamic-state")
    type: str = Field(pattern="^(" + "|".join(ENTITY_TYPES) + ")$")
    labels: dict[str, str] = Field(description="display name per language code; `en` at least")
    aliases: dict[str, list[str]] = Field(default_factory=dict, description="other names per language code")

    @model_validator(mode="after")
    def _consistent(self) -> Entity:
        if not self.id.startswith(self.type.lower() + ":"):
            raise ValueError(f"id {self.id!r} must start with {self.type.lower()}:")
        if "en" not in self.labels:
            raise ValueError(f"{self.id}: an English label is required")
        return self

    def names(self) -> Iterator[str]:
        """Every written form of the entity: labels, then aliases."""
        yield from self.labels.values()
        for names in self.aliases.values():
            yield from names


def shipped_files() -> list[Path]:
    return sorted(DATA_DIR.glob("*.yaml")) + sorted(DATA_DIR.glob("*.jsonl"))


def read_entity_file(path: Path) -> list[Entity]:
    """Records of one YAML or JSON Lines file; a ConfigError names the file and record on bad input."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".jsonl":
            records = [orjson.loads(line) for line in raw.splitlines() if line.strip()]
        else:
            records = yaml.safe_load(raw) or []
    except (OSError, yaml.YAMLError, orjson.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read entity file {path}: {exc}") from exc
    if not isinstance(records, list):
        raise ConfigError(f"entity file {path}: expected a list of entity records")
    entities = []
    for number, record in enumerate(records, 1):
        try:
            entities.append(Entity.model_validate(record))
        except ValidationError as exc:
            raise ConfigError(f"entity file {path}, record {number}: {exc}") from exc
    return entities


def write_entity_file(path: Path, entities: Iterable[Entity]) -> None:
    """Write records sorted by id, in the format the suffix names, for reviewable diffs."""
    records = [entity.model_dump(exclude_defaults=True) for entity in sorted(entities, key=lambda e: e.id)]
    if path.suffix == ".jsonl":
        path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    else:
        text = yaml.safe_dump(records, allow_unicode=True, sort_keys=False, default_flow_style=None, width=10_000)
        path.write_text(text, encoding="utf-8")


def load_entities(extra_files: Sequence[Path] = ()) -> dict[str, Entity]:
    """Shipped records, then each user file in order; a later record with the same id wins."""
    entities: dict[str, Entity] = {}
    for path in [*shipped_files(), *extra_files]:
        for entity in read_entity_file(Path(path)):
            if entity.id in entities:
                log.info("entity %s from %s replaces an earlier record", entity.id, path)
            entities[entity.id] = entity
    return entities
