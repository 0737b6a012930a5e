"""Same-story grouping: precision, recall and F1 on pairs of articles labelled same story or not.

Reads `same_story_pairs.jsonl` (`title1`, `text1`, `lang1`, ... `label`, `label_strict`, `group`).
Both articles of a pair go through the pipeline's own stages (validate ... language, entities
when enabled, story features) and then through the production `StoryAssigner`, one at a time,
in a fresh in-memory story state per pair; the pair is predicted same-story iff the second
article joins the first one's story. Document frequencies are learned from all articles of the
file first (no labels), as a worker learns them from its stream. A second figure places every
distinct article of the file in one stream (`placed_in_one_stream`), where stories compete.

The scoring models (`newsflow.stories.scoring`) were fitted with `fit_models` on the pairs whose
group falls in the fitting half (`in_fitting_half`); figures are given for the other half too.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from newsflow.evaluation.report import PartReport, ResultTable, percent
from newsflow.evaluation.rows import read_rows
from newsflow.models import Article, SourceMessage
from newsflow.pipeline import Enricher
from newsflow.settings import Settings
from newsflow.stories.assign import StoryAssigner
from newsflow.stories.embedding import sentence_encoder
from newsflow.stories.features import add_story_features
from newsflow.stories.scoring import (
    MODEL_KEYS,
    SIGNALS,
    DocumentFrequencies,
    Story,
    StoryScorer,
    frequency_keys,
    model_signals,
)

FILE = "same_story_pairs.jsonl"
REQUIRED_FIELDS = ("id", "title1", "text1", "title2", "text2")
FIT_SALT = "newsflow-story-fit-v1:"
# SemEval scores run 1 (very similar) to 4; the label is score <= 2. The other cuts only steady the fit.
SCORE_CUTS = (1.5, 2.0, 3.0)
LABEL_CUT = 2.0
ALL = "all"


@dataclass(slots=True)
class Counts:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    pairs: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        self.pairs += 1
        self.true_positive += predicted and actual
        self.false_positive += predicted and not actual
        self.false_negative += actual and not predicted

    def as_dict(self) -> dict[str, float]:
        return {
            "pairs": self.pairs,
            **precision_recall_f1(self.true_positive, self.false_positive, self.false_negative),
        }


def precision_recall_f1(true_positive: int, false_positive: int, false_negative: int) -> dict[str, float]:
    precision = true_positive / (true_positive + false_positive) if true_positive + false_positive else 0.0
    recall = true_positive / (true_positive + false_negative) if true_positive + false_negative else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def in_fitting_half(row: dict[str, Any]) -> bool:
    """Pairs used to fit the scoring models: half of the groups, by a salted hash (pairs sharing an
    article share a group, so no article is on both sides)."""
    digest = hashlib.sha1(f"{FIT_SALT}{row.get('group') or row['id']}".encode()).hexdigest()
    return int(digest[:8], 16) % 2 == 0


def outlet_of(url: str | None, fallback: str) -> str:
    return url.split("/")[2] if url and url.startswith("http") and url.count("/") >= 2 else fallback


def pair_articles(rows: list[dict[str, Any]], settings: Settings) -> list[tuple[Article, Article]]:
    """Both articles of every pair, enriched by the pipeline's stages as a worker would."""
    enricher = Enricher(settings)

    def enrich(row: dict[str, Any], side: int) -> Article:
        payload = {
            "schema_version": 1,
            "url": f"https://eval.newsflow.example/{row['id']}/{side}",
            "outlet": outlet_of(row.get(f"url{side}"), f"outlet-{side}"),
            "title": row[f"title{side}"] or "-",
            "body": row[f"text{side}"] or row[f"title{side}"] or "-",
            "content_type": "text/plain",
        }
        return enricher.enrich_message(SourceMessage(orjson.dumps(payload), None, "eval", 0, 0))

    articles = [(enrich(row, 1), enrich(row, 2)) for row in rows]
    flat = [article for pair in articles for article in pair]
    if settings.entities_enabled:
        from newsflow.entities import EntityExtractor  # spaCy and the alias table: only when entities are on

        EntityExtractor(settings).annotate(flat)
    add_story_features(flat, sentence_encoder() if settings.story_embeddings else None, settings.story_embedding_chars)
    return articles


def learned_frequencies(articles: list[tuple[Article, Article]]) -> DocumentFrequencies:
    frequencies = DocumentFrequencies()
    for pair in articles:
        for article in pair:
            frequencies.add(frequency_keys(article.story_features))
    return frequencies


def placed_in_order(articles: Sequence[Article], settings: Settings, frequencies: DocumentFrequencies) -> list[str]:
    """The story each article joins, placed one after the other through one fresh assigner, which holds
    every story (no stories index behind it)."""
    assigner = StoryAssigner(settings, frequencies, hold_all=True)
    now = datetime.now(UTC)
    placed = []
    for article in articles:
        key_terms, _ = assigner.prepare(article.story_features)
        placed.append(assigner.assign(article, article.story_features, key_terms, [], now).story_id)
    return placed


def joins_first_story(first: Article, second: Article, settings: Settings, frequencies: DocumentFrequencies) -> bool:
    first_story, second_story = placed_in_order((first, second), settings, frequencies)
    return first_story == second_story


def placed_in_one_stream(
    rows: list[dict[str, Any]],
    articles: list[tuple[Article, Article]],
    settings: Settings,
    frequencies: DocumentFrequencies,
) -> tuple[Counts, int, float]:
    """Every distinct article of the file through one assigner, as a worker meets them: many stories
    compete for each article. Pairs are predicted same-story iff both articles end in one story.
    The order is fixed by a digest of each text. Returns the pair counts, the number of stories and
    the assignment's ms per article."""
    by_text: dict[bytes, Article] = {}
    sides: list[tuple[bytes, bytes]] = []
    for row, pair in zip(rows, articles, strict=True):
        digests = []
        for side, article in enumerate(pair, start=1):
            digest = hashlib.sha1(orjson.dumps([row[f"title{side}"], row[f"text{side}"]])).digest()
            by_text.setdefault(digest, article)
            digests.append(digest)
        sides.append((digests[0], digests[1]))
    order = sorted(by_text)
    started = time.perf_counter()
    stories = placed_in_order([by_text[digest] for digest in order], settings, frequencies)
    story_of = dict(zip(order, stories, strict=True))
    ms_per_article = 1000 * (time.perf_counter() - started) / len(by_text) if by_text else 0.0
    counts = Counts()
    for row, (first, second) in zip(rows, sides, strict=True):
        counts.add(story_of[first] == story_of[second], bool(row.get("label")))
    return counts, len(set(story_of.values())), ms_per_article


def evaluate(data_dir: Path, settings: Settings) -> PartReport:
    path = data_dir / FILE
    rows = read_rows(path, REQUIRED_FIELDS)
    started = time.perf_counter()
    articles = pair_articles(rows, settings)
    enriched_s = time.perf_counter() - started
    frequencies = learned_frequencies(articles)
    started = time.perf_counter()
    counts: dict[tuple[str, str], Counts] = defaultdict(Counts)
    for row, (first, second) in zip(rows, articles, strict=True):
        predicted = joins_first_story(first, second, settings, frequencies)
        languages = f"{row.get('lang1', first.language)}-{row.get('lang2', second.language)}"
        half = "fitting" if in_fitting_half(row) else "held_out"
        for scope in (ALL, languages, half):
            counts["label", scope].add(predicted, bool(row.get("label")))
            counts["label_strict", scope].add(predicted, bool(row.get("label_strict", row.get("label"))))
    assigned_s = time.perf_counter() - started
    stream, stream_stories, stream_ms = placed_in_one_stream(rows, articles, settings, frequencies)
    threshold = StoryAssigner(settings).threshold
    scopes = [ALL, "fitting", "held_out", *sorted({scope for _, scope in counts} - {ALL, "fitting", "held_out"})]
    metrics = {
        "file": str(path),
        "threshold": threshold,
        "embeddings": settings.story_embeddings,
        "entities": settings.entities_enabled,
        "ms_per_article_enrich": 1000 * enriched_s / (2 * len(rows)) if rows else 0.0,
        "ms_per_article_assign": 1000 * assigned_s / (2 * len(rows)) if rows else 0.0,
        **{
            label: {scope: counts[label, scope].as_dict() for scope in scopes if (label, scope) in counts}
            for label in ("label", "label_strict")
        },
        "stream": {**stream.as_dict(), "stories": stream_stories, "ms_per_article_assign": stream_ms},
    }
    note = (
        f"{len(rows)} pairs from {path}; threshold {threshold}, embeddings "
        f"{'on' if settings.story_embeddings else 'off'}; {metrics['ms_per_article_enrich']:.1f} ms per article "
        f"to enrich (stages, entities, story features), {metrics['ms_per_article_assign']:.2f} ms to assign"
    )
    table = ResultTable(
        title="Same story: second article joins the first one's story (% ; strict = only 'very similar')",
        columns=["pairs", "scope", "precision", "recall", "F1", "strict P", "strict R", "strict F1"],
        rows=[
            [
                str(counts["label", scope].pairs),
                scope,
                *(percent(value) for value in list(counts["label", scope].as_dict().values())[1:]),
                *(percent(value) for value in list(counts["label_strict", scope].as_dict().values())[1:]),
            ]
            for scope in scopes
            if ("label", scope) in counts
        ],
    )
    stream_table = ResultTable(
        title="Same story, every article in one stream (one assigner; a pair is same-story iff both end in one story)",
        columns=["pairs", "stories", "precision", "recall", "F1", "ms/article to assign"],
        rows=[
            [
                str(stream.pairs),
                str(stream_stories),
                *(percent(value) for value in list(stream.as_dict().values())[1:]),
                f"{stream_ms:.2f}",
            ]
        ],
    )
    return PartReport("stories", note=note, metrics=metrics, tables=[table, stream_table])


def fit_models(data_dir: Path, settings: Settings) -> dict[str, Any]:
    """Logistic models over the signals of the fitting half, and the threshold maximising F1 there.

    One model per set of signals a comparison can have: terms only within one language,
    the embedding only when enabled. Each is a cumulative-logit fit on the SemEval score
    (`SCORE_CUTS`, shared slopes), read at the label's cut; a signal whose slope comes out
    negative is left out and the model refitted. Paste the result into
    `newsflow.stories.scoring.MODELS`, the main model's threshold into `story_threshold` and that of
    the same-language model without embeddings into `story_threshold_without_embeddings`.
    """
    rows = [row for row in read_rows(data_dir / FILE, REQUIRED_FIELDS) if in_fitting_half(row)]
    articles = pair_articles(rows, settings)
    scorer = StoryScorer(learned_frequencies(articles))
    now = datetime.now(UTC)
    signals = []
    for first, second in articles:
        story = Story(id=first.id, first_seen=now, last_seen=now)
        story.add(first.story_features, scorer.key_terms(first.story_features), first.outlet, now)
        found = scorer.signals(scorer.article_vectors(second.story_features), story)
        signals.append([found.get(name, 0.0) for name in SIGNALS])
    features = np.array(signals)
    labels = np.array([bool(row.get("label")) for row in rows])
    scores = np.array([row["score"] if row.get("score") is not None else np.nan for row in rows], dtype=float)
    fitted = {}
    for same_language, embedded in MODEL_KEYS:
        used, weights = _nonnegative_fit(features, labels, scores, model_signals(same_language, embedded))
        columns = [SIGNALS.index(signal) for signal in used]
        probabilities = 1 / (1 + np.exp(-(weights[0] + features[:, columns] @ weights[1:])))
        threshold, f1 = max(
            ((cut, _f1(probabilities >= cut, labels)) for cut in np.arange(0.05, 0.95, 0.01)), key=lambda x: x[1]
        )
        fitted[f"same_language={same_language}, embedded={embedded}"] = {
            "intercept": round(float(weights[0]), 2),
            "weights": {signal: round(float(w), 2) for signal, w in zip(used, weights[1:], strict=True)},
            "threshold": round(float(threshold), 2),
            "f1_fitting_half": round(f1, 3),
        }
    return fitted


def _nonnegative_fit(
    features: np.ndarray, labels: np.ndarray, scores: np.ndarray, signals: tuple[str, ...]
) -> tuple[list[str], np.ndarray]:
    """`_ordinal_fit` over `signals` (columns of `features` in `SIGNALS` order), refitted without
    those whose weight comes out negative: a shared key is never evidence against one story, so a
    negative weight only learns a correlation between signals of these pairs."""
    used = list(signals)
    while True:
        weights = _ordinal_fit(features[:, [SIGNALS.index(signal) for signal in used]], labels, scores)
        negative = {signal for signal, weight in zip(used, weights[1:], strict=True) if weight < 0}
        if not negative:
            return used, weights
        used = [signal for signal in used if signal not in negative]


def _ordinal_fit(features: np.ndarray, labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Cumulative logit on the score: P(score <= cut) for each of `SCORE_CUTS`, one intercept per
    cut and shared slopes; returns the label cut's intercept and the slopes. The neighbouring cuts
    tell the fit how far a pair is from the label's boundary, which the yes/no label alone does
    not (a steadier fit on ~170 pairs). Rows without a score count at the label's cut only."""
    blocks, targets = [], []
    for index, cut in enumerate(SCORE_CUTS):
        rows = ~np.isnan(scores) | (cut == LABEL_CUT)
        target = np.where(np.isnan(scores), labels, scores <= cut)[rows]
        indicator = np.zeros((int(rows.sum()), len(SCORE_CUTS)))
        indicator[:, index] = 1.0
        blocks.append(np.hstack([indicator, features[rows]]))
        targets.append(target)
    weights = _logistic_fit(np.vstack(blocks), np.concatenate(targets).astype(float), len(SCORE_CUTS))
    return np.concatenate([[weights[SCORE_CUTS.index(LABEL_CUT)]], weights[len(SCORE_CUTS) :]])


def _logistic_fit(design: np.ndarray, labels: np.ndarray, intercepts: int, l2: float = 0.0003) -> np.ndarray:
    """Weights by Newton's method with a small ridge on all but the first `intercepts` columns."""
    ridge = l2 * np.diag([0.0] * intercepts + [1.0] * (design.shape[1] - intercepts))
    weights = np.zeros(design.shape[1])
    for _ in range(60):
        p = 1 / (1 + np.exp(-design @ weights))
        gradient = design.T @ (p - labels) / len(labels) + ridge @ weights
        hessian = (design.T * (p * (1 - p))) @ design / len(labels) + ridge
        weights -= np.linalg.solve(hessian, gradient)
    return weights


def _f1(predicted: np.ndarray, labels: np.ndarray) -> float:
    return precision_recall_f1(
        int((predicted & labels).sum()), int((predicted & ~labels).sum()), int((~predicted & labels).sum())
    )["f1"]


if __name__ == "__main__":
    import sys

    from newsflow.settings import load_settings

    print(orjson.dumps(fit_models(Path(sys.argv[1]), load_settings()), option=orjson.OPT_INDENT_2).decode())
