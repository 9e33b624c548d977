"""Figures of codeword usage: ``units.png`` (similarity + dendrogram) and ``usage.png``.

matplotlib and scipy come with the ``analysis`` extra (``pip install .[analysis]``). Sizes and
fonts scale with the number of languages so that 10 and 53 languages both stay readable.
"""
from typing import Dict, List, Sequence

import numpy as np

from xlsr_plugin.analysis import unit_stats

MISSING_MESSAGE = (
    "the unit plots need matplotlib and scipy: pip install 'xlsr_plugin[analysis]' "
    "(or pip install matplotlib scipy), or pass --no-plots")


def require_plotting() -> None:
    """Fail early, before the audio is read, when the plotting extra is missing."""
    try:
        import matplotlib  # noqa: F401
        import scipy  # noqa: F401
    except ImportError as e:
        raise ImportError(f"{MISSING_MESSAGE} ({e})") from e


def _pyplot():
    require_plotting()
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    return plt


def _side(n: int) -> float:
    """Inches for n rows of labels."""
    return max(5.0, 0.22 * n + 3.0)


def _label_size(n: int) -> float:
    """Points: about 60% of a row's height (0.8 of the figure), between 6 and 11."""
    return float(np.clip(0.6 * 0.8 * _side(n) * 72.0 / max(n, 1), 6.0, 11.0))


def plot_similarity(similarity: np.ndarray, langs: Sequence[str], path: str,
                    title: str = "Codeword usage similarity (1 - Jensen-Shannon divergence)"
                    ) -> None:
    """Heatmap of pairwise similarity ordered by clustering, dendrogram on the left."""
    plt = _pyplot()
    from scipy.cluster import hierarchy

    n = len(langs)
    side = _side(n)
    fig = plt.figure(figsize=(side * 1.3, side))
    ax_tree = fig.add_axes([0.02, 0.12, 0.16, 0.8])
    ax_map = fig.add_axes([0.19, 0.12, 0.6, 0.8])
    ax_bar = fig.add_axes([0.89, 0.12, 0.02, 0.8])
    clusters = unit_stats.cluster_order(similarity)
    order = list(range(n))
    if clusters is not None:
        tree = hierarchy.dendrogram(clusters["linkage"], orientation="left", ax=ax_tree,
                                    no_labels=True, color_threshold=0,
                                    above_threshold_color="0.3")
        # leaves are drawn bottom-up; flip so the first leaf faces the heatmap's top row
        order = list(tree["leaves"])
        ax_tree.invert_yaxis()
    ax_tree.axis("off")
    ordered = similarity[np.ix_(order, order)]
    image = ax_map.imshow(ordered, cmap="viridis", vmin=float(ordered.min()), vmax=1.0,
                          aspect="auto", interpolation="nearest")
    names = [langs[i] for i in order]
    size = _label_size(n)
    ax_map.set_xticks(range(n), names, rotation=90, fontsize=size)
    ax_map.set_yticks(range(n), names, fontsize=size)
    ax_map.yaxis.tick_right()
    if n <= 12:
        for i in range(n):
            for j in range(n):
                ax_map.text(j, i, f"{ordered[i, j]:.2f}", ha="center", va="center",
                            fontsize=size - 1, color="w" if ordered[i, j] < 0.8 else "k")
    ax_map.set_title(title)
    fig.colorbar(image, cax=ax_bar)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def favourite_codewords(dists: np.ndarray, order: Sequence[int], top_n: int) -> List[int]:
    """Each language's most used codewords in turn (languages in ``order``), no repeats.

    Columns grouped this way show, per language, its own units and whether others use them too.
    """
    per_lang = max(3, top_n // max(len(order), 1))
    chosen: List[int] = []
    seen = set()
    for i in order:
        ranked = np.argsort(-dists[i], kind="stable")
        picked = [int(c) for c in ranked[: per_lang + len(chosen)]
                  if dists[i, c] > 0 and int(c) not in seen][:per_lang]
        chosen.extend(picked)
        seen.update(picked)
    return chosen


def plot_usage(counts: np.ndarray, langs: Sequence[str], stats: Dict[str, object], path: str,
               order: Sequence[int] = None, top_n: int = 200) -> None:
    """Per language (rows): its share of frames on the languages' favourite codewords, and its
    distinct codewords and perplexity."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    n = len(langs)
    order = list(order) if order is not None else list(range(n))
    dists = unit_stats.usage_distributions(counts)
    columns = favourite_codewords(dists, order, top_n)
    shares = dists[np.ix_(order, columns)]
    fig, (ax_map, ax_bar) = plt.subplots(1, 2, figsize=(14, _side(n)), sharey=True,
                                         gridspec_kw={"width_ratios": [3, 1]})
    floor = max(float(shares[shares > 0].min()) if (shares > 0).any() else 1e-6, 1e-6)
    image = ax_map.imshow(np.maximum(shares, floor), aspect="auto", interpolation="nearest",
                          cmap="magma", norm=LogNorm(vmin=floor, vmax=max(shares.max(), floor)))
    names = [langs[i] for i in order]
    ax_map.set_yticks(range(n), names, fontsize=_label_size(n))
    ax_map.set_xlabel(f"each language's {max(3, top_n // max(n, 1))} most used codewords, "
                      "languages in the row order")
    ax_map.set_title("share of each language's frames on a codeword (log scale)")
    fig.colorbar(image, ax=ax_map, fraction=0.03, pad=0.01)
    per_lang = stats["languages"]
    distinct = [per_lang[langs[i]]["distinct_codewords"] for i in order]
    ppl = [per_lang[langs[i]]["perplexity"] for i in order]
    ax_bar.barh(range(n), distinct, color="0.75", label="distinct codewords used")
    ax_bar.barh(range(n), ppl, color="tab:blue", height=0.5, label="perplexity of usage")
    ax_bar.set_xlabel("codewords")
    ax_bar.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8, frameon=False)
    ax_bar.tick_params(axis="y", labelleft=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
