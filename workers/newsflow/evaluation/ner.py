"""NER part of `newsflow eval`: CoNLL-style precision/recall/F1 per language and type.

The pipeline's own `EntityExtractor` (alias table + model, as configured) reads
each sentence's tokens joined by spaces; its mentions are mapped back to token
spans and compared exactly with the gold IOB2 spans.
"""

from __future__ import annotations

from pathlib import Path

from newsflow.entities.eval import evaluate_ner
from newsflow.entities.extractor import EntityExtractor
from newsflow.evaluation.report import PartReport, ResultTable
from newsflow.evaluation.rows import read_rows
from newsflow.settings import Settings

FILES_BY_LANGUAGE = {"en": "ner_en.jsonl", "ar": "ner_ar.jsonl"}


def evaluate(data_dir: Path, settings: Settings) -> PartReport:
    extractor = EntityExtractor(settings)
    results = {
        language: evaluate_ner(read_rows(data_dir / file, ("tokens", "tags")), language, extractor)
        for language, file in FILES_BY_LANGUAGE.items()
        if (data_dir / file).is_file()
    }
    rows = []
    for language, result in results.items():
        for name, scores in [*result["per_type"].items(), ("all", result["overall"])]:
            rows.append(
                [language, name, *(f"{scores[key]:.3f}" for key in ("precision", "recall", "f1")), str(scores["gold"])]
            )
    table = ResultTable("NER, exact span and type (CoNLL)", ["lang", "type", "P", "R", "F1", "gold"], rows)
    note = "alias table + model" if settings.entities_model_ner else "alias table only (light profile)"
    return PartReport("ner", note=note, metrics={"languages": results}, tables=[table])
