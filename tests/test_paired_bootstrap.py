"""The paired bootstrap against hand-worked and fully enumerated answers."""
import itertools

import numpy as np
import pytest

from xlsr_plugin.scoring.paired_bootstrap import paired_bootstrap

RESAMPLES = 40_000


def sigma(p: float) -> float:
    return 4 * np.sqrt(p * (1 - p) / RESAMPLES) + 1e-9


def test_hand_worked_two_utterances():
    # Utterances of 2 units; A makes 0 and 2 errors, B 1 and 1: both rates 50%. The 4 equally
    # likely resamples (0,0) (0,1) (1,0) (1,1) give A-B = -50, 0, 0, +50 points.
    result = paired_bootstrap([0, 2], [1, 1], [2, 2], resamples=RESAMPLES)
    assert result.rate_a == result.rate_b == 50 and result.difference == 0
    assert (result.low, result.high) == (-50, 50)
    assert abs(result.p_a_better - 0.5) < sigma(0.5)  # 1/4 better + half of the 1/2 ties
    assert result.verdict == "not distinguishable"


def exact_distribution(a, b, lengths):
    """Every one of the n^n equally likely resamples of n utterances, enumerated."""
    n = len(lengths)
    diffs = []
    for draw in itertools.product(range(n), repeat=n):
        idx = list(draw)
        diffs.append(100 * (a[idx].sum() - b[idx].sum()) / lengths[idx].sum())
    return np.array(diffs)


def test_matches_enumeration_of_every_resample():
    rng = np.random.default_rng(3)
    lengths = rng.integers(3, 9, size=5).astype(float)
    a = rng.integers(0, 4, size=5).astype(float)
    b = rng.integers(0, 5, size=5).astype(float)
    exact = exact_distribution(a, b, lengths)  # 3,125 resamples
    result = paired_bootstrap(a, b, lengths, resamples=RESAMPLES, seed=1)
    p_exact = np.mean(exact < 0) + 0.5 * np.mean(exact == 0)
    assert abs(result.p_a_better - p_exact) < sigma(p_exact)
    # The interval's ends are the exact distribution's 2.5% and 97.5% quantiles (within MC
    # error): at most 2.5% of it lies beyond each end, at least 2.5% at or beyond it.
    slack = sigma(0.025)
    assert np.mean(exact < result.low) <= 0.025 + slack <= np.mean(exact <= result.low) + 2 * slack
    assert np.mean(exact > result.high) <= 0.025 + slack <= np.mean(exact >= result.high) + 2 * slack


def test_strata_keep_each_language_share():
    # Only the lone utterance of the first language differs: stratified resampling draws it in
    # every resample, so the difference never varies and A is better in all of them.
    a, b, lengths = [0, 1, 1, 1], [3, 1, 1, 1], [3, 2, 2, 2]
    result = paired_bootstrap(a, b, lengths, strata=["ka", "fi", "fi", "fi"], resamples=2000)
    assert result.low == result.high == result.difference == pytest.approx(-100 * 3 / 9)
    assert result.p_a_better == 1 and result.verdict == "better"
    pooled = paired_bootstrap(a, b, lengths, resamples=2000)
    assert pooled.high == 0  # without strata some resamples leave it out: a tie


def test_runs_are_resampled_too():
    # A's two seeds make 0 and 2 errors on every 1-unit utterance, B's one seed 1: the seed draws
    # (0,0), (0,1), (1,0), (1,1) give A-B = -100, 0, 0, +100 whatever the utterances drawn.
    result = paired_bootstrap([[0, 0, 0], [2, 2, 2]], [1, 1, 1], [1, 1, 1], resamples=RESAMPLES)
    assert (result.runs_a, result.runs_b) == (2, 1)
    assert result.difference == 0 and (result.low, result.high) == (-100, 100)
    assert abs(result.p_a_better - 0.5) < sigma(0.5)


def test_clear_differences_get_words():
    none, all_wrong = np.zeros(40), np.full(40, 4.0)
    assert paired_bootstrap(none, all_wrong, np.full(40, 4.0)).verdict == "better"
    assert paired_bootstrap(all_wrong, none, np.full(40, 4.0)).verdict == "worse"


def test_same_seed_same_interval_and_unpaired_input_refused():
    a, b, lengths = [1, 0, 3, 2], [2, 1, 1, 2], [4, 4, 5, 5]
    assert paired_bootstrap(a, b, lengths, seed=7) == paired_bootstrap(a, b, lengths, seed=7)
    with pytest.raises(ValueError, match="A has 4 utterances, B 3"):
        paired_bootstrap(a, b[:3], lengths)
