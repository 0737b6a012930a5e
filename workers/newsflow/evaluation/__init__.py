"""`newsflow eval`: how well the pipeline's stages do on labelled data.

The data folder holds JSON Lines files named and shaped as in the project's
development data (`shared/data/README.md`): `langid.jsonl`, `ner_en.jsonl`,
`ner_ar.jsonl`, `same_story_pairs.jsonl`, `paraphrase_pairs_en.jsonl`. Any
folder will do (the held-out part, a tiny test set); a part whose files are all
missing is skipped with a note.

Adding a part: write `evaluate(data_dir, settings) -> PartReport` in a module of
this package (see `langid.py`), then give its entry in `PARTS` that function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsflow.evaluation import langid, neardup, ner, stories
from newsflow.evaluation.report import SKIPPED, PartReport
from newsflow.settings import Settings


@dataclass(frozen=True, slots=True)
class Part:
    files: tuple[str, ...]  # the files it reads; with none of them present the part is skipped
    evaluate: Callable[[Path, Settings], PartReport]


PARTS: dict[str, Part] = {
    "langid": Part(("langid.jsonl",), langid.evaluate),
    "ner": Part(tuple(ner.FILES_BY_LANGUAGE.values()), ner.evaluate),
    "stories": Part(("same_story_pairs.jsonl",), stories.evaluate),
    "neardup": Part(("same_story_pairs.jsonl", "paraphrase_pairs_en.jsonl"), neardup.evaluate),
}


def run_parts(data_dir: Path, names: list[str], settings: Settings) -> list[PartReport]:
    """Reports of the named parts, in the order given; skipped ones say why."""
    reports = []
    for name in names:
        part = PARTS[name]
        if not any((data_dir / file).is_file() for file in part.files):
            reports.append(PartReport(name, SKIPPED, f"none of {', '.join(part.files)} in {data_dir}"))
        else:
            reports.append(part.evaluate(data_dir, settings))
    return reports
