"""Language identification: accuracy of the language stage per language and per kind of text.

Reads `langid.jsonl` (fields `lang`, `kind` = word | pair | sentence, `text`). Every text goes
through the stage's own code twice: `detect_text`, its best guess (as for a title), and
`detect_document` with the configured confidence threshold, which is what gets indexed (`und`
below the threshold counts as wrong there).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsflow.evaluation.report import PartReport, ResultTable, percent
from newsflow.evaluation.rows import read_rows
from newsflow.settings import Settings
from newsflow.stages.language import UNDETERMINED, detect_document, detect_text

FILE = "langid.jsonl"
KINDS = ("word", "pair", "sentence")
ALL = "all"
REQUIRED_FIELDS = ("lang", "kind", "text")
CONFUSIONS_SHOWN = 3


@dataclass(slots=True)
class Tally:
    texts: int = 0
    guessed: int = 0  # detect_text right
    indexed: int = 0  # detect_document right, with the threshold
    undetermined: int = 0  # detect_document below the threshold

    def add(self, guess_right: bool, indexed_right: bool, undetermined: bool) -> None:
        self.texts += 1
        self.guessed += guess_right
        self.indexed += indexed_right
        self.undetermined += undetermined

    def as_dict(self) -> dict[str, Any]:
        return {
            "texts": self.texts,
            "accuracy": self.guessed / self.texts,
            "indexed_accuracy": self.indexed / self.texts,
            "undetermined": self.undetermined / self.texts,
        }


def evaluate(data_dir: Path, settings: Settings) -> PartReport:
    path = data_dir / FILE
    rows = read_rows(path, REQUIRED_FIELDS)
    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    confusions: dict[str, Counter[str]] = defaultdict(Counter)
    started = time.perf_counter()
    for row in rows:
        language, kind, text = row["lang"], row["kind"], row["text"]
        guess, _ = detect_text(text)
        indexed, _, _ = detect_document(text, settings.language_min_confidence)
        for key in ((language, kind), (language, ALL), (ALL, kind), (ALL, ALL)):
            tallies[key].add(guess == language, indexed == language, indexed == UNDETERMINED)
        if guess != language:
            confusions[language][guess] += 1
    elapsed_ms = 1000 * (time.perf_counter() - started)
    languages = sorted({row["lang"] for row in rows})
    kinds = [kind for kind in KINDS if (ALL, kind) in tallies] + sorted({row["kind"] for row in rows} - set(KINDS))
    metrics = {
        "file": str(path),
        "min_confidence": settings.language_min_confidence,
        "ms_per_text": elapsed_ms / len(rows) if rows else 0.0,
        "overall": tallies[ALL, ALL].as_dict() if rows else {},
        "by_kind": {kind: tallies[ALL, kind].as_dict() for kind in kinds},
        "by_language": {
            language: {
                scope: tallies[language, scope].as_dict() for scope in [*kinds, ALL] if (language, scope) in tallies
            }
            for language in languages
        },
        "confusions": {language: dict(confusions[language].most_common()) for language in languages},
    }
    note = (
        f"{len(rows)} texts from {path}; indexed = with min_confidence {settings.language_min_confidence}; "
        f"{metrics['ms_per_text']:.2f} ms per text"
    )
    return PartReport("langid", note=note, metrics=metrics, tables=_tables(tallies, confusions, languages, kinds))


def _tables(
    tallies: dict[tuple[str, str], Tally], confusions: dict[str, Counter[str]], languages: list[str], kinds: list[str]
) -> list[ResultTable]:
    def cell(key: tuple[str, str]) -> str:
        return percent(tallies[key].guessed / tallies[key].texts) if key in tallies else "-"

    by_language = ResultTable(
        title="Accuracy of detect_text, % (most confused with: wrong guesses)",
        columns=["language", *kinds, ALL, "texts", "most confused with"],
        rows=[
            [
                language,
                *(cell((language, kind)) for kind in kinds),
                cell((language, ALL)),
                str(tallies[language, ALL].texts),
                ", ".join(f"{guess} {count}" for guess, count in confusions[language].most_common(CONFUSIONS_SHOWN)),
            ]
            for language in languages
        ]
        + [[ALL, *(cell((ALL, kind)) for kind in kinds), cell((ALL, ALL)), str(tallies[ALL, ALL].texts), ""]],
    )
    by_kind = ResultTable(
        title="Per kind of text: best guess, and what gets indexed",
        columns=["kind", "texts", "accuracy %", "indexed accuracy %", "und %"],
        rows=[
            [
                kind,
                str(tally.texts),
                percent(tally.guessed / tally.texts),
                percent(tally.indexed / tally.texts),
                percent(tally.undetermined / tally.texts),
            ]
            for kind in [*kinds, ALL]
            if (tally := tallies[ALL, kind]).texts
        ],
    )
    return [by_language, by_kind]
