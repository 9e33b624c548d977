"""A corpus-level error-rate scorer over one kind of unit, for `fairseq-generate --scoring`."""
from fairseq.scoring import BaseScorer

from xlsr_plugin.scoring.edit_counts import UNITS, distance
from xlsr_plugin.scoring.score_line import counts_text

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
        return f"{self.name}: {self.score():.2f} " + counts_text(
            self.errors, self.reference_length, self.utterances, self.note)
