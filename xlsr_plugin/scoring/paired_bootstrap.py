"""Paired bootstrap for the difference between two systems' error rates (no fairseq inside).

Bisani & Ney (2004), "Bootstrap estimates for confidence intervals in ASR performance
evaluation": both systems decoded the same utterances, so the utterances are resampled with
replacement and both rates are recomputed on each resample; the spread of the difference over
resamples is its uncertainty. Rates stay corpus level (summed errors over summed reference units).

Extensions used here:
- strata: utterances are resampled within each stratum (language), so every resample keeps each
  language's share of the test set;
- several runs per system (fine-tuning seeds): each resample also draws each system's runs with
  replacement, so the interval covers the seed-to-seed spread as well as the choice of utterances.
"""
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedComparison:
    """A minus B in error-rate points (negative: A makes fewer errors)."""

    rate_a: float
    rate_b: float
    difference: float
    low: float
    high: float
    p_a_better: float
    utterances: int
    runs_a: int
    runs_b: int
    resamples: int

    @property
    def verdict(self) -> str:
        """'better', 'worse' (A against B) or 'not distinguishable', from the interval."""
        if self.high < 0:
            return "better"
        if self.low > 0:
            return "worse"
        return "not distinguishable"


def paired_bootstrap(errors_a, errors_b, lengths, strata: Optional[Sequence] = None,
                     resamples: int = 10_000, seed: int = 0,
                     confidence: float = CONFIDENCE) -> PairedComparison:
    """Compare systems A and B on the same utterances.

    errors_a: [runs_a, utterances] (or [utterances]) edit errors of A per utterance;
    errors_b: [runs_b, utterances] likewise; lengths: [utterances] reference units;
    strata: [utterances] labels (e.g. languages) to resample within.
    The interval is the percentile interval of the resampled differences; `p_a_better` the share of
    resamples where A's rate is lower, ties counted half (so p_a_better + p_b_better = 1).
    """
    a, b, lengths = _as_runs(errors_a), _as_runs(errors_b), np.asarray(lengths, dtype=float)
    _check_shapes(a, b, lengths)
    rng = np.random.default_rng(seed)
    weights = _utterance_weights(rng, strata, len(lengths), resamples)  # [R, U]
    diffs = _rate(weights, _run_means(rng, a, resamples), lengths) \
        - _rate(weights, _run_means(rng, b, resamples), lengths)
    tail = (1 - confidence) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    rate_a, rate_b = (100 * x.mean(axis=0).sum() / lengths.sum() for x in (a, b))
    return PairedComparison(
        rate_a=float(rate_a), rate_b=float(rate_b), difference=float(rate_a - rate_b),
        low=float(low), high=float(high),
        p_a_better=float(np.mean(diffs < 0) + 0.5 * np.mean(diffs == 0)),
        utterances=len(lengths), runs_a=len(a), runs_b=len(b), resamples=resamples)


def _as_runs(errors) -> np.ndarray:
    errors = np.asarray(errors, dtype=float)
    return errors[None, :] if errors.ndim == 1 else errors


def _check_shapes(a: np.ndarray, b: np.ndarray, lengths: np.ndarray) -> None:
    if not (a.shape[1] == b.shape[1] == len(lengths)):
        raise ValueError(f"A has {a.shape[1]} utterances, B {b.shape[1]}, references "
                         f"{len(lengths)}: a paired comparison needs the same utterances")
    if lengths.sum() <= 0:
        raise ValueError("the references hold no units: no error rate to compare")


def _utterance_weights(rng, strata, n: int, resamples: int) -> np.ndarray:
    """How often each utterance is drawn in each resample, drawing within each stratum as many
    utterances as it holds."""
    labels = np.zeros(n, dtype=int) if strata is None else np.unique(strata, return_inverse=True)[1]
    weights = np.zeros((resamples, n))
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        draws = rng.multinomial(len(members), np.full(len(members), 1 / len(members)), resamples)
        weights[:, members] = draws
    return weights


def _run_means(rng, runs: np.ndarray, resamples: int) -> np.ndarray:
    """Per resample, each utterance's errors averaged over runs drawn with replacement: [R, U]."""
    if len(runs) == 1:
        return np.broadcast_to(runs[0], (resamples, runs.shape[1]))
    draws = rng.multinomial(len(runs), np.full(len(runs), 1 / len(runs)), resamples)
    return draws @ runs / len(runs)


def _rate(weights: np.ndarray, errors: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return 100 * (weights * errors).sum(axis=1) / (weights @ lengths)
