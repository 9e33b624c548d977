"""Statistics of codeword usage per language: pure numpy, no model and no plotting.

The input everywhere is ``counts``, an integer array ``[languages, codewords]``: how often each
language's audio selected each codeword of the quantizer (a codeword being the tuple of its G
groups' entries, so there are V**G of them).

Languages are compared by the Jensen-Shannon divergence of their usage distributions, in bits:
it is symmetric, bounded in [0, 1], defined when one language uses codewords the other never does
(Kullback-Leibler is not), and its square root is a metric, so it serves directly as the distance
of the hierarchical clustering. The similarity reported is ``1 - JSD``: 1 for identical usage,
0 for usage on disjoint codewords.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np


def usage_distributions(counts: np.ndarray) -> np.ndarray:
    """Rows of ``counts`` normalized to sum to 1 (a row of zeros stays zeros)."""
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def entropy_bits(p: np.ndarray) -> float:
    """Shannon entropy in bits of one distribution (zeros contribute nothing)."""
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


def perplexity(p: np.ndarray) -> float:
    """2 ** entropy: the number of equally used codewords with the same entropy."""
    return float(2.0 ** entropy_bits(p))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits, in [0, 1]."""
    m = 0.5 * (p + q)
    jsd = entropy_bits(m) - 0.5 * (entropy_bits(p) + entropy_bits(q))
    return float(min(max(jsd, 0.0), 1.0))  # clip rounding error


def js_similarity_matrix(counts: np.ndarray) -> np.ndarray:
    """``[L, L]`` matrix of ``1 - JSD`` between the languages' usage distributions."""
    dists = usage_distributions(counts)
    n = len(dists)
    sim = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            sim[i, j] = sim[j, i] = 1.0 - js_divergence(dists[i], dists[j])
    return sim


def jaccard_matrix(counts: np.ndarray) -> np.ndarray:
    """``[L, L]`` matrix of |A ∩ B| / |A ∪ B| over the sets of codewords each language used."""
    used = np.asarray(counts) > 0
    inter = used.astype(np.int64) @ used.T.astype(np.int64)
    sizes = used.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - inter
    return np.divide(inter, union, out=np.zeros(inter.shape), where=union > 0)


def shared_usage(counts: np.ndarray) -> np.ndarray:
    """Per language, the share of its usage on codewords that some other language also used."""
    used = np.asarray(counts) > 0
    n_users = used.sum(axis=0)
    dists = usage_distributions(counts)
    # a codeword is shared, from language l's side, when someone besides l uses it
    shared = (n_users[None, :] - used) > 0
    return (dists * shared).sum(axis=1)


def top_codewords(row: np.ndarray, k: int) -> List[List[float]]:
    """The ``k`` most used codewords of one language as ``[index, share]`` pairs."""
    total = row.sum()
    if total == 0:
        return []
    order = np.argsort(-row, kind="stable")[:k]
    return [[int(i), float(row[i] / total)] for i in order if row[i] > 0]


def cluster_order(similarity: np.ndarray) -> Optional[Dict[str, object]]:
    """Average-linkage clustering on sqrt(JSD); None when scipy is missing or < 2 languages."""
    try:
        from scipy.cluster import hierarchy
        from scipy.spatial.distance import squareform
    except ImportError:
        return None
    if len(similarity) < 2:
        return None
    dist = np.sqrt(np.clip(1.0 - similarity, 0.0, 1.0))
    np.fill_diagonal(dist, 0.0)
    linkage = hierarchy.linkage(squareform(dist, checks=False), method="average")
    return {"linkage": linkage, "order": [int(i) for i in hierarchy.leaves_list(linkage)]}


def summarize(counts: np.ndarray, langs: Sequence[str], top_k: int = 10) -> Dict[str, object]:
    """Everything ``units.json`` says about usage: per language, per pair and overall."""
    counts = np.asarray(counts)
    if counts.shape[0] != len(langs):
        raise ValueError(f"counts has {counts.shape[0]} rows, expected one per language "
                         f"({len(langs)})")
    dists = usage_distributions(counts)
    shared = shared_usage(counts)
    sim = js_similarity_matrix(counts)
    jac = jaccard_matrix(counts)
    per_lang = {}
    for i, lang in enumerate(langs):
        per_lang[lang] = {
            "frames": int(counts[i].sum()),
            "distinct_codewords": int((counts[i] > 0).sum()),
            "perplexity": perplexity(dists[i]),
            "shared_usage": float(shared[i]),
            "top_codewords": top_codewords(counts[i], top_k),
        }
    pairs = {}
    for i, a in enumerate(langs):
        for j in range(i + 1, len(langs)):
            pairs[f"{a}-{langs[j]}"] = {"js_similarity": float(sim[i, j]),
                                        "jaccard": float(jac[i, j])}
    total = dists.mean(axis=0) if len(langs) else np.zeros(counts.shape[1])
    return {
        "languages": per_lang,
        "pairs": pairs,
        "similarity_matrix": sim.tolist(),
        "all_languages": {
            "distinct_codewords": int((counts.sum(axis=0) > 0).sum()),
            "perplexity_language_average": perplexity(total),
            "codewords_used_by_every_language": int((counts > 0).all(axis=0).sum())
            if len(langs) else 0,
        },
    }
