"""Language-balanced sampling of XLSR (Conneau et al. 2020, section 3.2), without fairseq.

Languages are sampled with p_l = (n_l/N)^alpha / sum_l' (n_l'/N)^alpha, n_l the amount of data of
language l (hours or utterances; the tasks count the hours training reads, each clip capped at
the crop). alpha=1 keeps the natural distribution, alpha=0 is uniform, and the paper's alpha=0.5
up-samples low-resource languages.

With several corpora per language (XLSR-53: Common Voice, BABEL, MLS), sampling has two levels
(XLS-R, Babu et al. 2021): languages by alpha, then the corpora of a language by beta over their
share of that language, q_c|l = (n_lc/n_l)^beta / sum_c' (n_lc'/n_l)^beta. beta=1 pools the
corpora (XLSR-53); every (language, corpus) part gets the probability p_l * q_c|l.
"""
from typing import List, Sequence

import numpy as np


def sampling_probabilities(amounts: Sequence[float], alpha: float) -> np.ndarray:
    """p_l = (n_l/N)^alpha / sum (n_l'/N)^alpha for the amounts n_l of each language."""
    amounts = np.asarray(amounts, dtype=np.float64)
    if amounts.ndim != 1 or len(amounts) == 0:
        raise ValueError(f"expected a non-empty list of amounts, found {amounts!r}")
    if (amounts <= 0).any():
        raise ValueError(f"every language needs data (amount > 0), found {amounts.tolist()}")
    if alpha < 0:
        raise ValueError(f"sampling alpha must be >= 0, found {alpha}")
    weights = (amounts / amounts.sum()) ** alpha
    return weights / weights.sum()


def part_probabilities(
    amounts: Sequence[float], languages: Sequence[int], alpha: float, beta: float = 1.0
) -> np.ndarray:
    """p_l * q_c|l for each (language, corpus) part, `languages[i]` the language of part i.

    Languages are weighted by alpha over their totals, then each language's parts by beta over
    their share of it. With one part per language this is sampling_probabilities(amounts, alpha).
    """
    amounts = np.asarray(amounts, dtype=np.float64)
    languages = np.asarray(languages, dtype=np.int64)
    if amounts.shape != languages.shape:
        raise ValueError(f"one language per part expected: {len(languages)} for {len(amounts)} parts")
    if (amounts <= 0).any():
        raise ValueError(f"every part needs data (amount > 0), found {amounts.tolist()}")
    groups, group_of = np.unique(languages, return_inverse=True)
    totals = np.bincount(group_of, weights=amounts)
    per_language = sampling_probabilities(totals, alpha)
    within = np.empty_like(amounts)
    for group in range(len(groups)):
        members = group_of == group
        within[members] = sampling_probabilities(amounts[members], beta)
    return per_language[group_of] * within


def epoch_draws(num_utterances: Sequence[int], amounts: Sequence[float], alpha: float) -> np.ndarray:
    """Utterances to draw from each language in one epoch (one part per language)."""
    return draws_for(num_utterances, amounts, sampling_probabilities(amounts, alpha))


def draws_for(num_utterances: Sequence[int], amounts: Sequence[float], probabilities) -> np.ndarray:
    """Utterances to draw from each part in one epoch, given each part's probability.

    The epoch holds as much data as the corpus (in the unit of `amounts`) and gives part i the
    share probabilities[i] of it, so its utterances are resampled by the ratio p_i / (n_i/N),
    the size ratio of fairseq's ResamplingDataset. Every part keeps at least one utterance.
    """
    num_utterances = np.asarray(num_utterances, dtype=np.int64)
    amounts = np.asarray(amounts, dtype=np.float64)
    ratios = np.asarray(probabilities, dtype=np.float64) / (amounts / amounts.sum())
    return np.maximum(np.rint(num_utterances * ratios), 1).astype(np.int64)


def draw_language(num_utterances: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `draws` utterances out of `num_utterances`, in random order.

    Down-sampling draws without replacement. Up-sampling repeats utterances: each one
    floor(draws/n) times, the rest drawn without replacement, so that no utterance of a
    low-resource language is left out by chance (plain sampling with replacement misses ~1/e).
    """
    repeats, remainder = divmod(int(draws), int(num_utterances))
    chosen = np.concatenate(
        [np.tile(np.arange(num_utterances, dtype=np.int64), repeats),
         rng.choice(num_utterances, size=remainder, replace=False).astype(np.int64)]
    )
    rng.shuffle(chosen)
    return chosen


def draw_epoch(
    num_utterances: Sequence[int], draws: Sequence[int], seed: int, epoch: int
) -> List[np.ndarray]:
    """Each language's utterance indices for `epoch`: a function of (seed, epoch) alone, so that
    every rank builds the same plan and a resumed run draws what an uninterrupted one would."""
    return [
        draw_language(n, d, np.random.default_rng([seed, epoch, lang]))
        for lang, (n, d) in enumerate(zip(num_utterances, draws))
    ]
