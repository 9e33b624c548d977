"""The score line of the `per` and `cer` scorers, which fairseq-generate prints last
(`Generate test_fi with beam=5: PER: 12.34 (5 errors / 40 reference units, 3 utterances)`),
written and read here only (`xlsr_plugin.report` reads it back)."""
import re
from dataclasses import dataclass
from typing import Optional

# Said in the CER score line when `--cer-ignore-word-boundaries` chose the units.
BOUNDARIES_IGNORED = "word boundaries ignored"
SCORE_LINE = re.compile(
    r"^Generate (?P<subset>\S+) with beam=\d+: (?P<scorer>\w+): [\d.]+"
    r"(?: \((?P<errors>\d+) errors / (?P<units>\d+) reference units, \d+ utterances"
    rf"(?P<note>; {BOUNDARIES_IGNORED})?\))?", re.M)
UNIT_OF_SCORER = {"PER": "phone", "CER": "char", "WER": "word"}


def counts_text(errors: int, reference_units: int, utterances: int, note: str = "") -> str:
    note = f"; {note}" if note else ""
    return f"({errors} errors / {reference_units} reference units, {utterances} utterances{note})"


@dataclass
class ScoreLine:
    """What a fairseq-generate output's score line says: the subset, the scorer's units and,
    from the `per` and `cer` scorers, the counts."""

    subset: str
    scorer: str
    unit: Optional[str]
    errors: Optional[int]
    reference_units: Optional[int]


def read_score_line(text: str) -> Optional[ScoreLine]:
    match = SCORE_LINE.search(text)
    if not match:
        return None
    unit = UNIT_OF_SCORER.get(match["scorer"])
    if unit == "char" and match["note"]:
        unit = "char_only"
    counts = (int(match["errors"]), int(match["units"])) if match["errors"] else (None, None)
    return ScoreLine(match["subset"], match["scorer"], unit, *counts)
