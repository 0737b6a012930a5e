"""Named entities with canonical ids, English and Arabic: alias table + statistical NER.

Public API: `EntityExtractor(settings).annotate(articles)`; `evaluate_ner` in
`newsflow.entities.eval`; `train_arabic_ner` in `newsflow.entities.training`.
"""

from newsflow.entities.extractor import EntityExtractor

__all__ = ["EntityExtractor"]
