"""Paired comparison of two systems from their `fairseq-generate` outputs.

    python -m xlsr_plugin.report A/generate-test_ky.txt --compare B/generate-test_ky.txt
    python -m xlsr_plugin.report A/s1/generate-test_ky.txt A/s2/generate-test_ky.txt \\
        --compare B/s1/generate-test_ky.txt B/s2/generate-test_ky.txt

Files of the same subset are runs (fine-tuning seeds) of one system; every subset of A must be in
B, with the same references for the same utterance ids. Each language, and all of them together
(resampled within each language), gets A - B with its paired-bootstrap interval
(`scoring.paired_bootstrap`).
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import numpy as np

from xlsr_plugin.report import output_unit, parse_generate_output, row_label
from xlsr_plugin.scoring.edit_counts import UNITS, distance
from xlsr_plugin.scoring.paired_bootstrap import PairedComparison, paired_bootstrap

# row label (language or subset) -> (references in id order, [errors per utterance] per run)
Runs = Dict[str, Tuple[List[str], List[List[int]]]]


def read_outputs(paths: List[str]) -> list:
    outputs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            outputs.append(parse_generate_output(f.read(), path))
    return outputs


def read_runs(outputs: list, unit: str, system: str) -> Runs:
    """One system's outputs grouped by subset; the runs of a subset must share their references."""
    runs: Runs = OrderedDict()
    for output in outputs:
        references = [ref for _, ref, _ in output.pairs]
        known, errors = runs.setdefault(row_label(output), (references, []))
        if known != references:
            raise ValueError(f"{output.path}: system {system}'s runs of {output.subset} hold other "
                             "references than its first file: not the same test set")
        errors.append([utterance_errors(ref, hyp, unit) for _, ref, hyp in output.pairs])
    return runs


def utterance_errors(reference: str, hypothesis: str, unit: str) -> int:
    return distance(*UNITS[unit](reference, hypothesis))


def reference_length(reference: str, unit: str) -> int:
    return len(UNITS[unit](reference, reference)[0])


def compare(a_paths: List[str], b_paths: List[str], unit: Optional[str] = None,
            ignore_boundaries: bool = False, resamples: int = 10_000, seed: int = 0):
    """(A - B per language and over all of them ('all', when there are several), the unit);
    units as `report` chooses them: the score line's unless `unit` says otherwise."""
    a_out, b_out = read_outputs(a_paths), read_outputs(b_paths)
    units = {output_unit(output, unit, ignore_boundaries) for output in a_out + b_out}
    if len(units) > 1:
        raise ValueError(f"outputs scored with different units {sorted(units)}: pass --unit")
    unit = units.pop()
    a, b = read_runs(a_out, unit, "A"), read_runs(b_out, unit, "B")
    _check_paired(a, b)
    results: "OrderedDict[str, PairedComparison]" = OrderedDict()
    for label in a:
        results[label] = _compare_subsets([label], a, b, unit, resamples, seed)
    if len(a) > 1:
        results["all"] = _compare_subsets(list(a), a, b, unit, resamples, seed)
    return results, unit


def _check_paired(a: Runs, b: Runs) -> None:
    if set(a) != set(b):
        raise ValueError(f"A has {sorted(a)}, B {sorted(b)}: compare the same test sets")
    for subset in a:
        if a[subset][0] != b[subset][0]:
            raise ValueError(f"{subset}: A and B hold other references (T- lines): "
                             "they were not decoded on the same utterances")


def _compare_subsets(subsets, a: Runs, b: Runs, unit: str, resamples: int, seed: int):
    lengths = np.concatenate([[reference_length(r, unit) for r in a[s][0]] for s in subsets])
    strata = np.concatenate([[s] * len(a[s][0]) for s in subsets])
    return paired_bootstrap(_stack(a, subsets), _stack(b, subsets), lengths, strata=strata,
                            resamples=resamples, seed=seed)


def _stack(runs: Runs, subsets) -> np.ndarray:
    """[runs, utterances] over the subsets; each subset must have as many runs."""
    counts = {len(runs[s][1]) for s in subsets}
    if len(counts) > 1:
        raise ValueError(f"subsets {subsets} have different numbers of runs {sorted(counts)}")
    return np.concatenate([np.asarray(runs[s][1], dtype=float) for s in subsets], axis=1)


def markdown(results: Dict[str, PairedComparison], metric: str) -> str:
    lines = [f"| language | utterances | runs A/B | {metric} A | {metric} B | A - B | 95% interval "
             "| P(A better) | A is |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |"]
    for lang, r in results.items():
        lines.append(f"| {lang} | {r.utterances} | {r.runs_a}/{r.runs_b} | {r.rate_a:.2f} | "
                     f"{r.rate_b:.2f} | {r.difference:+.2f} | [{r.low:+.2f}, {r.high:+.2f}] | "
                     f"{r.p_a_better:.3f} | {r.verdict} |")
    return "\n".join(lines) + "\n"


def as_json(results: Dict[str, PairedComparison]) -> List[dict]:
    return [dict(language=lang, verdict=r.verdict, **r.__dict__) for lang, r in results.items()]
