"""A corpus-level error-rate scorer over one kind of unit, for `fairseq-generate --scoring`,
and the score line it prints (`Generate test_fi with beam=5: PER: 12.34 (...)`), which
`xlsr_plugin.report` reads back."""
import re
from dataclasses import dataclass
from typing import Optional

from fairseq.scoring import BaseScorer

from xlsr_plugin.scoring.edit_counts import UNITS, distance

# Said in the CER score line when `--cer-ignore-word-boundaries` chose the units.
BOUNDARIES_IGNORED = "word boundaries ignored"
SCORE_LINE = re.compile(
    r"^Generate (?P<subset>\S+) with beam=\d+: (?P<scorer>\w+): [\d.]+"
    r"(?: \((?P<errors>\d+) errors / (?P<units>\d+) reference units, \d+ utterances"
    rf"(?P<note>; {BOUNDARIES_IGNORED})?\))?", re.M)
UNIT_OF_SCORER = {"PER": "phone", "CER": "char", "WER": "word"}


class UnitErrorScorer(BaseScorer):
    """Sums edit distances and reference lengths over every `add_string` call."""

    name = "UER"
    units = staticmethod(UNITS["phone"])
    note = ""

    def __init__(self, cfg):
        super().__init__(cfg)
        self.reset()

    def reset(self):
        self.errors = 0
        self.reference_length = 0
        self.utterances = 0

    def add_string(self, ref: str, pred: str):
        reference, hypothesis = self.units(ref, pred)
        self.errors += distance(reference, hypothesis)
        self.reference_length += len(reference)
        self.utterances += 1

    def score(self) -> float:
        return 100.0 * self.errors / self.reference_length if self.reference_length else 0.0

    def result_string(self) -> str:
        note = f"; {self.note}" if self.note else ""
        return (f"{self.name}: {self.score():.2f} ({self.errors} errors / "
                f"{self.reference_length} reference units, {self.utterances} utterances{note})")


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
