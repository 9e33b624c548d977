"""Per-language error table from `fairseq-generate` outputs.

    python -m xlsr_plugin.report gen_fi.txt gen_sw.txt [--json report.json]
    python -m xlsr_plugin.report fi=generate-test.txt --unit char
    python -m xlsr_plugin.report A/generate-test_ky.txt --compare B/generate-test_ky.txt

Each output's language is the prefix `LANG=` when given, else the suffix of its subset
(`Generate test_fi with ...` -> fi). Units follow the score line (PER: phones, CER: characters,
WER: words) unless `--unit` says otherwise. Rates come from counts summed over utterances.
With `--compare`, the outputs are system A's and the files after it system B's: the table gives
A - B with a paired-bootstrap interval per language (`xlsr_plugin.comparison`).
"""
import argparse
import json
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

from xlsr_plugin.scoring.edit_counts import UNITS, EditCounts, edit_counts

SCORE_LINE = re.compile(r"^Generate (\S+) with beam=\d+: (\w+):", re.M)
UNIT_OF_SCORER = {"PER": "phone", "CER": "char", "WER": "word"}
RATE_NAME = {"phone": "PER", "char": "CER", "word": "WER"}


def parse_generate_output(text: str) -> Tuple[List[Tuple[str, str]], Optional[str], Optional[str]]:
    """(reference, hypothesis) pairs in id order, the subset and the scorer name. The scored
    hypothesis is the D- line (detokenized), the H- line where there is none."""
    refs, hyps, detok = {}, {}, {}
    for line in text.splitlines():
        kind, _, rest = line.partition("-")
        if kind not in ("T", "H", "D") or "\t" not in rest:
            continue
        sample_id, *fields = rest.split("\t")
        if kind == "T":
            refs[sample_id] = fields[0] if fields else ""
        else:
            (detok if kind == "D" else hyps)[sample_id] = fields[1] if len(fields) > 1 else ""
    hyps.update(detok)
    missing = sorted(set(refs) - set(hyps))
    if missing:
        raise ValueError(f"utterances {missing[:5]} have a T- line but no hypothesis")
    score = SCORE_LINE.search(text)
    pairs = [(refs[i], hyps[i]) for i in sorted(refs, key=int)]
    return pairs, score.group(1) if score else None, score.group(2) if score else None


def language_of_subset(subset: Optional[str]) -> str:
    if subset and "_" in subset:
        return subset.rpartition("_")[2]
    return "all"


def count(pairs, unit: str) -> EditCounts:
    tokenize = UNITS[unit]
    total = EditCounts()
    for reference, hypothesis in pairs:
        total += edit_counts(tokenize(reference), tokenize(hypothesis))
    return total


def build_report(outputs: List[str], unit: Optional[str] = None) -> Tuple[Dict[str, EditCounts], str]:
    """Counts per language (in order of appearance) and the unit, from `[LANG=]FILE` items."""
    table: Dict[str, EditCounts] = OrderedDict()
    units = set()
    for item in outputs:
        lang, sep, path = item.partition("=")
        if not sep:
            lang, path = None, item
        with open(path, encoding="utf-8") as f:
            pairs, subset, scorer = parse_generate_output(f.read())
        this_unit = unit or UNIT_OF_SCORER.get(scorer, "phone")
        units.add(this_unit)
        if len(units) > 1:
            raise ValueError(f"outputs scored with different units {sorted(units)}: pass --unit")
        lang = lang or language_of_subset(subset)
        table.setdefault(lang, EditCounts())
        table[lang] += count(pairs, this_unit)
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
    header = f"| language | utterances | {RATE_NAME[unit]} | sub | del | ins | {unit}s |"
    lines = [header, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['language']} | {r['utterances']} | {r['error_rate']:.2f} | "
                     f"{r['substitutions']} | {r['deletions']} | {r['insertions']} | "
                     f"{r['reference_units']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outputs", nargs="+", help="fairseq-generate outputs, as FILE or LANG=FILE")
    parser.add_argument("--unit", choices=sorted(UNITS), help="phone, char or word (default: "
                        "from the score line)")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON here")
    parser.add_argument("--compare", nargs="+", metavar="B_FILE", help="system B's outputs (the "
                        "same subsets; several files of one subset are its seeds): print A - B "
                        "with a 95%% paired-bootstrap interval instead of the error table")
    parser.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples "
                        "(with --compare)")
    args = parser.parse_args(argv)
    if args.compare:
        return _compare(args)
    table, unit = build_report(args.outputs, args.unit)
    rows = as_rows(table)
    sys.stdout.write(markdown(rows, unit))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"unit": unit, "metric": RATE_NAME[unit], "languages": rows}, f, indent=2)
            f.write("\n")


def _compare(args) -> None:
    from xlsr_plugin import comparison

    results = comparison.compare(args.outputs, args.compare, args.unit or "", args.resamples)
    unit = args.unit or comparison.unit_of(args.outputs)
    sys.stdout.write(comparison.markdown(results, RATE_NAME[unit]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"unit": unit, "metric": RATE_NAME[unit],
                       "comparison": comparison.as_json(results)}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
