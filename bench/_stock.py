"""What the benchmarks need to run stock fairseq's multi-corpus audio_pretraining on DATA/<lang>/."""
import math
from typing import List, Sequence


def alpha_weights(amounts: Sequence[float], alpha: float) -> List[float]:
    """p_l = (n_l/N)^alpha / sum (n_l'/N)^alpha, worked out here apart from the plugin, and
    nudged so that the builtin sum is exactly 1.0 (MultiCorpusDataset asserts `sum(...) == 1`)."""
    total = float(sum(amounts))
    weights = [(n / total) ** alpha for n in amounts]
    norm = sum(weights)
    probs = [w / norm for w in weights]
    big = max(range(len(probs)), key=probs.__getitem__)  # the largest: its steps move the sum
    for _ in range(10_000):
        error = sum(probs) - 1.0
        if error == 0.0:
            return probs
        probs[big] = math.nextafter(probs[big], -math.inf if error > 0 else math.inf)
    raise RuntimeError(f"could not make the weights sum to 1: {probs}")


def multi_corpus_split(langs: Sequence[str], split: str = "train") -> str:
    """Stock audio_pretraining's split syntax `key:manifest,...` over DATA/<lang>/<split>.tsv."""
    return ",".join(f"{lang}:{lang}/{split}" for lang in langs)


def weights_string(weights: Sequence[float]) -> str:
    return ",".join(repr(w) for w in weights)
