"""The story models' fit: cumulative logit on the score, no negative signal weights."""

import numpy as np

from newsflow.evaluation.stories import SIGNALS, _nonnegative_fit, _ordinal_fit


def scored_pairs(count: int = 400, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs whose score falls as the term and embedding cosines rise; entities copy the terms."""
    rng = np.random.default_rng(seed)
    closeness = rng.uniform(0, 1, count)
    features = np.zeros((count, len(SIGNALS)))
    features[:, SIGNALS.index("terms")] = np.clip(closeness + rng.normal(0, 0.15, count), 0, 1)
    features[:, SIGNALS.index("embedding")] = np.clip(closeness + rng.normal(0, 0.15, count), 0, 1)
    features[:, SIGNALS.index("entities")] = features[:, SIGNALS.index("terms")] + rng.normal(0, 0.01, count)
    scores = np.clip(np.round((4 - 3 * closeness + rng.normal(0, 0.4, count)) * 2) / 2, 1, 4)
    return features, scores <= 2, scores


def test_ordinal_fit_reads_the_label_cut() -> None:
    features, labels, scores = scored_pairs()
    columns = [SIGNALS.index("terms"), SIGNALS.index("embedding")]
    weights = _ordinal_fit(features[:, columns], labels, scores)
    assert weights[1] > 0 and weights[2] > 0
    predicted = weights[0] + features[:, columns] @ weights[1:] >= 0
    assert (predicted == labels).mean() > 0.8


def test_rows_without_score_count_at_the_label_cut() -> None:
    features, labels, scores = scored_pairs()
    scores[:50] = np.nan
    weights = _ordinal_fit(features[:, [SIGNALS.index("terms")]], labels, scores)
    assert np.isfinite(weights).all() and weights[1] > 0


def test_a_signal_with_negative_weight_is_left_out() -> None:
    features, labels, scores = scored_pairs()
    # Entities that fall as the story gets closer: the fit would weigh them negatively.
    features[:, SIGNALS.index("entities")] = 1 - features[:, SIGNALS.index("terms")]
    used, weights = _nonnegative_fit(features, labels, scores, SIGNALS)
    assert "entities" not in used
    assert len(weights) == len(used) + 1 and (weights[1:] >= 0).all()
