"""XLSR-10 against each baseline, with the uncertainty of the comparison.

Each comparison reads both systems' ``fairseq-generate`` outputs on the same test utterances and
hands them to ``xlsr_plugin.comparison`` (what ``python -m xlsr_plugin.report A --compare B``
prints): the PER difference with a 95% paired-bootstrap interval that resamples the utterances
within each language and each system's runs (pretraining seeds x fine-tuning seeds), and the
share of resamples in which XLSR-10 makes fewer errors. The verdict follows from the interval.
"""
from typing import Callable, Dict, List, Sequence

from examples.xlsr10_mini.results import BASELINES
from xlsr_plugin.comparison import compare

WORDS = {"better": "better", "worse": "worse",
         "not distinguishable": "not distinguishable at this size"}


def system(model: str) -> str:
    """A fine-tuning's row: ``mono_ky`` -> ``mono``."""
    return "mono" if model.startswith("mono_") else model


def verdicts(runs: Sequence, output_path: Callable[[object], str],
             baselines: Sequence = BASELINES, ours: str = "xlsr10",
             system: Callable[[str], str] = system) -> List[Dict]:
    """``runs`` (FineTunings with ``model`` and ``lang``) -> one entry per baseline and language
    (and ``all``, over the languages both systems were tested on): ``xlsr_plugin.comparison``'s
    figures, ``against`` and ``verdict`` in words. ``output_path(run)`` is a run's output,
    ``system(run.model)`` its row (``ours`` or a baseline's)."""
    out = []
    for base, name in baselines:
        langs = sorted({r.lang for r in runs if system(r.model) == base}
                       & {r.lang for r in runs if system(r.model) == ours})
        if not langs:
            continue
        paths = {key: [output_path(r) for r in runs
                       if system(r.model) == key and r.lang in langs] for key in (ours, base)}
        results, unit = compare(paths[ours], paths[base])
        for label, r in results.items():
            out.append({"baseline": base, "against": name, "language": label, "unit": unit,
                        "verdict": WORDS[r.verdict], **r.__dict__})
    return out


def markdown(entries: Sequence[Dict], pretraining_seeds: int, finetune_seeds: int) -> str:
    """The verdicts as a table, with what their intervals cover."""
    if not entries:
        return ""
    lines = ["| XLSR-10 vs | language | utterances | XLSR-10 | baseline | difference "
             "| 95% interval | P(XLSR-10 better) | XLSR-10 is |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | --- |"]
    for e in entries:
        lines.append(f"| {e['against']} | {e['language']} | {e['utterances']} | "
                     f"{e['rate_a']:.1f} | {e['rate_b']:.1f} | {e['difference']:+.1f} | "
                     f"[{e['low']:+.1f}, {e['high']:+.1f}] | {e['p_a_better']:.3f} | "
                     f"{e['verdict']} |")
    runs = pretraining_seeds * finetune_seeds
    covered = (f"{runs} runs per system and language ({pretraining_seeds} pretraining seed"
               f"{'s' if pretraining_seeds > 1 else ''} x {finetune_seeds} fine-tuning seed"
               f"{'s' if finetune_seeds > 1 else ''})")
    note = (f"\nPER difference (points, negative: XLSR-10 makes fewer errors) with its 95% "
            f"paired-bootstrap interval over the test utterances and the {covered}; `all` "
            f"pools the languages' utterances (errors over reference phones), so its PERs can "
            f"differ a little from the table's averages of per-language PERs.")
    if pretraining_seeds == 1:
        note += (" With one pretraining seed the interval does not cover the pretraining run, "
                 "which differs from one machine to another: `--seeds 3` resamples it too.")
    return "\n".join(lines) + "\n" + note + "\n"


def overall(entries: Sequence[Dict], baseline: str) -> Dict:
    """``baseline``'s entry over all languages: its ``all`` row, or its only row."""
    mine = [e for e in entries if e["baseline"] == baseline]
    return next(e for e in mine if e["language"] == "all" or len(mine) == 1)


def sentence(entries: Sequence[Dict]) -> List[str]:
    """One line per baseline, over all languages: 'XLSR-10 vs ...: better (-35.2 points,
    95% interval [-38.0, -32.1])'."""
    lines = []
    for base in dict.fromkeys(e["baseline"] for e in entries):
        e = overall(entries, base)
        lines.append(f"XLSR-10 vs {e['against']}: {e['verdict']} ({e['difference']:+.1f} PER "
                     f"points, 95% interval [{e['low']:+.1f}, {e['high']:+.1f}], "
                     f"P(XLSR-10 better) {e['p_a_better']:.3f})")
    return lines
