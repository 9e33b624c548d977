"""Which discrete units the shared quantizer learned, per language (Conneau et al. 2020, §5).

Runs the feature encoder and the quantizer of a pretraining checkpoint (``xlsr`` or stock
``wav2vec2``) over each language's audio, counts how often each codeword (the G groups' entries
taken together, V**G codewords) is selected, and compares the languages' usage::

    python -m xlsr_plugin.analysis.units --path checkpoint_best.pt --data DATA \\
        --langs es,fr,it --split valid --out units_out

writes ``units.json`` (statistics), ``counts.npz`` (the full count matrix), ``units.png``
(similarity heatmap ordered by clustering, with its dendrogram) and ``usage.png``.
"""
import argparse
import json
import logging
import os
import sys
from typing import Dict, Optional, Sequence

import numpy as np

from xlsr_plugin.analysis import unit_stats
from xlsr_plugin.checkpoint_loading import TRUST_HELP

logger = logging.getLogger(__name__)

SIMILARITY_MEASURE = (
    "js_similarity = 1 - Jensen-Shannon divergence (bits, in [0, 1]) between the languages' "
    "codeword usage distributions; clustering: average linkage on sqrt(JSD). jaccard = "
    "|A & B| / |A | B| of the sets of codewords the two languages used.")
CODEWORD_INDEX = "sum over groups g of index_g * V**(G-1-g) (fairseq's to_codebook_index)"


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _parse_langs(langs) -> list:
    if isinstance(langs, str):
        langs = langs.split(",")
    langs = [lang.strip() for lang in langs if lang.strip()]
    if not langs:
        raise ValueError("no languages given")
    if len(set(langs)) != len(langs):
        raise ValueError(f"languages repeat: {langs}")
    return langs


def _report(checkpoint: str, split: str, langs: Sequence[str], loaded, counts: np.ndarray,
            read: Dict[str, Dict[str, float]], max_hours: Optional[float]) -> Dict[str, object]:
    stats = unit_stats.summarize(counts, langs)
    for lang in langs:
        stats["languages"][lang].update(read[lang])
    clusters = unit_stats.cluster_order(np.asarray(stats["similarity_matrix"]))
    quantizer = loaded.model.quantizer
    return {
        "checkpoint": os.path.abspath(checkpoint),
        "split": split,
        "max_hours_per_language": max_hours,
        "groups": quantizer.groups,
        "entries_per_group": quantizer.num_vars,
        "codewords": loaded.num_codewords,
        "codeword_index": CODEWORD_INDEX,
        "similarity_measure": SIMILARITY_MEASURE,
        "language_order": list(langs),
        "cluster_order": None if clusters is None else [langs[i] for i in clusters["order"]],
        **stats,
    }


def analyze_units(checkpoint: str, data: str, langs, split: str = "valid",
                  out_dir: Optional[str] = None, max_hours: Optional[float] = 1.0,
                  device: Optional[str] = None, max_samples: int = 16000 * 120,
                  seed: int = 0, plots: bool = True, progress: bool = True,
                  trust: bool = False) -> Dict[str, object]:
    """Count codeword usage per language and write the report; return what ``units.json`` holds.

    Args:
        checkpoint: pretraining checkpoint (``xlsr``/``wav2vec2``, ``cfg`` or ``args`` style).
        data: folder with ``<lang>/<split>.tsv`` manifests.
        langs: language codes, a list or ``"es,fr"``.
        split: manifest name, e.g. ``valid``.
        out_dir: where ``units.json``, ``counts.npz`` and the figures go; None writes nothing.
        max_hours: audio read per language at most (a seeded random subset); None for all.
        device: ``cpu``/``cuda``; default the GPU when there is one.
        max_samples: padded samples per batch (16 kHz).
        plots: draw ``units.png`` and ``usage.png`` (needs matplotlib and scipy).
        trust: read a checkpoint the loading policy refuses (--trust-checkpoint).
    """
    from xlsr_plugin.analysis import unit_counting

    langs = _parse_langs(langs)
    if plots and out_dir is not None:
        from xlsr_plugin.analysis import unit_plots

        unit_plots.require_plotting()
    device = device or _default_device()
    loaded = unit_counting.load_quantizer_model(checkpoint, data, device, trust)
    counts, read = unit_counting.count_codewords(
        loaded, data, langs, split, max_hours=max_hours, max_samples=max_samples,
        device=device, seed=seed, progress=progress)
    report = _report(checkpoint, split, langs, loaded, counts, read, max_hours)
    if out_dir is not None:
        write_outputs(report, counts, langs, out_dir, plots)
    return report


def write_outputs(report: Dict[str, object], counts: np.ndarray, langs: Sequence[str],
                  out_dir: str, plots: bool = True) -> None:
    """``units.json``, ``counts.npz`` and, with ``plots``, ``units.png`` and ``usage.png``."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "units.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    np.savez_compressed(os.path.join(out_dir, "counts.npz"), counts=counts,
                        langs=np.array(list(langs)))
    if plots:
        from xlsr_plugin.analysis import unit_plots

        sim = np.asarray(report["similarity_matrix"])
        unit_plots.plot_similarity(sim, langs, os.path.join(out_dir, "units.png"))
        order = [list(langs).index(lang) for lang in report["cluster_order"] or langs]
        unit_plots.plot_usage(counts, langs, report, os.path.join(out_dir, "usage.png"),
                              order=order)
    logger.info("wrote the codeword usage report to %s", out_dir)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m xlsr_plugin.analysis.units",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--path", required=True, help="pretraining checkpoint (xlsr or wav2vec2)")
    p.add_argument("--data", required=True, help="folder with <lang>/<split>.tsv manifests")
    p.add_argument("--langs", required=True, help="comma-separated language codes")
    p.add_argument("--split", default="valid", help="manifest to read (default: valid)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--max-hours", type=float, default=1.0,
                   help="audio per language at most, a seeded random subset; 0 for all")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--max-seconds-per-batch", type=float, default=120.0,
                   help="padded audio per batch, in seconds")
    p.add_argument("--seed", type=int, default=0, help="seed of the utterance subset")
    p.add_argument("--no-plots", action="store_true", help="write units.json and counts only")
    p.add_argument("--trust-checkpoint", action="store_true", help=TRUST_HELP)
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    import fairseq  # noqa: F401  its import sets the root logger to DEBUG; undo that below

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s",
                        force=True)
    try:
        report = analyze_units(
            args.path, args.data, args.langs, args.split, args.out,
            max_hours=args.max_hours or None, device=args.device,
            max_samples=int(args.max_seconds_per_batch * 16000), seed=args.seed,
            plots=not args.no_plots, trust=args.trust_checkpoint)
    except (ValueError, ImportError, OSError) as e:
        sys.exit(f"error: {e}")
    print(f"{'lang':<8}{'hours':>8}{'distinct':>10}{'perplexity':>12}{'shared':>8}")
    for lang, s in report["languages"].items():
        print(f"{lang:<8}{s['hours']:>8.2f}{s['distinct_codewords']:>10d}"
              f"{s['perplexity']:>12.1f}{s['shared_usage']:>8.1%}")
    print(f"{report['all_languages']['distinct_codewords']} of {report['codewords']} codewords "
          f"used; clusters: {report['cluster_order']}; report in {args.out}")


if __name__ == "__main__":
    main()
