"""Per-language error table from `fairseq-generate` outputs.

    python -m xlsr_plugin.report gen_fi.txt gen_sw.txt [--json report.json]
    python -m xlsr_plugin.report fi=generate-test.txt --unit char
    python -m xlsr_plugin.report A/generate-test_ky.txt --compare B/generate-test_ky.txt

Each output's row is the prefix `LANG=` when given, else the language of its subset
(`Generate test_fi with ...` -> fi), else the subset's name (`test`). Units are the score
line's (PER: phones, CER: characters, with or without word boundaries as the scorer counted
them, WER: words) unless `--unit` says otherwise; counted from the score line's units, a table
equals the score line. Rates come from counts summed over utterances. Outputs that hold the
same utterances (`test` and `test_fi`, one file twice) are refused. With `--compare`, the
outputs are system A's and the files after it system B's: the table gives A - B with a
paired-bootstrap interval per language (`xlsr_plugin.comparison`).
"""
import argparse
import json
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from xlsr_plugin.scoring.score_line import ScoreLine, read_score_line
from xlsr_plugin.scoring.edit_counts import UNITS, EditCounts, edit_counts

RATE_NAME = {"phone": "PER", "char": "CER", "char_only": "CER", "word": "WER"}
UNIT_PLURAL = {"phone": "phones", "char": "chars", "char_only": "chars", "word": "words"}
# A split's last `_` part is a language when it is an ISO 639-1/-3 code (`test_fi`,
# `test_mls_fi`); `train_1h` is a split of every language.
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


@dataclass
class GenerateOutput:
    """One fairseq-generate output: its (id, reference, scored hypothesis) triples in id order
    and its score line."""

    path: str
    pairs: List[Tuple[str, str, str]]
    score: Optional[ScoreLine]

    @property
    def subset(self) -> Optional[str]:
        return self.score.subset if self.score else None


def parse_generate_output(text: str, path: str = "<text>") -> GenerateOutput:
    """The T- references and, per utterance, the first (best, the one generate scored)
    hypothesis: the D- line (detokenized), the H- line where there is none."""
    refs, hyps, detok = {}, {}, {}
    for line in text.splitlines():
        kind, _, rest = line.partition("-")
        if kind not in ("T", "H", "D") or "\t" not in rest:
            continue
        sample_id, *fields = rest.split("\t")
        if kind == "T":
            refs[sample_id] = fields[0] if fields else ""
        else:
            (detok if kind == "D" else hyps).setdefault(sample_id, fields[1] if len(fields) > 1 else "")
    hyps.update(detok)
    missing = sorted(set(refs) - set(hyps), key=int)
    if missing:
        raise ValueError(f"{path}: utterances {missing[:5]} have a T- line but no hypothesis")
    if not refs:
        raise ValueError(f"{path}: no T- (reference) lines: a fairseq-generate output written "
                         "without --quiet and with labels is needed")
    triples = [(i, refs[i], hyps[i]) for i in sorted(refs, key=int)]
    return GenerateOutput(path, triples, read_score_line(text))


def split_language(subset: str) -> Tuple[str, Optional[str]]:
    """(rest, language) of a split name: `test_mls_fi` -> (test_mls, fi), `test` -> (test, None)."""
    rest, _, last = subset.rpartition("_")
    return (rest, last) if rest and LANGUAGE_CODE.fullmatch(last) else (subset, None)


def row_label(output: GenerateOutput) -> str:
    if not output.subset:
        return output.path
    return split_language(output.subset)[1] or output.subset


def covers(a: str, b: str) -> bool:
    """Whether split `a` holds every utterance of another split `b`: a split of every language
    holds its one-language splits (`test` > `test_fi`), a language over all corpora its one
    corpus's (`test_fi` > `test_mls_fi`), and `train` > `train_1h_fi`."""
    a_rest, a_lang = split_language(a)
    b_rest, b_lang = split_language(b)
    if b_lang is None:  # `test_other` is another split than `test`
        return False
    if a_lang is None:
        return b_rest == a or b_rest.startswith(a + "_")
    return a_lang == b_lang and b_rest.startswith(a_rest + "_")


def check_overlaps(outputs: List[GenerateOutput]) -> None:
    """Refuse outputs that would count an utterance twice. The same subset twice is accepted
    when the ids are disjoint (fairseq-generate --num-shards)."""
    for i, a in enumerate(outputs):
        for b in outputs[i + 1:]:
            if not (a.subset and b.subset):
                continue
            same = a.subset == b.subset and {p[0] for p in a.pairs} & {p[0] for p in b.pairs}
            if same or covers(a.subset, b.subset) or covers(b.subset, a.subset):
                raise ValueError(
                    f"{a.path} ({a.subset}) and {b.path} ({b.subset}) hold the same utterances: "
                    "they would count twice. Report the combined output alone, or the "
                    "one-language outputs without it")


def count(pairs, unit: str) -> EditCounts:
    units_of = UNITS[unit]
    total = EditCounts()
    for _, reference, hypothesis in pairs:
        total += edit_counts(*units_of(reference, hypothesis))
    return total


def output_unit(output: GenerateOutput, unit: Optional[str], ignore_boundaries: bool) -> str:
    if unit is None:
        unit = (output.score.unit if output.score else None) or "phone"
    return "char_only" if unit == "char" and ignore_boundaries else unit


def check_score_line(output: GenerateOutput, counts: EditCounts, unit: str) -> None:
    """Counted with the score line's units, an output gives the score line's counts."""
    score = output.score
    if score is None or score.errors is None or score.unit != unit:
        return
    if (counts.errors, counts.reference_length) != (score.errors, score.reference_units):
        raise ValueError(
            f"{output.path}: the score line counts {score.errors} errors / "
            f"{score.reference_units} units, its T-/D- lines give {counts.errors} / "
            f"{counts.reference_length}: written by another version of the scorer?")


def build_report(outputs: List[str], unit: Optional[str] = None,
                 ignore_boundaries: bool = False) -> Tuple[Dict[str, EditCounts], str]:
    """Counts per row (in order of appearance) and the unit, from `[LANG=]FILE` items."""
    parsed, labels = [], []
    for item in outputs:
        label, sep, path = item.partition("=")
        if not sep:
            label, path = None, item
        with open(path, encoding="utf-8") as f:
            parsed.append(parse_generate_output(f.read(), path))
        labels.append(label or row_label(parsed[-1]))
    check_overlaps(parsed)
    units = {output_unit(output, unit, ignore_boundaries) for output in parsed}
    if len(units) > 1:
        raise ValueError(f"outputs scored with different units {sorted(units)}: pass --unit")
    table: Dict[str, EditCounts] = OrderedDict()
    for label, output in zip(labels, parsed):
        counts = count(output.pairs, *units)
        check_score_line(output, counts, *units)
        table.setdefault(label, EditCounts())
        table[label] += counts
    return table, units.pop()


def as_rows(table: Dict[str, EditCounts]) -> List[dict]:
    rows = [dict(language=lang, **_row(c)) for lang, c in table.items()]
    if len(table) > 1:
        total = EditCounts()
        for c in table.values():
            total += c
        rows.append(dict(language="all", **_row(total)))
    return rows


def _row(c: EditCounts) -> dict:
    return {"utterances": c.utterances, "error_rate": round(c.rate, 2),
            "substitutions": c.substitutions, "deletions": c.deletions,
            "insertions": c.insertions, "reference_units": c.reference_length}


def markdown(rows: List[dict], unit: str) -> str:
    header = f"| language | utterances | {RATE_NAME[unit]} | sub | del | ins | {UNIT_PLURAL[unit]} |"
    lines = [header, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['language']} | {r['utterances']} | {r['error_rate']:.2f} | "
                     f"{r['substitutions']} | {r['deletions']} | {r['insertions']} | "
                     f"{r['reference_units']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outputs", nargs="+", help="fairseq-generate outputs, as FILE or LANG=FILE")
    parser.add_argument("--unit", choices=["phone", "char", "word"], help="phone, char or word "
                        "(default: the score line's)")
    parser.add_argument("--cer-ignore-word-boundaries", action="store_true", help="characters "
                        "without `|`, as the cer scorer's option (default: as the score line says)")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON here")
    parser.add_argument("--compare", nargs="+", metavar="B_FILE", help="system B's outputs (the "
                        "same subsets; several files of one subset are its seeds): print A - B "
                        "with a 95%% paired-bootstrap interval instead of the error table")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples "
                        "(with --compare)")
    args = parser.parse_args(argv)
    try:
        if args.compare:
            return _compare(args)
        table, unit = build_report(args.outputs, args.unit, args.cer_ignore_word_boundaries)
    except (OSError, ValueError) as error:
        parser.exit(1, f"error: {error}\n")
    rows = as_rows(table)
    sys.stdout.write(markdown(rows, unit))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"unit": unit, "metric": RATE_NAME[unit], "languages": rows}, f, indent=2)
            f.write("\n")


def _compare(args) -> None:
    from xlsr_plugin import comparison

    results, unit = comparison.compare(args.outputs, args.compare, args.unit,
                                       args.cer_ignore_word_boundaries, args.resamples)
    sys.stdout.write(comparison.markdown(results, RATE_NAME[unit]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"unit": unit, "metric": RATE_NAME[unit],
                       "comparison": comparison.as_json(results)}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
