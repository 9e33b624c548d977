"""Per-language curves of a pretraining run from its TensorBoard event files (what fairseq writes
with ``common.tensorboard_logdir=LOGDIR``): ``loss_<lang>``, ``accuracy_<lang>`` and
``code_ppl_<lang>`` against updates, training and validation, one colour per language.

    python -m xlsr_plugin.analysis.tensorboard_curves LOGDIR curves.png

Reads the event files with tensorboard's reader (no fairseq import); matplotlib comes with the
``analysis`` extra.
"""
import argparse
import logging
import os
import re
from typing import Dict, List, Tuple

logger = logging.getLogger(__name__)

METRICS = (("loss", "contrastive loss (bits)"), ("accuracy", "contrastive accuracy"),
           ("code_ppl", "code perplexity"))
# A language code starts with a letter and has no underscore (loss_0, loss_1 are loss terms).
LANGUAGE_TAG = re.compile(r"^(loss|accuracy|code_ppl)_([a-z][a-z0-9-]*)$")

Curve = List[Tuple[int, float]]  # (update, value)


def read_scalars(logdir: str) -> Dict[str, Dict[str, Curve]]:
    """{run: {tag: [(update, value), ...]}} for every run folder under ``logdir`` that holds
    event files (fairseq writes ``train_inner``, ``train``, ``valid``, ``valid_<lang>``, ...)."""
    from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

    runs = {}
    for run in sorted(os.listdir(logdir)):
        folder = os.path.join(logdir, run)
        if not os.path.isdir(folder) or not any(f.startswith("events.") for f in os.listdir(folder)):
            continue
        events = EventAccumulator(folder, size_guidance={SCALARS: 0})  # 0: keep every point
        events.Reload()
        runs[run] = {tag: [(e.step, e.value) for e in events.Scalars(tag)]
                     for tag in events.Tags()["scalars"]}
    if not runs:
        raise FileNotFoundError(f"no TensorBoard event files under {logdir}/<run>/ "
                                "(written by common.tensorboard_logdir)")
    return runs


def languages(runs: Dict[str, Dict[str, Curve]]) -> List[str]:
    """The language codes of the per-language tags, sorted."""
    return sorted({m.group(2) for tags in runs.values() for tag in tags
                   if (m := LANGUAGE_TAG.match(tag))})


def training_run(runs: Dict[str, Dict[str, Curve]]) -> str:
    """``train_inner`` (a point per log interval) when there is one, else ``train`` (per epoch)."""
    for run in ("train_inner", "train"):
        if run in runs:
            return run
    raise ValueError(f"no training curves among the runs {sorted(runs)}")


def validation_curve(runs: Dict[str, Dict[str, Curve]], tag: str, lang: str) -> Curve:
    """The tag's validation curve: from ``valid_<lang>`` when the run validated the language
    alone, else from the first validation subset that logged it (e.g. ``valid``)."""
    names = [f"valid_{lang}"] + sorted(r for r in runs if r.startswith("valid"))
    return next((runs[r][tag] for r in names if tag in runs.get(r, {})), [])


def plot_curves(runs: Dict[str, Dict[str, Curve]], title: str = ""):
    """A figure with one panel per metric (loss, accuracy, code perplexity); in each, per
    language, the training curve (solid) and the validation curve (dashed, dots). Lines are
    labelled ``<lang> train`` and ``<lang> valid``."""
    try:
        from matplotlib.figure import Figure  # no pyplot: no display, no global figure list
    except ImportError as e:
        raise ImportError("the curves need matplotlib: pip install 'xlsr_plugin[analysis]' "
                          f"(or pip install matplotlib) ({e})") from e

    langs = languages(runs)
    if not langs:
        raise ValueError("no per-language curves (loss_<lang>, ...) in the event files")
    train = runs[training_run(runs)]
    figure = Figure(figsize=(4.2 * len(METRICS), 3.4), dpi=90)
    axes = figure.subplots(1, len(METRICS))
    for ax, (metric, label) in zip(axes, METRICS):
        for i, lang in enumerate(langs):
            tag = f"{metric}_{lang}"
            for curve, style, name in ((train.get(tag, []), "-", "train"),
                                       (validation_curve(runs, tag, lang), "--o", "valid")):
                if curve:
                    steps, values = zip(*curve)
                    ax.plot(steps, values, style, color=f"C{i}", markersize=3, linewidth=1.2,
                            label=f"{lang} {name}")
        ax.set_title(f"{metric}_<lang>", fontsize=10)
        ax.set_xlabel("updates")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=7, ncol=2)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m xlsr_plugin.analysis.tensorboard_curves",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("logdir", help="the run's common.tensorboard_logdir")
    p.add_argument("out", help="image to write (.png, .pdf, .svg)")
    p.add_argument("--title", default="", help="figure title")
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    # Importing the package (xlsr_plugin/__init__.py imports fairseq) sets the root logger to
    # DEBUG: back to INFO, or tensorboard's reader logs every file it opens.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", force=True)
    figure = plot_curves(read_scalars(args.logdir), args.title)
    figure.savefig(args.out)
    logger.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
