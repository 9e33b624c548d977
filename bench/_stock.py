"""What the benchmarks need to run stock fairseq's multi-corpus audio_pretraining on DATA/<lang>/."""
import math
from typing import Dict, List, Sequence


def alpha_weights(amounts: Sequence[float], alpha: float) -> List[float]:
    """p_l = (n_l/N)^alpha / sum (n_l'/N)^alpha, worked out here apart from the plugin, and
    nudged so that the builtin sum is exactly 1.0 (MultiCorpusDataset asserts `sum(...) == 1`)."""
    total = float(sum(amounts))
    weights = [(n / total) ** alpha for n in amounts]
    norm = sum(weights)
    return summing_to_one([w / norm for w in weights])


def pooled_part_weights(parts: Sequence[str], hours: Dict[str, float], alpha: float) -> List[float]:
    """`<corpus>/<lang>` parts: p_l by alpha over language totals, shared by the language's parts
    in proportion to their hours (corpus_alpha 1, XLSR-53)."""
    lang_of = {part: part.rpartition("/")[2] for part in parts}
    totals: Dict[str, float] = {}
    for part in parts:
        totals[lang_of[part]] = totals.get(lang_of[part], 0.0) + hours[part]
    p_lang = dict(zip(totals, alpha_weights(list(totals.values()), alpha)))
    return summing_to_one([p_lang[lang_of[p]] * hours[p] / totals[lang_of[p]] for p in parts])


def summing_to_one(probs: List[float]) -> List[float]:
    """Steps the largest weight (its steps move the sum fast), then, when the sum keeps jumping
    over 1.0, the smallest (finer steps), one float at a time."""
    for position in (max, min):
        moved = position(range(len(probs)), key=probs.__getitem__)
        for _ in range(10_000):
            error = sum(probs) - 1.0
            if error == 0.0:
                return probs
            probs[moved] = math.nextafter(probs[moved], -math.inf if error > 0 else math.inf)
    raise RuntimeError(f"could not make the weights sum to 1: {probs}")


def multi_corpus_split(langs: Sequence[str], split: str = "train") -> str:
    """Stock audio_pretraining's split syntax `key:manifest,...` over DATA/<lang>/<split>.tsv
    (or DATA/<corpus>/<lang>/<split>.tsv for a `<corpus>/<lang>` part, key `<corpus>_<lang>`)."""
    return ",".join(f"{key(lang)}:{lang}/{split}" for lang in langs)


def key(part: str) -> str:
    return part.replace("/", "_")


def weights_string(weights: Sequence[float]) -> str:
    return ",".join(repr(w) for w in weights)
