"""Near duplicates: precision, recall and F1 of the MinHash LSH stage on a synthetic set, and on
sentence paraphrases as a reference.

Synthetic set (seeded, so every run builds the same one): each distinct article text of
`same_story_pairs.jsonl` yields one copy per kind of change a republisher makes: light edits
(5-10 % of words substituted or deleted), truncation (60-90 % kept), paragraphs reordered,
boilerplate lines added. Negatives are different articles: each same-story pair (same event,
other words: not a duplicate) and as many random pairs of articles. A pair is found only as
the stage finds it: the two signatures share an LSH band and their similarity reaches
`settings.neardup_threshold`.

`paraphrase_pairs_en.jsonl` (MSRP sentence pairs) is a reference only: a paraphrase is not a
copy, so low recall there is expected.
"""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from newsflow.evaluation.report import PartReport, ResultTable, percent
from newsflow.evaluation.rows import read_rows
from newsflow.evaluation.stories import Counts
from newsflow.settings import Settings
from newsflow.stages.neardup import NearDuplicateSigner, Signature, near_duplicate_signer, similarity

PAIRS_FILE = "same_story_pairs.jsonl"
PARAPHRASE_FILE = "paraphrase_pairs_en.jsonl"
SEED = 20260301
MIN_WORDS = 30  # shorter texts are headlines, not articles to copy
BOILERPLATE = (
    "Read more: the latest news from the region",
    "Subscribe to our newsletter for daily updates",
    "Share this article on Facebook, X and WhatsApp",
    "© 2026 All rights reserved.",
    "Follow us on Telegram",
    "اشترك في النشرة البريدية",
    "Lea también: las noticias más leídas",
    "Advertisement",
)
_WORD = re.compile(r"\S+")


def light_edit(text: str, rng: random.Random) -> str:
    """Substitute or delete 5-10 % of the words (substitutes come from the same text)."""
    words = text.split(" ")
    vocabulary = [word for word in words if word]
    for index in rng.sample(range(len(words)), max(1, round(len(words) * rng.uniform(0.05, 0.10)))):
        words[index] = rng.choice(vocabulary) if rng.random() < 0.5 else ""
    return " ".join(word for word in words if word)


def truncate(text: str, rng: random.Random) -> str:
    cut = int(len(text) * rng.uniform(0.6, 0.9))
    return text[: text.rfind(" ", 0, cut) if " " in text[:cut] else cut]


def reorder_paragraphs(text: str, rng: random.Random) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    if len(paragraphs) < 3:  # one block: reorder its sentences instead
        paragraphs = [p for p in re.split(r"(?<=[.!?؟])\s+", text) if p.strip()]
    shuffled = paragraphs[:]
    while len(shuffled) > 1 and shuffled == paragraphs:
        rng.shuffle(shuffled)
    return "\n\n".join(shuffled)


def add_boilerplate(text: str, rng: random.Random) -> str:
    lines = rng.sample(BOILERPLATE, rng.randint(2, 5))
    split = rng.randint(0, len(lines))
    return "\n".join([*lines[:split], text, *lines[split:]])


CHANGES: dict[str, Callable[[str, random.Random], str]] = {
    "light_edit": light_edit,
    "truncation": truncate,
    "paragraphs_reordered": reorder_paragraphs,
    "boilerplate_added": add_boilerplate,
}


def found(a: Signature, b: Signature, threshold: float) -> bool:
    """As the stage decides: a candidate only through a shared band, a duplicate only above the threshold."""
    return bool(set(a.bands) & set(b.bands)) and similarity(a, b) >= threshold


def synthetic_pairs(rows: list[dict], rng: random.Random) -> list[tuple[str, str, str, bool]]:
    """(kind, text, other text, is near duplicate), built deterministically from the article texts."""
    texts = list(dict.fromkeys(row[f"text{side}"] for row in rows for side in (1, 2)))
    texts = [text for text in texts if len(_WORD.findall(text)) >= MIN_WORDS]
    pairs = [(kind, text, change(text, rng), True) for text in texts for kind, change in CHANGES.items()]
    usable = set(texts)
    pairs += [
        ("same_story_pair", row["text1"], row["text2"], False)
        for row in rows
        if row["text1"] in usable and row["text2"] in usable and row["text1"] != row["text2"]
    ]
    for _ in range(len(rows)):
        first, second = rng.sample(texts, 2)
        pairs.append(("random_pair", first, second, False))
    return pairs


def evaluate(data_dir: Path, settings: Settings) -> PartReport:
    signer = near_duplicate_signer()
    threshold = settings.neardup_threshold
    metrics: dict = {"threshold": threshold, "seed": SEED}
    tables = []
    notes = []
    if (data_dir / PAIRS_FILE).is_file():
        pairs = synthetic_pairs(read_rows(data_dir / PAIRS_FILE, ("text1", "text2")), random.Random(SEED))
        started = time.perf_counter()
        decisions = _decide(signer, [(a, b) for _, a, b, _ in pairs], threshold)
        ms_per_text = 1000 * (time.perf_counter() - started) / (2 * len(pairs))
        by_kind: dict[str, Counts] = defaultdict(Counts)
        for (kind, _, _, actual), predicted in zip(pairs, decisions, strict=True):
            by_kind[kind].add(predicted, actual)
            by_kind["all"].add(predicted, actual)
        metrics["synthetic"] = {kind: counts.as_dict() for kind, counts in by_kind.items()}
        metrics["synthetic"]["all"]["ms_per_text"] = ms_per_text
        overall = by_kind["all"].as_dict()
        notes.append(
            f"synthetic: {overall['pairs']} pairs, P {percent(overall['precision'])} R {percent(overall['recall'])} "
            f"F1 {percent(overall['f1'])}; {ms_per_text:.2f} ms per text to sign and compare"
        )
        tables.append(
            ResultTable(
                title=f"Synthetic near duplicates (threshold {threshold}): found = shared LSH band and similarity",
                columns=["kind", "pairs", "duplicates", "found %"],
                rows=[
                    [kind, str(counts.pairs), "yes" if kind in CHANGES else "no", percent(_found_share(counts))]
                    for kind, counts in by_kind.items()
                    if kind != "all"
                ]
                + [["all: P / R / F1", str(overall["pairs"]), "", _prf(overall)]],
            )
        )
    if (data_dir / PARAPHRASE_FILE).is_file():
        rows = read_rows(data_dir / PARAPHRASE_FILE, ("text1", "text2", "label"))
        decisions = _decide(signer, [(row["text1"], row["text2"]) for row in rows], threshold)
        counts = Counts()
        for row, predicted in zip(rows, decisions, strict=True):
            counts.add(predicted, bool(row["label"]))
        metrics["paraphrase_reference"] = counts.as_dict()
        notes.append(f"paraphrase reference: {_prf(counts.as_dict())} (P / R / F1)")
        tables.append(
            ResultTable(
                title="Sentence paraphrases (MSRP), reference only: paraphrase is not duplication",
                columns=["pairs", "precision", "recall", "F1"],
                rows=[[str(counts.pairs), *_prf(counts.as_dict()).split(" / ")]],
            )
        )
    return PartReport("neardup", note="; ".join(notes), metrics=metrics, tables=tables)


def _decide(signer: NearDuplicateSigner, pairs: list[tuple[str, str]], threshold: float) -> list[bool]:
    signatures = signer.sign_many([text for pair in pairs for text in pair])
    return [found(signatures[2 * i], signatures[2 * i + 1], threshold) for i in range(len(pairs))]


def _found_share(counts: Counts) -> float:
    """Share of pairs called duplicates: recall for copies, false-alarm rate for different articles."""
    return (counts.true_positive + counts.false_positive) / counts.pairs if counts.pairs else 0.0


def _prf(metrics: dict[str, float]) -> str:
    return " / ".join(percent(metrics[name]) for name in ("precision", "recall", "f1"))
