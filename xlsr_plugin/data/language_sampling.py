"""Language-balanced sampling of XLSR (Conneau et al. 2020, section 3.2), without fairseq.

Languages are sampled with p_l = (n_l/N)^alpha / sum_l' (n_l'/N)^alpha, n_l the amount of data of
language l (hours or utterances). alpha=1 keeps the natural distribution, alpha=0 is uniform, and
the paper's alpha=0.5 up-samples low-resource languages.
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


def epoch_draws(num_utterances: Sequence[int], amounts: Sequence[float], alpha: float) -> np.ndarray:
    """Utterances to draw from each language in one epoch.

    The epoch holds as much data as the corpus (in the unit of `amounts`) and gives language l the
    share p_l of it, so language l's utterances are resampled by the ratio p_l / (n_l/N), the
    size ratio of fairseq's ResamplingDataset. Every language keeps at least one utterance.
    """
    num_utterances = np.asarray(num_utterances, dtype=np.int64)
    amounts = np.asarray(amounts, dtype=np.float64)
    natural = amounts / amounts.sum()
    ratios = sampling_probabilities(amounts, alpha) / natural
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
